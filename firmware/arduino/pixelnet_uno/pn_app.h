/* The board side of the pixelnet protocol: commands, streaming, calibration store.
 * Board-independent; the hardware comes in through pn_hw.h. */
#ifndef PN_APP_H
#define PN_APP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PN_FW_MAJOR
#define PN_FW_MAJOR 0
#define PN_FW_MINOR 1
#define PN_FW_PATCH 0
#endif

#ifndef PN_BOARD_NAME
#define PN_BOARD_NAME "uno"
#endif

/* Load the calibration and send the boot INFO. */
void pn_app_boot(void);
/* One received byte. */
void pn_app_on_byte(uint8_t byte);
/* Call often: sends the next stream sample when it is due and the line has room. */
void pn_app_poll(void);
/* 1 when nothing is due before the next interrupt, given that the board's clock wakes it
 * at least every PN_WAKE_TICK_US: the board may sleep until an interrupt. */
uint8_t pn_app_idle(void);

#ifndef PN_WAKE_TICK_US
#define PN_WAKE_TICK_US 1100u /* the AVR builds: Timer0 overflows every 1024 us */
#endif

#ifdef __cplusplus
}
#endif
#endif
