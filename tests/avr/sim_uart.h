/* Polled UART0 at 115200 baud for the harness's test programs. */
#ifndef SIM_UART_H
#define SIM_UART_H

#include <avr/io.h>
#include <stdint.h>

static inline void uart_init(void)
{
	UCSR0A = _BV(U2X0);
	UBRR0 = 16; /* 115200 baud at 16 MHz with U2X */
	UCSR0B = _BV(RXEN0) | _BV(TXEN0);
	UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
}

static inline uint8_t uart_get(void)
{
	while (!(UCSR0A & _BV(RXC0)))
		;
	return UDR0;
}

static inline void uart_put(uint8_t b)
{
	while (!(UCSR0A & _BV(UDRE0)))
		;
	UDR0 = b;
}

static inline void uart_put16(uint16_t w)
{
	uart_put(w & 0xff);
	uart_put(w >> 8);
}

#endif
