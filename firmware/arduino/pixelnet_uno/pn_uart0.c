/* The host's serial line on UART0, for both AVR builds (the sketch and --no-core): see the
 * line half of pn_avr.h, and pn_hw_write, pn_hw_tx_room and the baud hooks of pn_hw.h.
 *
 * Why not the Arduino core's Serial: its transmit interrupt calls a member function and
 * costs about 185 cycles a byte, more than a byte lasts at 1,000,000 baud (160 cycles), so
 * a flat-out stream spent its time in that interrupt instead of keeping up with the ADC.
 * This driver's interrupts are a few dozen cycles. Nothing here names Serial, so the
 * linker leaves the core's HardwareSerial (and its interrupts on these vectors) out; a
 * sketch that used Serial as well would not link (two handlers for one vector).
 *
 * A chip whose Serial is native USB (the Leonardo's ATmega32u4, USBCON) has no UART0 for
 * the host: pn_arduino.cpp keeps Serial there, and this file is empty.
 */
#include <avr/io.h>

#ifdef USBCON
typedef int pn_uart0_not_on_this_chip; /* ISO C forbids an empty translation unit */
#else

#include <avr/interrupt.h>

#include "pn_avr.h"
#include "pn_hw.h"

/* The ATmega328P names the vectors USART_*, the ATmega2560 USART0_* (four UARTs). */
#ifdef USART_RX_vect
#define PN_UART0_RX_vect USART_RX_vect
#define PN_UART0_UDRE_vect USART_UDRE_vect
#else
#define PN_UART0_RX_vect USART0_RX_vect
#define PN_UART0_UDRE_vect USART0_UDRE_vect
#endif

#define RING 64u /* a power of two: indices wrap with a mask; as Serial's buffers */
#define RING_MASK (RING - 1u)
#define BAUD_AT_START UINT32_C(115200)

static volatile uint8_t rx_ring[RING];
static volatile uint8_t rx_head, rx_tail;
static volatile uint8_t tx_ring[RING];
static volatile uint8_t tx_head, tx_tail;
static uint32_t line_baud = BAUD_AT_START;

/* A full receive ring drops the byte: the frame it belonged to then fails its CRC. */
ISR(PN_UART0_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t next = (uint8_t)((rx_head + 1u) & RING_MASK);
    if (next != rx_tail) {
        rx_ring[rx_head] = byte;
        rx_head = next;
    }
}

ISR(PN_UART0_UDRE_vect)
{
    uint8_t tail = tx_tail;
    if (tx_head == tail) {
        UCSR0B &= (uint8_t)~(1u << UDRIE0);
        return;
    }
    UCSR0A = (uint8_t)((UCSR0A & (1u << U2X0)) | (1u << TXC0)); /* clear "sent" */
    UDR0 = tx_ring[tail];
    tx_tail = (uint8_t)((tail + 1u) & RING_MASK);
}

/* U2X with UBRR rounded as the Arduino core rounds it, 8N1, receive by interrupt. */
void pn_avr_line_begin(void)
{
    UCSR0A = (uint8_t)(1u << U2X0);
    UBRR0 = pn_avr_ubrr_u2x(line_baud);
    UCSR0C = (uint8_t)((1u << UCSZ01) | (1u << UCSZ00));
    UCSR0B = (uint8_t)((1u << RXEN0) | (1u << TXEN0) | (1u << RXCIE0));
}

uint8_t pn_avr_line_available(void)
{
    return rx_tail != rx_head;
}

uint8_t pn_avr_line_read(void)
{
    uint8_t tail = rx_tail, byte = rx_ring[tail];
    rx_tail = (uint8_t)((tail + 1u) & RING_MASK);
    return byte;
}

/* TXC is set once the last byte has left the shift register (every write clears it). */
void pn_avr_line_drain(void)
{
    while (tx_head != tx_tail || !(UCSR0A & (1u << TXC0))) {
    }
}

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
    pn_avr_line_drain();
    UBRR0 = pn_avr_ubrr_u2x(baud);
    line_baud = baud;
}

#endif
