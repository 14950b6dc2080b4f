/* COBS + CRC framing; see pn_frame.h. */
#include "pn_frame.h"

#ifdef __AVR__
#include <util/crc16.h>
#define pn_crc_step _crc_xmodem_update
#else
/* Same polynomial and bit order as avr-libc's _crc_xmodem_update (0x1021, MSB first). */
static uint16_t pn_crc_step(uint16_t crc, uint8_t data)
{
    uint8_t bit;
    crc ^= (uint16_t)((uint16_t)data << 8);
    for (bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}
#endif

uint16_t pn_crc16(uint16_t crc, const uint8_t *data, uint8_t n)
{
    while (n--) {
        crc = pn_crc_step(crc, *data++);
    }
    return crc;
}

/* In place: every block writes no further than it has read. The receiver never
 * stores 0x00, and 65 wire bytes decode to at most 64, so only the code bytes
 * need checking. Returns the body length, or -1 for invalid COBS. */
static int16_t cobs_decode_in_place(uint8_t *buf, uint8_t n)
{
    uint8_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = buf[i];
        uint8_t end;
        if ((uint16_t)i + code > n) {
            return -1;
        }
        end = (uint8_t)(i + code);
        for (i++; i < end; i++) {
            buf[o++] = buf[i];
        }
        if (code != 255 && i < n) {
            buf[o++] = 0;
        }
    }
    return o;
}

static uint8_t rx_finish(pn_rx_t *rx)
{
    int16_t n = cobs_decode_in_place(rx->buf, rx->len);
    uint16_t crc;
    rx->len = 0;
    if (n < PN_MIN_BODY) {
        return PN_RX_BAD_FRAME;
    }
    crc = (uint16_t)(rx->buf[n - 2] | ((uint16_t)rx->buf[n - 1] << 8));
    if (pn_crc16(0xFFFF, rx->buf, (uint8_t)(n - 2)) != crc) {
        return PN_RX_BAD_CRC;
    }
    rx->body_len = (uint8_t)(n - 2);
    return PN_RX_FRAME;
}

uint8_t pn_rx_feed(pn_rx_t *rx, uint8_t byte)
{
    if (byte != 0) {
        if (rx->overflow) {
            return PN_RX_NONE;
        }
        if (rx->len >= sizeof rx->buf) {
            rx->overflow = 1;
            rx->len = 0;
            return PN_RX_TOO_LONG;
        }
        rx->buf[rx->len++] = byte;
        return PN_RX_NONE;
    }
    if (rx->overflow) {
        rx->overflow = 0;
        return PN_RX_NONE;
    }
    if (rx->len == 0) {
        return PN_RX_NONE; /* a lone delimiter flushes nothing */
    }
    return rx_finish(rx);
}

typedef struct {
    uint8_t *out;
    uint8_t code_at; /* where the current block's code byte goes */
    uint8_t n;       /* bytes written so far */
} cobs_writer_t;

/* Bodies are at most 64 bytes, so a block never reaches COBS's 254-byte limit. */
static void cobs_put(cobs_writer_t *w, uint8_t byte)
{
    if (byte == 0) {
        w->out[w->code_at] = (uint8_t)(w->n - w->code_at);
        w->code_at = w->n++;
    } else {
        w->out[w->n++] = byte;
    }
}

uint8_t pn_frame_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len,
                        uint8_t out[PN_MAX_WIRE])
{
    cobs_writer_t w;
    uint8_t head[2];
    uint16_t crc;
    uint8_t i;
    if (len > PN_MAX_PAYLOAD) { /* callers never do this; out[] must still not overflow */
        len = PN_MAX_PAYLOAD;
    }
    head[0] = type;
    head[1] = seq;
    crc = pn_crc16(pn_crc16(0xFFFF, head, 2), payload, len);
    w.out = out;
    w.code_at = 0;
    w.n = 1;
    cobs_put(&w, type);
    cobs_put(&w, seq);
    for (i = 0; i < len; i++) {
        cobs_put(&w, payload[i]);
    }
    cobs_put(&w, (uint8_t)(crc & 0xFF));
    cobs_put(&w, (uint8_t)(crc >> 8));
    out[w.code_at] = (uint8_t)(w.n - w.code_at);
    out[w.n++] = 0;
    return w.n;
}
