/* One-letter commands that expose what the harness simulates:
 *   boot   sends 'B' and MCUSR (the reset cause), then clears it and stops the watchdog
 *   'a'    sends ADC0..ADC3 (little-endian 16-bit counts)
 *   'e'    sends EEPROM byte 0 and stores it plus one
 *   'r'    a GPIOR0-marked region of 100 nops, then one of 1000 nops; sends 'R'
 *   's'    reads a 16-bit length n, then n bytes without a word, then sends their 16-bit sum
 *   'w'    lets the watchdog reset the chip
 *   'q'    sleeps with interrupts off: the end of a batch run
 * anything else is echoed. */
#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "sim_uart.h"

static uint16_t adc_read(uint8_t channel)
{
	ADMUX = _BV(REFS0) | channel; /* AVcc reference */
	ADCSRA |= _BV(ADSC);
	while (ADCSRA & _BV(ADSC))
		;
	return ADC;
}

/* out of line: a long straight run inside main's loop would put its branches out of reach */
static void __attribute__((noinline)) nop_regions(void)
{
	GPIOR0 = 1;
	__asm__ __volatile__(".rept 100\n\tnop\n\t.endr");
	GPIOR0 = 0;
	GPIOR0 = 1;
	__asm__ __volatile__(".rept 1000\n\tnop\n\t.endr");
	GPIOR0 = 0;
}

int main(void)
{
	uint8_t cause = MCUSR;
	MCUSR = 0;
	wdt_disable();
	uart_init();
	ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);
	uart_put('B');
	uart_put(cause);
	for (;;) {
		uint8_t c = uart_get();
		if (c == 'a') {
			for (uint8_t ch = 0; ch < 4; ch++)
				uart_put16(adc_read(ch));
		} else if (c == 'e') {
			uint8_t value = eeprom_read_byte((uint8_t *)0);
			uart_put(value);
			eeprom_write_byte((uint8_t *)0, value + 1);
		} else if (c == 'r') {
			nop_regions();
			uart_put('R');
		} else if (c == 's') {
			uint16_t n = uart_get();
			n |= (uint16_t)uart_get() << 8;
			uint16_t sum = 0;
			while (n--)
				sum += uart_get();
			uart_put16(sum);
		} else if (c == 'w') {
			wdt_enable(WDTO_15MS);
			for (;;)
				;
		} else if (c == 'q') {
			cli();
			sleep_enable();
			sleep_cpu();
		} else {
			uart_put(c);
		}
	}
}
