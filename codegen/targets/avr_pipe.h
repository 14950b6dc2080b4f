/* The byte pipe of codegen/targets/pipe_sim.c, for AVR programs on cores without a UART
 * (the ATtiny85): a read of GPIOR1 is the next input byte ('Q' once the input is used
 * up), a write to GPIOR2 an output byte; the end is a sleep with interrupts off. */
#ifndef PIXELNET_AVR_PIPE_H
#define PIXELNET_AVR_PIPE_H

#include <avr/io.h>
#include <avr/interrupt.h>
#include <avr/sleep.h>

static void io_init(void)
{
}

static int16_t get_byte(void)
{
    return GPIOR1;
}

static void put_byte(uint8_t b)
{
    GPIOR2 = b;
}

static void stop(void)
{
    cli();
    sleep_enable();
    sleep_cpu();
    for (;;) {
    }
}

#endif
