/* The Uno firmware without the Arduino core: `pixelnet build --board uno --no-core`.
 *
 * The same protocol core (../pixelnet_uno/pn_app.c, pn_frame.c, pn_avr.c) on a
 * few registers: UART0 at 115200 baud (U2X, UBRR 16, as the core sets it) with
 * interrupt-driven 64-byte rings, the ADC at 16 MHz / 128 against AVcc, and a
 * microsecond clock from Timer1 (4 us ticks), and Timer0's overflow (every 1024 us) as
 * the tick that wakes an idle board from sleep. Same behaviour, less flash.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>

#include "pn_app.h"
#include "pn_avr.h"
#include "pn_hw.h"

#define RING 64u /* a power of two: indices wrap with a mask */
#define RING_MASK (RING - 1u)
#define US_PER_TICK 4u /* Timer1 at 16 MHz / 64 */

static volatile uint8_t rx_ring[RING];
static volatile uint8_t rx_head, rx_tail;
static volatile uint8_t tx_ring[RING];
static volatile uint8_t tx_head, tx_tail;
static volatile uint16_t timer1_overflows;

/* A full receive ring drops the byte: the frame it belonged to then fails its CRC. */
ISR(USART_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t next = (uint8_t)((rx_head + 1u) & RING_MASK);
    if (next != rx_tail) {
        rx_ring[rx_head] = byte;
        rx_head = next;
    }
}

ISR(USART_UDRE_vect)
{
    if (tx_head == tx_tail) {
        UCSR0B &= (uint8_t)~(1u << UDRIE0);
        return;
    }
    UCSR0A = (uint8_t)((UCSR0A & (1u << U2X0)) | (1u << TXC0)); /* clear "sent" */
    UDR0 = tx_ring[tx_tail];
    tx_tail = (uint8_t)((tx_tail + 1u) & RING_MASK);
}

ISR(TIMER1_OVF_vect)
{
    timer1_overflows++;
}

EMPTY_INTERRUPT(TIMER0_OVF_vect)

void pn_hw_write(const uint8_t *buf, uint8_t n)
{
    while (n--) {
        uint8_t next = (uint8_t)((tx_head + 1u) & RING_MASK);
        while (next == tx_tail) {
        }
        tx_ring[tx_head] = *buf++;
        tx_head = next;
        UCSR0B |= (uint8_t)(1u << UDRIE0);
    }
}

uint8_t pn_hw_tx_room(void)
{
    return (uint8_t)((tx_tail - tx_head - 1u) & RING_MASK);
}

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

static uint32_t line_baud = UINT32_C(115200);

static void drain_transmitter(void)
{
    while (tx_head != tx_tail || !(UCSR0A & (1u << TXC0))) {
    }
}

uint8_t pn_hw_baud_supported(uint32_t baud)
{
    return pn_avr_baud_supported(baud);
}

uint32_t pn_hw_baud(void)
{
    return line_baud;
}

void pn_hw_set_baud(uint32_t baud)
{
    drain_transmitter();
    UBRR0 = pn_avr_ubrr_u2x(baud);
    line_baud = baud;
}

void pn_hw_restart(void)
{
    drain_transmitter();
    pn_avr_restart();
}

static void hardware_init(void)
{
    UCSR0A = (uint8_t)(1u << U2X0);
    UBRR0 = pn_avr_ubrr_u2x(line_baud);
    UCSR0C = (uint8_t)((1u << UCSZ01) | (1u << UCSZ00)); /* 8N1 */
    UCSR0B = (uint8_t)((1u << RXEN0) | (1u << TXEN0) | (1u << RXCIE0));
    ADCSRA = (uint8_t)((1u << ADEN) | (1u << ADPS2) | (1u << ADPS1) | (1u << ADPS0));
    DIDR0 = 0x0F; /* A0..A3 are analog only */
    TCCR1A = 0;
    TCCR1B = (uint8_t)((1u << CS11) | (1u << CS10));
    TIMSK1 = (uint8_t)(1u << TOIE1);
    TCCR0B = (uint8_t)((1u << CS01) | (1u << CS00)); /* 16 MHz / 64 / 256: 1024 us */
    TIMSK0 = (uint8_t)(1u << TOIE0);
}

static uint8_t input_waiting(void)
{
    return rx_tail != rx_head;
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
        for (n = 0; n < RING && rx_tail != rx_head; n++) {
            uint8_t byte = rx_ring[rx_tail];
            rx_tail = (uint8_t)((rx_tail + 1u) & RING_MASK);
            pn_app_on_byte(byte);
        }
        pn_app_poll();
        pn_avr_sleep_until_work(input_waiting);
    }
}
