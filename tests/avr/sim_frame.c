/* A function with a FRAME-byte local array: its prologue moves SP with `out SPH`, `out SREG`,
 * `out SPL`. With FRAME = 252 the new SP crosses a 256-byte page, so the half-written SP in
 * between (new SPH, old SPL) lies below the real one; the harness must not count it. */
#include <avr/interrupt.h>
#include <avr/sleep.h>
#include <stdint.h>

static uint8_t __attribute__((noinline)) use_frame(void)
{
	volatile uint8_t frame[FRAME];
	frame[0] = 1;
	frame[FRAME - 1] = 2;
	return frame[0];
}

int main(void)
{
	GPIOR1 = use_frame();
	cli();
	sleep_enable();
	sleep_cpu();
}
