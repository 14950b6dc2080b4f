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
#elif defined(PN_HW_MARKS_INFERENCE)
/* A board that times the inference itself (the virtual Cortex-M counts instructions). */
#define PN_MARK_INFERENCE(on) pn_hw_mark_inference(on)
#else
#define PN_MARK_INFERENCE(on) ((void)0)
#endif

enum { CMD_INFO = 0x01, CMD_STREAM, CMD_INFER, CMD_INFER_RAW, CMD_TRACE, CMD_CALIBRATE,
       CMD_AVERAGE, CMD_RESET, CMD_SAMPLE, CMD_BAUD, CMD_INFER_BATCH };
enum { MSG_ACK = 0x80, MSG_INFO = 0x81, MSG_CAL = 0x82, MSG_RESULT = 0x84, MSG_SAMPLE = 0x85,
       MSG_TRACE = 0x86, MSG_SAMPLE_COMPACT = 0x87, MSG_RESULTS = 0x88, MSG_ERROR = 0xE0 };
enum { INFO_BOOT = 0x01, INFO_V2 = 0x02 };
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
/* Version 2: q7 values travel as int8, wider formats as int16; four 10-bit counts in 5 bytes */
#define VALUE_BYTES (PN_FORMAT <= 7 ? 1 : 2)
#define ADC10_BYTES 5
#define COMPACT_LEN (ADC10_BYTES + VALUE_BYTES * (PN_N_INPUTS + PN_N_OUTPUTS))
#define COMPACT_WIRE (COMPACT_LEN + 6)
#define BAUD_DEFAULT UINT32_C(115200)
#define BAUD_PROBATION_US UINT32_C(1000000) /* no good frame at a new speed: back again */
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
static uint8_t stream_compact;
static uint8_t baud_probation;
static uint32_t baud_switched_at, baud_before;
static uint8_t adc_background; /* the board converts A0..A3 in the background */

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
    payload[n++] = (uint8_t)((boot ? INFO_BOOT : 0) | INFO_V2);
    payload[n++] = PN_FW_MAJOR;
    payload[n++] = PN_FW_MINOR;
    payload[n++] = PN_FW_PATCH;
    payload[n++] = PN_FORMAT_ID;
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

/* Consecutive readings of one pin, so the ADC multiplexer settles once per pixel; or, while
 * the board converts in the background, the next complete scan. */
static void read_sensor(uint16_t adc[N_PIXELS])
{
    uint8_t pixel, k;
    if (adc_background) {
        while (!pn_hw_adc_scan(adc)) {
        }
        return;
    }
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

static uint8_t put_value(uint8_t *p, pn_act_t v)
{
    if (VALUE_BYTES == 1) {
        p[0] = (uint8_t)v;
        return 1;
    }
    return put_u16(p, (uint16_t)v);
}

/* SAMPLE_COMPACT: the counts as 10-bit fields, x and out as int8 (q7); cls is argmax(out). */
static void send_compact_sample(uint8_t seq, const uint16_t adc[N_PIXELS],
                                const pn_act_t x[PN_N_INPUTS])
{
    pn_act_t out[PN_N_OUTPUTS];
    uint8_t i, n = ADC10_BYTES;
    PN_MARK_INFERENCE(1);
    (void)pn_infer(x, out);
    PN_MARK_INFERENCE(0);
    payload[0] = (uint8_t)adc[0];
    payload[1] = (uint8_t)((adc[0] >> 8) | (adc[1] << 2));
    payload[2] = (uint8_t)((adc[1] >> 6) | (adc[2] << 4));
    payload[3] = (uint8_t)((adc[2] >> 4) | (adc[3] << 6));
    payload[4] = (uint8_t)(adc[3] >> 2);
    for (i = 0; i < PN_N_INPUTS; i++) {
        n += put_value(payload + n, x[i]);
    }
    for (i = 0; i < PN_N_OUTPUTS; i++) {
        n += put_value(payload + n, out[i]);
    }
    send(MSG_SAMPLE_COMPACT, seq, n);
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
    if (type == MSG_SAMPLE_COMPACT) {
        send_compact_sample(seq, adc, x);
    } else {
        send_result(type, seq, adc, x);
    }
}

/* An INFER/TRACE vector (int16 values) or an INFER_BATCH one (VALUE_BYTES each); 0 when
 * a value lies outside the model's number format. */
static uint8_t read_values(const uint8_t *p, uint8_t width, pn_act_t x[PN_N_INPUTS])
{
    uint8_t i;
    for (i = 0; i < PN_N_INPUTS; i++) {
        int32_t v = width == 1 ? (int8_t)p[i] : (int16_t)get_u16(p + 2 * i);
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
    if (!read_values(p, 2, x)) {
        send_error(seq, ERR_BAD_ARG, cmd);
    } else if (cmd == CMD_TRACE) {
        send_trace(seq, x);
    } else {
        send_result(MSG_RESULT, seq, no_adc, x);
    }
}

/* Every vector is checked before any is computed: a bad one refuses the whole batch. */
static void cmd_infer_batch(uint8_t seq, const uint8_t *p, uint8_t len)
{
    enum { IN_BYTES = PN_N_INPUTS * VALUE_BYTES, OUT_BYTES = PN_N_OUTPUTS * VALUE_BYTES };
    pn_act_t x[PN_N_INPUTS], out[PN_N_OUTPUTS];
    uint8_t k, i, count = (uint8_t)(len / IN_BYTES), n = 0;
    if (len == 0 || len % IN_BYTES != 0 || count * OUT_BYTES > PN_MAX_PAYLOAD) {
        send_error(seq, ERR_BAD_LENGTH, CMD_INFER_BATCH);
        return;
    }
    for (k = 0; k < count; k++) {
        if (!read_values(p + k * IN_BYTES, VALUE_BYTES, x)) {
            send_error(seq, ERR_BAD_ARG, CMD_INFER_BATCH);
            return;
        }
    }
    for (k = 0; k < count; k++) {
        (void)read_values(p + k * IN_BYTES, VALUE_BYTES, x);
        PN_MARK_INFERENCE(1);
        (void)pn_infer(x, out);
        PN_MARK_INFERENCE(0);
        for (i = 0; i < PN_N_OUTPUTS; i++) {
            n += put_value(payload + n, out[i]);
        }
    }
    send(MSG_RESULTS, seq, n);
}

/* The ACK leaves at the old speed; at the new one the first good frame must arrive within
 * BAUD_PROBATION_US, or the board returns to the old speed (see pn_app_poll). */
static void cmd_baud(uint8_t seq, const uint8_t *p, uint8_t len)
{
    uint32_t baud;
    if (!length_ok(seq, CMD_BAUD, len, 4)) {
        return;
    }
    baud = get_u16(p) | ((uint32_t)get_u16(p + 2) << 16);
    if (!pn_hw_baud_supported(baud)) {
        send_error(seq, ERR_BAD_ARG, CMD_BAUD);
        return;
    }
    send_ack(seq, CMD_BAUD);
    baud_before = pn_hw_baud();
    pn_hw_set_baud(baud);
    baud_probation = 1;
    baud_switched_at = pn_hw_micros();
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

/* rate:u16, and in version 2 an optional layout byte: 1 streams SAMPLE_COMPACT frames. */
/* Flat out without averaging the stream is as fast as the ADC: conversions then run back to
 * back in the background (where the board can) while the CPU sends the previous sample. */
static void choose_adc_mode(void)
{
    uint8_t want = stream_rate == STREAM_FLAT_OUT && averaging == 1;
    if (want && !adc_background) {
        adc_background = pn_hw_adc_background(1);
    } else if (!want && adc_background) {
        (void)pn_hw_adc_background(0);
        adc_background = 0;
    }
}

/* The stream: SAMPLE frames, or text lines while text mode is on. */
static void start_stream(uint16_t rate)
{
    stream_rate = rate;
    choose_adc_mode();
    stream_due = pn_hw_micros();
}

static void cmd_stream(uint8_t seq, const uint8_t *p, uint8_t len)
{
    if (!length_ok(seq, CMD_STREAM, len, len == 3 ? 3 : 2)) {
        return;
    }
    if (len == 3 && p[2] > 1) {
        send_error(seq, ERR_BAD_ARG, CMD_STREAM);
        return;
    }
    stream_compact = len == 3 && p[2] == 1;
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
        choose_adc_mode();
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
    case CMD_BAUD:
        cmd_baud(seq, p, len);
        break;
    case CMD_INFER_BATCH:
        cmd_infer_batch(seq, p, len);
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
    stream_compact = 0;
    baud_probation = 0;
    choose_adc_mode();
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
        baud_probation = 0;
        pn_text_leave();
        dispatch(rx.buf[0], rx.buf[1], rx.buf + 2, (uint8_t)(rx.body_len - 2));
    } else if (status != PN_RX_NONE && !pn_text_active()) {
        send_error(0, status, 0);
    }
}

static uint8_t sample_wire(void)
{
    return stream_compact ? COMPACT_WIRE : SAMPLE_WIRE;
}

/* At a fixed rate the schedule keeps its phase, but never bursts to catch up after
 * a stall; flat out, a sample goes whenever the transmit buffer can take it whole. */
void pn_app_poll(void)
{
    uint32_t now, period;
    if (baud_probation && pn_hw_micros() - baud_switched_at > BAUD_PROBATION_US) {
        baud_probation = 0;
        pn_hw_set_baud(baud_before);
    }
    if (stream_rate == 0 || pn_hw_tx_room() < sample_wire()) {
        return;
    }
    if (adc_background && !pn_hw_adc_scan(0)) {
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
        sample_sensor(stream_compact ? MSG_SAMPLE_COMPACT : MSG_SAMPLE, stream_seq++);
    }
}

/* Flat out, the transmitter's interrupt wakes the board when a frame fits again; at a fixed
 * rate the board stays awake through the last wake tick before the sample is due. */
uint8_t pn_app_idle(void)
{
    if (stream_rate == 0) {
        return 1;
    }
    if (stream_rate == STREAM_FLAT_OUT) {
        return (adc_background && !pn_hw_adc_scan(0)) || pn_hw_tx_room() < sample_wire();
    }
    return (int32_t)(stream_due - pn_hw_micros()) > (int32_t)PN_WAKE_TICK_US;
}

/* Boards without a baud hook keep the line at 115200 baud and refuse any other speed. */
__attribute__((weak)) uint8_t pn_hw_baud_supported(uint32_t baud)
{
    return baud == BAUD_DEFAULT;
}

__attribute__((weak)) uint32_t pn_hw_baud(void)
{
    return BAUD_DEFAULT;
}

__attribute__((weak)) void pn_hw_set_baud(uint32_t baud)
{
    (void)baud;
}

/* Boards without background conversion read every sample with pn_hw_adc. */
__attribute__((weak)) uint8_t pn_hw_adc_background(uint8_t on)
{
    (void)on;
    return 0;
}

__attribute__((weak)) uint8_t pn_hw_adc_scan(uint16_t *counts)
{
    (void)counts;
    return 0;
}
