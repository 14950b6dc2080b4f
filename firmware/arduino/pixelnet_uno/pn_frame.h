/* Framing of the pixelnet serial protocol (../../PROTOCOL.md): COBS + CRC-16/CCITT-FALSE.
 *
 * Plain C with no board dependency, so the very code the Uno runs is also
 * compiled on the host and checked against the Python codec.
 */
#ifndef PN_FRAME_H
#define PN_FRAME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PN_MAX_PAYLOAD 60
#define PN_MIN_BODY 4                              /* type, seq, crc16 */
#define PN_MAX_BODY (2 + PN_MAX_PAYLOAD + 2)
#define PN_MAX_WIRE (PN_MAX_BODY + 2)              /* COBS overhead byte + delimiter */

/* What one received byte completed. Error values are the protocol's error codes. */
enum {
    PN_RX_NONE = 0,
    PN_RX_BAD_CRC = 1,
    PN_RX_BAD_FRAME = 2,
    PN_RX_TOO_LONG = 3,
    PN_RX_FRAME = 0xFF
};

typedef struct {
    uint8_t buf[PN_MAX_WIRE - 1];  /* wire bytes, decoded in place into the body */
    uint8_t len;                   /* wire bytes collected so far */
    uint8_t body_len;              /* valid after PN_RX_FRAME: type seq payload (crc removed) */
    uint8_t overflow;              /* dropping bytes up to the next delimiter */
} pn_rx_t;

uint16_t pn_crc16(uint16_t crc, const uint8_t *data, uint8_t n);

/* Feed one byte; on PN_RX_FRAME the checked body (type, seq, payload) is in rx->buf. */
uint8_t pn_rx_feed(pn_rx_t *rx, uint8_t byte);

/* Encode one frame (delimiter included) into out; returns its length (<= PN_MAX_WIRE). */
uint8_t pn_frame_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len,
                        uint8_t out[PN_MAX_WIRE]);

#ifdef __cplusplus
}
#endif
#endif
