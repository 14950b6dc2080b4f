/* What the protocol core needs from a board. The sketch implements these with
 * the Arduino core; the host test driver implements them with stdio and arrays. */
#ifndef PN_HW_H
#define PN_HW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void pn_hw_write(const uint8_t *buf, uint8_t n);      /* may block until sent */
uint8_t pn_hw_tx_room(void);                           /* bytes writable without blocking */
uint16_t pn_hw_adc(uint8_t pixel);                     /* one conversion of A0+pixel, 0..1023 */
#ifdef PN_HW_MARKS_INFERENCE
void pn_hw_mark_inference(uint8_t on);                 /* 1 before an inference, 0 after */
#endif
uint32_t pn_hw_micros(void);                           /* wrapping microsecond clock */
void pn_hw_store_read(uint8_t *buf, uint8_t n);        /* the calibration record (EEPROM) */
void pn_hw_store_write(const uint8_t *buf, uint8_t n);
void pn_hw_restart(void);                              /* never returns on a real board */
/* Protocol version 2's line speed; pn_app.c has weak defaults (115200 only) for boards
 * that do not switch. pn_hw_set_baud drains the transmitter before it switches. */
uint8_t pn_hw_baud_supported(uint32_t baud);
uint32_t pn_hw_baud(void);
void pn_hw_set_baud(uint32_t baud);
/* Optional (weak defaults in pn_app.c: not supported): convert A0..A3 over and over in the
 * background. pn_hw_adc_background(1) returns 1 if the board does; pn_hw_adc_scan returns 1
 * when a scan completed since the last one taken, and takes it into counts[4] (counts 0:
 * only look). While it runs the core reads the sensor through scans, not pn_hw_adc. */
uint8_t pn_hw_adc_background(uint8_t on);
uint8_t pn_hw_adc_scan(uint16_t *counts);

#ifdef __cplusplus
}
#endif
#endif
