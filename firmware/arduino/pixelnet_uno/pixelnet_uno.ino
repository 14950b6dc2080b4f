/* pixelnet on an Arduino Uno: a 2x2 photodiode "camera" on A0..A3 classified by
 * the generated network, spoken over serial (PROTOCOL.md, 115200 8N1).
 *
 * Wiring (pixel order used everywhere):  A0 = top-left     A1 = top-right
 *                                        A2 = bottom-left  A3 = bottom-right
 * Each photodiode (or LDR) with its resistor as a divider between 5 V and GND.
 *
 * The generated model (pixelnet_model.h / pixelnet_model.c, from
 * `pixelnet generate --target arduino`) must sit beside this file;
 * `pixelnet build --board uno` puts a complete copy of this folder under build/.
 * The protocol lives in pn_app.c / pn_frame.c (plain C, also tested on the host),
 * its hardware hooks in pn_arduino.cpp, pn_avr.c and pn_uart0.c; this file only runs it.
 * The serial line is pn_avr_line_* (pn_avr.h), not Serial: on UART0 the firmware drives the
 * UART itself, fast enough for a 1,000,000-baud stream (pn_uart0.c says why), so this
 * sketch must not use Serial as well.
 */
#include <Arduino.h>
#include <avr/wdt.h>

#include "pn_app.h"
#include "pn_avr.h"

/* Bytes handled per loop(): under a flood of bad frames the board is busy sending
 * error replies, and an unbounded receive loop would starve the watchdog and the stream. */
static const uint8_t BYTES_PER_LOOP = 64;

void setup()
{
    /* No PWM here: Timer0 counts in normal mode (its overflow, millis() and micros() are
     * unchanged) and Timers 1 and 2 stop, so the 1 ms tick is all that wakes an idle board. */
    TCCR0A = 0;
    TCCR1B = 0;
#ifdef TCCR2B /* the ATmega32u4 (Leonardo) has no Timer2 */
    TCCR2B = 0;
#endif
    pn_avr_line_begin();
    pn_avr_watchdog_on();
    pn_app_boot();
}

void loop()
{
    wdt_reset();
    for (uint8_t n = 0; n < BYTES_PER_LOOP && pn_avr_line_available(); n++) {
        pn_app_on_byte(pn_avr_line_read());
    }
    pn_app_poll();
    pn_avr_sleep_until_work(pn_avr_line_available);
}
