/* What both AVR builds share (the Arduino-core sketch and the bare avr-gcc build):
 * the calibration record in EEPROM and the restart through the watchdog. */
#ifndef PN_AVR_H
#define PN_AVR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arms the 1 s watchdog that restarts a hung board; call it once at start-up. */
void pn_avr_watchdog_on(void);
/* 1 for the line speeds UART0 makes exactly (or as the 115200 default) at 16 MHz with U2X:
 * 115200, 250000, 500000 and 1000000 baud. */
uint8_t pn_avr_baud_supported(uint32_t baud);
/* UBRR0 for `baud` with U2X set, rounded as the Arduino core does. */
uint16_t pn_avr_ubrr_u2x(uint32_t baud);
/* Idle sleep, woken by every interrupt (a received byte, the transmitter, the ADC, the 1 ms
 * timer tick), until input_waiting() or the protocol core has work (pn_app_idle); staying
 * here between wake-ups keeps a byte sent at 1,000,000 baud from costing a pass of the
 * main loop. Feeds the watchdog while it waits. */
void pn_avr_sleep_until_work(uint8_t (*input_waiting)(void));
/* Restarts through the watchdog (as RESET asks); the caller drains its UART first. */
void pn_avr_restart(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
#endif
