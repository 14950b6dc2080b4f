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

#ifdef __cplusplus
}
#endif
#endif
