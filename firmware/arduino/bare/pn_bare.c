/* The Uno firmware without the Arduino core: `pixelnet build --board uno --no-core`.
 *
 * The same protocol core (../pixelnet_uno/pn_app.c, pn_frame.c, pn_avr.c) and the same
 * UART0 driver as the sketch (pn_uart0.c: 115200 baud with U2X, UBRR 16, as the core sets
 * it, interrupt-driven 64-byte rings) on a few more registers: the ADC at 16 MHz / 128
 * against AVcc, a microsecond clock from Timer1 (4 us ticks), and Timer0's overflow (every
 * 1024 us) as the tick that wakes an idle board from sleep. Same behaviour, less flash.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>

#include "pn_app.h"
#include "pn_avr.h"
#include "pn_hw.h"

#define US_PER_TICK 4u /* Timer1 at 16 MHz / 64 */
#define BYTES_PER_PASS 64u

static volatile uint16_t timer1_overflows;

ISR(TIMER1_OVF_vect)
{
    timer1_overflows++;
}

EMPTY_INTERRUPT(TIMER0_OVF_vect)

uint16_t pn_hw_adc(uint8_t pixel)
{
    ADMUX = (uint8_t)((1u << REFS0) | (pixel & 0x07u));
    ADCSRA |= (uint8_t)(1u << ADSC);
    while (ADCSRA & (1u << ADSC)) {
    }
    return ADC;
}

/* A pending overflow not yet counted belongs to a low count that has wrapped. */
uint32_t pn_hw_micros(void)
{
    uint16_t high, low;
    uint8_t sreg = SREG;
    cli();
    low = TCNT1;
    high = timer1_overflows;
    if ((TIFR1 & (1u << TOV1)) && low < 0x8000u) {
        high++;
    }
    SREG = sreg;
    return ((((uint32_t)high) << 16) | low) * US_PER_TICK;
}

static void hardware_init(void)
{
    pn_avr_line_begin();
    ADCSRA = (uint8_t)((1u << ADEN) | (1u << ADPS2) | (1u << ADPS1) | (1u << ADPS0));
    DIDR0 = 0x0F; /* A0..A3 are analog only */
    TCCR1A = 0;
    TCCR1B = (uint8_t)((1u << CS11) | (1u << CS10));
    TIMSK1 = (uint8_t)(1u << TOIE1);
    TCCR0B = (uint8_t)((1u << CS01) | (1u << CS00)); /* 16 MHz / 64 / 256: 1024 us */
    TIMSK0 = (uint8_t)(1u << TOIE0);
}

int main(void)
{
    hardware_init();
    sei();
    pn_avr_watchdog_on();
    pn_app_boot();
    for (;;) {
        uint8_t n;
        wdt_reset();
        /* bounded, as in the sketch's loop(): a flood must not starve the watchdog */
        for (n = 0; n < BYTES_PER_PASS && pn_avr_line_available(); n++) {
            pn_app_on_byte(pn_avr_line_read());
        }
        pn_app_poll();
        pn_avr_sleep_until_work(pn_avr_line_available);
    }
}
