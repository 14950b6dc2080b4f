/* Text mode (see pn_text.h and ../../PROTOCOL.md).
 *
 * Why a typed line can never be a frame: the first byte of a frame on the wire is its
 * COBS code, at most PN_MAX_WIRE - 1 (65). A segment (the bytes since the last 0x00)
 * whose first byte is larger can only be garbage to the frame receiver, so inside such
 * a segment, and only there, a line that is exactly one of the commands below, ended
 * by CR or LF, is taken as text. Every command starts with a lowercase letter (> 65).
 * Everything the board prints in text mode starts with a lowercase letter too, so the
 * host's decoder drops it as garbage, and a lone 0x00 ends it when text mode ends.
 */
#include "pn_text.h"

#include "pn_app.h"
#include "pn_frame.h"
#include "pn_hw.h"

/* Text stays in flash on AVR (RAM is 2 KB); T("...") is a string in flash there. */
#ifdef __AVR__
#include <avr/pgmspace.h>
#define PN_TEXT_ROM PROGMEM
#define PN_TEXT_READ(p) ((char)pgm_read_byte(p))
#define T(s) PSTR(s)
#else
#define PN_TEXT_ROM
#define PN_TEXT_READ(p) (*(p))
#define T(s) (s)
#endif

#define LINE_MAX 8                    /* the longest command, "sample" / "start", fits */
#define FRAME_FIRST_MAX (PN_MAX_WIRE - 1)
#if FRAME_FIRST_MAX >= 'a'
#error "frames this long may start with a letter: text commands need another marker"
#endif

enum { CMD_NONE, CMD_HELP, CMD_SAMPLE, CMD_START, CMD_STOP, CMD_UNKNOWN };

static const char help_text[] PN_TEXT_ROM =
    "commands: help, sample (one line), start (10 lines/s), stop; a binary frame "
    "ends text mode\r\n";
static const char unknown_text[] PN_TEXT_ROM = "unknown command; type help\r\n";
static const uint8_t hash[8] PN_TEXT_ROM = PN_MODEL_HASH_INIT;

static uint8_t text_mode, after_line;
static uint8_t seg_len, seg_first;
static uint8_t line_len, line_long;
static char line[LINE_MAX];

static void put_char(char c)
{
    pn_hw_write((const uint8_t *)&c, 1);
}

static void put_rom(const char *s)
{
    char c;
    while ((c = PN_TEXT_READ(s++)) != '\0') {
        put_char(c);
    }
}

static void put_str(const char *s)
{
    while (*s != '\0') {
        put_char(*s++);
    }
}

/* Every number printed (outputs, version, exponent) fits 16 bits: no 32-bit division. */
static void put_int(int16_t v)
{
    char digits[6];
    uint8_t n = 0;
    uint16_t u = v < 0 ? (uint16_t)(-(v + 1)) + 1u : (uint16_t)v;
    if (v < 0) {
        put_char('-');
    }
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0);
    while (n > 0) {
        put_char(digits[--n]);
    }
}

static void put_hex(uint8_t b)
{
    uint8_t i;
    for (i = 0; i < 2; i++, b = (uint8_t)(b << 4)) {
        uint8_t d = b >> 4;
        put_char((char)(d < 10 ? '0' + d : 'a' + d - 10));
    }
}

/* class:NAME then NAME:value per output, one line (starts with a lowercase letter). */
void pn_text_sample(void)
{
    uint16_t adc[4];
    pn_act_t out[PN_N_OUTPUTS];
    uint8_t i, cls = pn_app_measure(adc, out);
    put_rom(T("class:"));
    put_str(pn_class_names[cls]);
    for (i = 0; i < PN_N_OUTPUTS; i++) {
        put_char(' ');
        put_str(pn_class_names[i]);
        put_char(':');
        put_int(out[i]);
    }
    put_rom(T("\r\n"));
}

static void print_info(void)
{
    uint8_t i;
    put_rom(T("pixelnet "));
    put_rom(T(PN_BOARD_NAME));
    put_rom(T(" firmware "));
    put_int(PN_FW_MAJOR);
    put_char('.');
    put_int(PN_FW_MINOR);
    put_char('.');
    put_int(PN_FW_PATCH);
    put_rom(T(" model "));
    for (i = 0; i < sizeof hash; i++) {
        put_hex((uint8_t)PN_TEXT_READ((const char *)&hash[i]));
    }
#if PN_FORMAT_ID == 0x8F
    put_rom(T(" 16x8"));
#else
    put_rom(T(" q"));
    put_int(PN_FORMAT);
#endif
    put_rom(T(", outputs in units of 2^-"));
    put_int(PN_OUTPUT_FRAC);
    put_rom(T("\r\n"));
}

/* The line equals ``word`` (in flash on AVR); line bytes are never 0, so a shorter word
   mismatches before its end is passed. */
static uint8_t line_is(const char *word)
{
    uint8_t i;
    for (i = 0; i < line_len; i++) {
        if (PN_TEXT_READ(word + i) != line[i]) {
            return 0;
        }
    }
    return PN_TEXT_READ(word + line_len) == '\0';
}

static uint8_t command_of_line(void)
{
    if (line_long || line_len == 0) {
        return text_mode ? CMD_UNKNOWN : CMD_NONE;
    }
    if (line_is(T("help"))) {
        return CMD_HELP;
    }
    if (line_is(T("sample"))) {
        return CMD_SAMPLE;
    }
    if (line_is(T("start"))) {
        return CMD_START;
    }
    if (line_is(T("stop"))) {
        return CMD_STOP;
    }
    return text_mode ? CMD_UNKNOWN : CMD_NONE;
}

static void run_command(uint8_t command)
{
    text_mode = 1;
    switch (command) {
    case CMD_HELP:
        print_info();
        put_rom(help_text);
        break;
    case CMD_SAMPLE:
        pn_text_sample();
        break;
    case CMD_START:
    case CMD_STOP:
        break;
    default:
        put_rom(unknown_text);
        break;
    }
}

static void new_line(void)
{
    line_len = 0;
    line_long = 0;
}

uint8_t pn_text_on_byte(uint8_t byte)
{
    uint8_t command;
    if (byte == 0) {
        seg_len = 0;
        after_line = 0;
        new_line();
        return PN_TEXT_NONE;
    }
    if (after_line && (byte == '\r' || byte == '\n')) {
        return PN_TEXT_SKIP;
    }
    after_line = 0;
    if (seg_len == 0) {
        seg_first = byte;
    }
    if (seg_len < 255) {
        seg_len++;
    }
    if (seg_first <= FRAME_FIRST_MAX) {
        return PN_TEXT_NONE; /* may be a frame: the binary receiver's alone */
    }
    if (byte != '\r' && byte != '\n') {
        if (line_len < LINE_MAX) {
            line[line_len++] = (char)byte;
        } else {
            line_long = 1;
        }
        return PN_TEXT_NONE;
    }
    command = command_of_line();
    new_line();
    if (command == CMD_NONE) {
        return PN_TEXT_NONE;
    }
    run_command(command);
    seg_len = 0;
    after_line = 1;
    return command == CMD_START ? PN_TEXT_START : PN_TEXT_LINE;
}

void pn_text_leave(void)
{
    static const uint8_t delimiter = 0;
    if (text_mode) {
        text_mode = 0;
        pn_hw_write(&delimiter, 1);
    }
}

uint8_t pn_text_active(void)
{
    return text_mode;
}

void pn_text_boot(void)
{
    text_mode = 0;
    after_line = 0;
    seg_len = 0;
    new_line();
}
