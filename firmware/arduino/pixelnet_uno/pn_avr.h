/* What both AVR builds share (the Arduino-core sketch and the bare avr-gcc build):
 * the calibration record in EEPROM, the restart through the watchdog, the background ADC
 * scan, the idle sleep and the serial line. */
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

/* The host's serial line: UART0 (pn_uart0.c) on every chip but those whose Serial is native
 * USB, where the Arduino core's Serial carries it (pn_arduino.cpp). pn_hw_restart drains it
 * and restarts through the watchdog. */
void pn_avr_line_begin(void);        /* 115200 8N1 */
uint8_t pn_avr_line_available(void); /* 1 when a received byte waits */
uint8_t pn_avr_line_read(void);      /* the oldest received byte; only when one waits */
void pn_avr_line_drain(void);        /* returns once every queued byte has left */

#ifdef __cplusplus
}
#endif
#endif
