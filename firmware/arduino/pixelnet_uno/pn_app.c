/* Protocol state machine of the board (../../PROTOCOL.md); see pn_app.h. */
#include "pn_app.h"

#include "pn_frame.h"
#include "pn_hw.h"
#include "pn_model.h"
#include "pn_text.h"

#ifdef __AVR__
#include <avr/io.h>
/* The virtual Uno counts the cycles spent while GPIOR0 is 1. */
#define PN_MARK_INFERENCE(on) (GPIOR0 = (on))
#else
#define PN_MARK_INFERENCE(on) ((void)0)
#endif

enum { CMD_INFO = 0x01, CMD_STREAM, CMD_INFER, CMD_INFER_RAW, CMD_TRACE, CMD_CALIBRATE,
       CMD_AVERAGE, CMD_RESET, CMD_SAMPLE };
enum { MSG_ACK = 0x80, MSG_INFO = 0x81, MSG_CAL = 0x82, MSG_RESULT = 0x84, MSG_SAMPLE = 0x85,
       MSG_TRACE = 0x86, MSG_ERROR = 0xE0 };
enum { ERR_UNKNOWN = 4, ERR_BAD_LENGTH = 5, ERR_BAD_ARG = 6 };
enum { CAL_DARK, CAL_BRIGHT, CAL_RESET, CAL_SET };
enum { SOURCE_DEFAULT, SOURCE_STORED, SOURCE_SESSION };

#define N_PIXELS 4
#define ADC_MAX 1023u
#define MIN_SPAN 16u
#define MAX_AVERAGING 64u
#define STREAM_FLAT_OUT 0xFFFFu
#define PROTO_VERSION 1
#define CAL_RECORD_VERSION 1
#define CAL_RECORD_LEN (1 + 16 + 2) /* version, dark[4] bright[4] LE, crc16 LE */
#define SAMPLE_LEN (2 * N_PIXELS + 2 * PN_N_INPUTS + 2 * PN_N_OUTPUTS + 1)
#define SAMPLE_WIRE (SAMPLE_LEN + 6) /* type, seq, crc, COBS code byte, delimiter */
/* Every format is symmetric, [-ACT_MAX, ACT_MAX] (see the emulator's contract). */
#define ACT_MAX ((int32_t)((INT32_C(1) << PN_FORMAT) - 1))

#if SAMPLE_LEN > PN_MAX_PAYLOAD
#error "the model has too many outputs for a SAMPLE frame"
#endif

typedef struct {
    uint16_t dark[N_PIXELS];
    uint16_t bright[N_PIXELS];
    uint8_t source;
} calibration_t;

static pn_rx_t rx;
static uint8_t wire[PN_MAX_WIRE];
static uint8_t payload[PN_MAX_PAYLOAD];
static calibration_t cal;
static pn_calib_t model_cal;
static uint8_t averaging = 1;
static uint16_t stream_rate;
static uint32_t stream_due;
static uint8_t stream_seq;

static const uint8_t model_hash[8] = PN_MODEL_HASH_INIT;
static const uint16_t no_adc[N_PIXELS] = {0, 0, 0, 0}; /* RESULT of a host-sent vector */
static const uint8_t layer_sizes[PN_N_LAYERS] = PN_LAYER_SIZES_INIT;

static void send(uint8_t type, uint8_t seq, uint8_t len)
{
    pn_hw_write(wire, pn_frame_encode(type, seq, payload, len, wire));
}

static void send_error(uint8_t seq, uint8_t code, uint8_t cmd)
{
    payload[0] = code;
    payload[1] = cmd;
    send(MSG_ERROR, seq, 2);
}

/* 1 when the payload has the command's length; otherwise answers BAD_LENGTH. */
static uint8_t length_ok(uint8_t seq, uint8_t cmd, uint8_t len, uint8_t expected)
{
    if (len != expected) {
        send_error(seq, ERR_BAD_LENGTH, cmd);
        return 0;
    }
    return 1;
}

static void send_ack(uint8_t seq, uint8_t cmd)
{
    payload[0] = cmd;
    send(MSG_ACK, seq, 1);
}

static uint8_t put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)(v >> 8);
    return 2;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

static uint8_t put_calibration(uint8_t *p, const calibration_t *c)
{
    uint8_t i, n = 0;
    for (i = 0; i < N_PIXELS; i++) {
        n += put_u16(p + n, c->dark[i]);
    }
    for (i = 0; i < N_PIXELS; i++) {
        n += put_u16(p + n, c->bright[i]);
    }
    return n;
}

static uint8_t calibration_valid(const calibration_t *c)
{
    uint8_t i;
    for (i = 0; i < N_PIXELS; i++) {
        if (c->bright[i] > ADC_MAX || c->dark[i] > ADC_MAX
            || c->bright[i] < c->dark[i] + MIN_SPAN) {
            return 0;
        }
    }
    return 1;
}

static void apply_calibration(const calibration_t *c)
{
    cal = *c;
    pn_calib_init(&model_cal, cal.dark, cal.bright);
}

static void set_default_calibration(void)
{
    calibration_t c;
    uint8_t i;
    for (i = 0; i < N_PIXELS; i++) {
        c.dark[i] = 0;
        c.bright[i] = ADC_MAX;
    }
    c.source = SOURCE_DEFAULT;
    apply_calibration(&c);
}

/* A blank (0xFF) or reset record fails the version check; a torn one fails the CRC. */
static void load_calibration(void)
{
    uint8_t rec[CAL_RECORD_LEN];
    calibration_t c;
    uint8_t i;
    pn_hw_store_read(rec, CAL_RECORD_LEN);
    if (rec[0] != CAL_RECORD_VERSION
        || pn_crc16(0xFFFF, rec, CAL_RECORD_LEN - 2) != get_u16(rec + CAL_RECORD_LEN - 2)) {
        set_default_calibration();
        return;
    }
    for (i = 0; i < N_PIXELS; i++) {
        c.dark[i] = get_u16(rec + 1 + 2 * i);
        c.bright[i] = get_u16(rec + 1 + 2 * N_PIXELS + 2 * i);
    }
    c.source = SOURCE_STORED;
    if (calibration_valid(&c)) {
        apply_calibration(&c);
    } else {
        set_default_calibration();
    }
}

static void store_calibration(const calibration_t *c)
{
    uint8_t rec[CAL_RECORD_LEN];
    rec[0] = CAL_RECORD_VERSION;
    put_calibration(rec + 1, c);
    put_u16(rec + CAL_RECORD_LEN - 2, pn_crc16(0xFFFF, rec, CAL_RECORD_LEN - 2));
    pn_hw_store_write(rec, CAL_RECORD_LEN);
}

static void forget_calibration(void)
{
    uint8_t blank[CAL_RECORD_LEN];
    uint8_t i;
    for (i = 0; i < CAL_RECORD_LEN; i++) {
        blank[i] = 0xFF;
    }
    pn_hw_store_write(blank, CAL_RECORD_LEN);
}

static void send_info(uint8_t seq, uint8_t boot)
{
    static const char board[] = PN_BOARD_NAME;
    uint8_t n = 0, i;
    payload[n++] = PROTO_VERSION;
    payload[n++] = boot;
    payload[n++] = PN_FW_MAJOR;
    payload[n++] = PN_FW_MINOR;
    payload[n++] = PN_FW_PATCH;
    payload[n++] = PN_FORMAT;
    payload[n++] = PN_N_INPUTS;
    payload[n++] = PN_N_OUTPUTS;
    payload[n++] = PN_N_LAYERS;
    payload[n++] = averaging;
    for (i = 0; i < sizeof model_hash; i++) {
        payload[n++] = model_hash[i];
    }
    n += put_calibration(payload + n, &cal);
    payload[n++] = cal.source;
    for (i = 0; board[i] != '\0' && n < PN_MAX_PAYLOAD; i++) {
        payload[n++] = (uint8_t)board[i];
    }
    send(MSG_INFO, seq, n);
}

static void send_calibration(uint8_t seq)
{
    uint8_t n = put_calibration(payload, &cal);
    payload[n++] = cal.source;
    send(MSG_CAL, seq, n);
}

/* Consecutive readings of one pin, so the ADC multiplexer settles once per pixel. */
static void read_sensor(uint16_t adc[N_PIXELS])
{
    uint8_t pixel, k;
    for (pixel = 0; pixel < N_PIXELS; pixel++) {
        uint16_t sum = 0; /* 64 * 1023 fits */
        for (k = 0; k < averaging; k++) {
            sum += pn_hw_adc(pixel);
        }
        adc[pixel] = (uint16_t)((sum + averaging / 2) / averaging);
    }
}

/* RESULT or SAMPLE: what the board read, the input it used, the outputs, the class. */
static void send_result(uint8_t type, uint8_t seq, const uint16_t adc[N_PIXELS],
                        const pn_act_t x[PN_N_INPUTS])
{
    pn_act_t out[PN_N_OUTPUTS];
    uint8_t cls, i, n = 0;
    PN_MARK_INFERENCE(1);
    cls = pn_infer(x, out);
    PN_MARK_INFERENCE(0);
    for (i = 0; i < N_PIXELS; i++) {
        n += put_u16(payload + n, adc[i]);
    }
    for (i = 0; i < PN_N_INPUTS; i++) {
        n += put_u16(payload + n, (uint16_t)x[i]);
    }
    for (i = 0; i < PN_N_OUTPUTS; i++) {
        n += put_u16(payload + n, (uint16_t)out[i]);
    }
    payload[n++] = cls;
    send(type, seq, n);
}

uint8_t pn_app_measure(uint16_t adc[N_PIXELS], pn_act_t out[PN_N_OUTPUTS])
{
    pn_act_t x[PN_N_INPUTS];
    uint8_t cls;
    read_sensor(adc);
    pn_preprocess(&model_cal, adc, x);
    PN_MARK_INFERENCE(1);
    cls = pn_infer(x, out);
    PN_MARK_INFERENCE(0);
    return cls;
}

static void sample_sensor(uint8_t type, uint8_t seq)
{
    uint16_t adc[N_PIXELS];
    pn_act_t x[PN_N_INPUTS];
    read_sensor(adc);
    pn_preprocess(&model_cal, adc, x);
    send_result(type, seq, adc, x);
}

/* An INFER/TRACE vector; 0 when a value lies outside the model's number format. */
static uint8_t read_vector(const uint8_t *p, pn_act_t x[PN_N_INPUTS])
{
    uint8_t i;
    for (i = 0; i < PN_N_INPUTS; i++) {
        int32_t v = (int16_t)get_u16(p + 2 * i);
        if (v > ACT_MAX || v < -ACT_MAX) {
            return 0;
        }
        x[i] = (pn_act_t)v;
    }
    return 1;
}

static void send_trace(uint8_t seq, const pn_act_t x[PN_N_INPUTS])
{
    pn_act_t trace[PN_TRACE_LEN];
    uint8_t layer, i, at = 0;
    pn_infer_trace(x, trace);
    for (layer = 0; layer < PN_N_LAYERS; layer++) {
        uint8_t n = 0;
        payload[n++] = layer;
        payload[n++] = layer_sizes[layer];
        for (i = 0; i < layer_sizes[layer]; i++) {
            n += put_u16(payload + n, (uint16_t)trace[at++]);
        }
        send(MSG_TRACE, seq, n);
    }
    send_result(MSG_RESULT, seq, no_adc, x);
}

static void cmd_infer(uint8_t seq, uint8_t cmd, const uint8_t *p, uint8_t len)
{
    pn_act_t x[PN_N_INPUTS];
    if (!length_ok(seq, cmd, len, 2 * PN_N_INPUTS)) {
        return;
    }
    if (!read_vector(p, x)) {
        send_error(seq, ERR_BAD_ARG, cmd);
    } else if (cmd == CMD_TRACE) {
        send_trace(seq, x);
    } else {
        send_result(MSG_RESULT, seq, no_adc, x);
    }
}

static void cmd_infer_raw(uint8_t seq, const uint8_t *p, uint8_t len)
{
    uint16_t adc[N_PIXELS];
    pn_act_t x[PN_N_INPUTS];
    uint8_t i;
    if (!length_ok(seq, CMD_INFER_RAW, len, 2 * N_PIXELS)) {
        return;
    }
    for (i = 0; i < N_PIXELS; i++) {
        adc[i] = get_u16(p + 2 * i);
        if (adc[i] > ADC_MAX) {
            send_error(seq, ERR_BAD_ARG, CMD_INFER_RAW);
            return;
        }
    }
    pn_preprocess(&model_cal, adc, x);
    send_result(MSG_RESULT, seq, adc, x);
}

/* dark/bright measure now; the result must keep every pixel's span >= MIN_SPAN. */
static uint8_t calibration_from_command(calibration_t *c, const uint8_t *p)
{
    uint8_t i;
    *c = cal;
    c->source = SOURCE_SESSION;
    if (p[0] == CAL_SET) {
        for (i = 0; i < N_PIXELS; i++) {
            c->dark[i] = get_u16(p + 1 + 2 * i);
            c->bright[i] = get_u16(p + 1 + 2 * N_PIXELS + 2 * i);
        }
    } else {
        read_sensor(p[0] == CAL_DARK ? c->dark : c->bright);
    }
    return calibration_valid(c);
}

static void cmd_calibrate(uint8_t seq, const uint8_t *p, uint8_t len)
{
    calibration_t c;
    uint8_t expected = (len >= 1 && p[0] == CAL_SET) ? 1 + 4 * N_PIXELS : 1;
    if (!length_ok(seq, CMD_CALIBRATE, len, expected)) {
        return;
    }
    if (p[0] > CAL_SET) {
        send_error(seq, ERR_BAD_ARG, CMD_CALIBRATE);
    } else if (p[0] == CAL_RESET) {
        forget_calibration();
        set_default_calibration();
        send_calibration(seq);
    } else if (!calibration_from_command(&c, p)) {
        send_error(seq, ERR_BAD_ARG, CMD_CALIBRATE);
    } else {
        store_calibration(&c);
        apply_calibration(&c);
        send_calibration(seq);
    }
}

/* The stream: SAMPLE frames, or text lines while text mode is on. */
static void start_stream(uint16_t rate)
{
    stream_rate = rate;
    stream_due = pn_hw_micros();
}

static void cmd_stream(uint8_t seq, const uint8_t *p, uint8_t len)
{
    if (!length_ok(seq, CMD_STREAM, len, 2)) {
        return;
    }
    start_stream(get_u16(p));
    send_ack(seq, CMD_STREAM);
}

static void cmd_average(uint8_t seq, const uint8_t *p, uint8_t len)
{
    if (!length_ok(seq, CMD_AVERAGE, len, 1)) {
        return;
    }
    if (p[0] < 1 || p[0] > MAX_AVERAGING) {
        send_error(seq, ERR_BAD_ARG, CMD_AVERAGE);
    } else {
        averaging = p[0];
        send_ack(seq, CMD_AVERAGE);
    }
}

static void dispatch(uint8_t type, uint8_t seq, const uint8_t *p, uint8_t len)
{
    switch (type) {
    case CMD_INFO:
        if (length_ok(seq, type, len, 0)) {
            send_info(seq, 0);
        }
        break;
    case CMD_SAMPLE:
        if (length_ok(seq, type, len, 0)) {
            sample_sensor(MSG_SAMPLE, seq);
        }
        break;
    case CMD_RESET:
        if (length_ok(seq, type, len, 0)) {
            send_ack(seq, CMD_RESET);
            pn_hw_restart();
        }
        break;
    case CMD_STREAM:
        cmd_stream(seq, p, len);
        break;
    case CMD_INFER:
    case CMD_TRACE:
        cmd_infer(seq, type, p, len);
        break;
    case CMD_INFER_RAW:
        cmd_infer_raw(seq, p, len);
        break;
    case CMD_CALIBRATE:
        cmd_calibrate(seq, p, len);
        break;
    case CMD_AVERAGE:
        cmd_average(seq, p, len);
        break;
    default:
        send_error(seq, ERR_UNKNOWN, type);
        break;
    }
}

void pn_app_boot(void)
{
    rx.len = 0;
    rx.overflow = 0;
    averaging = 1;
    stream_rate = 0;
    stream_seq = 0;
    pn_text_boot();
    load_calibration();
    {
        /* A lone delimiter ends any frame the restart cut short, so the host
           drops that fragment instead of gluing it to the banner. */
        static const uint8_t delimiter = 0;
        pn_hw_write(&delimiter, 1);
    }
    send_info(0, 1);
}

void pn_app_on_byte(uint8_t byte)
{
    uint8_t status = pn_text_on_byte(byte);
    if (status != PN_TEXT_NONE) { /* a person's command line, answered in text */
        rx.len = 0;
        rx.overflow = 0;
        if (status != PN_TEXT_SKIP) {
            start_stream(status == PN_TEXT_START ? PN_TEXT_RATE : 0);
        }
        return;
    }
    status = pn_rx_feed(&rx, byte);
    if (status == PN_RX_FRAME) {
        pn_text_leave();
        dispatch(rx.buf[0], rx.buf[1], rx.buf + 2, (uint8_t)(rx.body_len - 2));
    } else if (status != PN_RX_NONE && !pn_text_active()) {
        send_error(0, status, 0);
    }
}

/* At a fixed rate the schedule keeps its phase, but never bursts to catch up after
 * a stall; flat out, a sample goes whenever the transmit buffer can take it whole. */
void pn_app_poll(void)
{
    uint32_t now, period;
    if (stream_rate == 0 || pn_hw_tx_room() < SAMPLE_WIRE) {
        return;
    }
    if (stream_rate != STREAM_FLAT_OUT) {
        now = pn_hw_micros();
        period = UINT32_C(1000000) / stream_rate;
        if ((int32_t)(now - stream_due) < 0) {
            return;
        }
        stream_due = (now - stream_due >= period) ? now + period : stream_due + period;
    }
    if (pn_text_active()) {
        pn_text_sample();
    } else {
        sample_sensor(MSG_SAMPLE, stream_seq++);
    }
}
