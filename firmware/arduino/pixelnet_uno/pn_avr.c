/* See pn_avr.h. The EEPROM half of pn_hw.h and the restart live here because they are the
 * same on both builds. */
#include "pn_avr.h"

#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "pn_app.h"
#include "pn_hw.h"

#define CAL_EEPROM_ADDR ((uint8_t *)0)
#define SCAN_PIXELS 4
#define ADMUX_AVCC (1u << REFS0) /* AVcc reference, as analogRead and the bare build use */

static volatile uint16_t scan_done[SCAN_PIXELS];
static uint16_t scan_work[SCAN_PIXELS];
static volatile uint8_t scan_pixel, scan_ready, scanning;

/* After a watchdog reset the watchdog stays armed at its shortest timeout:
 * disarm it before the C runtime and setup()/main() run. */
void pn_avr_disarm_watchdog(void) __attribute__((naked, used, section(".init3")));
void pn_avr_disarm_watchdog(void)
{
    MCUSR = 0;
    wdt_disable();
}

void pn_avr_watchdog_on(void)
{
    wdt_enable(WDTO_1S);
}

void pn_hw_restart(void)
{
    pn_avr_line_drain();
    wdt_enable(WDTO_15MS);
    for (;;) {
    }
}

void pn_hw_store_read(uint8_t *buf, uint8_t n)
{
    eeprom_read_block(buf, CAL_EEPROM_ADDR, n);
}

void pn_hw_store_write(const uint8_t *buf, uint8_t n)
{
    eeprom_update_block(buf, CAL_EEPROM_ADDR, n);
}

uint8_t pn_avr_baud_supported(uint32_t baud)
{
    return baud == UINT32_C(115200) || baud == UINT32_C(250000) || baud == UINT32_C(500000)
           || baud == UINT32_C(1000000);
}

uint16_t pn_avr_ubrr_u2x(uint32_t baud)
{
    return (uint16_t)((F_CPU / 4u / baud - 1u) / 2u);
}

/* The background scan: each conversion's interrupt stores its count, moves the multiplexer
 * on and starts the next conversion at once, so the ADC never waits for the CPU. */
ISR(ADC_vect)
{
    uint8_t pixel = scan_pixel, i;
    scan_work[pixel] = ADC;
    pixel = (uint8_t)((pixel + 1u) % SCAN_PIXELS);
    scan_pixel = pixel;
    ADMUX = (uint8_t)(ADMUX_AVCC | pixel);
    if (scanning) {
        ADCSRA |= (uint8_t)(1u << ADSC);
    }
    if (pixel == 0) {
        for (i = 0; i < SCAN_PIXELS; i++) {
            scan_done[i] = scan_work[i];
        }
        scan_ready = 1;
    }
}

uint8_t pn_hw_adc_background(uint8_t on)
{
    if (on) {
        scan_pixel = 0;
        scan_ready = 0;
        scanning = 1;
        ADMUX = ADMUX_AVCC;
        ADCSRA |= (uint8_t)((1u << ADIE) | (1u << ADSC));
    } else {
        scanning = 0;
        while (ADCSRA & (1u << ADSC)) {
        }
        ADCSRA = (uint8_t)((ADCSRA & ~(1u << ADIE)) | (1u << ADIF)); /* ADIF: 1 clears it */
    }
    return 1;
}

uint8_t pn_hw_adc_scan(uint16_t *counts)
{
    uint8_t sreg = SREG, ready, i;
    if (!counts) {
        return scan_ready; /* one byte: read atomically */
    }
    cli();
    ready = scan_ready;
    if (ready && counts) {
        for (i = 0; i < SCAN_PIXELS; i++) {
            counts[i] = scan_done[i];
        }
        scan_ready = 0;
    }
    SREG = sreg;
    return ready;
}

/* The check and the sleep are atomic: `sei` lets one more instruction (the `sleep`) run
 * before any interrupt, so a wake-up cannot slip in between. */
void pn_avr_sleep_until_work(uint8_t (*input_waiting)(void))
{
    set_sleep_mode(SLEEP_MODE_IDLE);
    cli();
    while (!input_waiting() && pn_app_idle()) {
        wdt_reset();
        sleep_enable();
        sei();
        sleep_cpu();
        sleep_disable();
        cli();
    }
    sei();
}
