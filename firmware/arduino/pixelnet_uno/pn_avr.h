/* What both AVR builds share (the Arduino-core sketch and the bare avr-gcc build):
 * the calibration record in EEPROM and the restart through the watchdog. */
#ifndef PN_AVR_H
#define PN_AVR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Arms the 1 s watchdog that restarts a hung board; call it once at start-up. */
void pn_avr_watchdog_on(void);
/* Restarts through the watchdog (as RESET asks); the caller drains its UART first. */
void pn_avr_restart(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
#endif
