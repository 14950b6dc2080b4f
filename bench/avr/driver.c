/* Test and benchmark driver for generated models: host (stdin/stdout) or AVR (UART0, polled).
 *
 * Records in (little-endian):  'C' dark:u16[4] bright:u16[4]  -> calib_init, no reply
 *                              'R' adc:u16[4]                 -> x[4] out[N_OUT] cls:u8
 *                              'X' x:act[4]                   -> out[N_OUT] cls:u8
 *                              'T' x:act[4]                   -> trace[TRACE_LEN] cls:u8
 *                              'Q' (or end of input)          -> stop
 * Without a UART (ATtiny85) the bytes go through GPIOR1/GPIOR2 (codegen/targets/pipe_sim.c).
 * On AVR every inference is a GPIOR0-marked region (1 = start, 0 = end) so the
 * simulator counts its cycles. Backends: the generated model (default),
 * BASELINE (no model: the size reference; int16 activations, or int8 with
 * BASELINE_ACT8, the q7 model's type) and EMLEARN (float, for comparison: the
 * network's outputs with an identity output layer, as pixelnet computes them,
 * replied as float32[N_OUT] instead of out[N_OUT]);
 * INFER_ONLY keeps only the 'X' command, so avr-size sees what the model adds.
 */
#include <stdint.h>

#ifdef EMLEARN
#include "eml_model.h"
#define N_OUT 4
#define TRACE_LEN N_OUT
typedef int16_t act_t;
#elif defined(BASELINE)
#define N_OUT 4
#define TRACE_LEN N_OUT
#ifdef BASELINE_ACT8
typedef int8_t act_t;
#else
typedef int16_t act_t;
#endif
#else
#include "pixelnet_model.h"
#define N_OUT PIXELNET_N_OUTPUTS
#define TRACE_LEN PIXELNET_TRACE_LEN
typedef pixelnet_act_t act_t;
#endif

#ifdef __AVR__
#include <avr/io.h>
#include <avr/interrupt.h>
#include <avr/sleep.h>

#ifndef UDR0
/* no UART (the ATtiny85): the simulator's byte pipe */
#include "../../codegen/targets/avr_pipe.h"
#else
static void io_init(void)
{
    UBRR0H = 0;
    UBRR0L = 8; /* 115200 baud at 16 MHz */
    UCSR0B = (uint8_t)((1 << RXEN0) | (1 << TXEN0));
    UCSR0C = (uint8_t)((1 << UCSZ01) | (1 << UCSZ00));
}

static int16_t get_byte(void)
{
    while (!(UCSR0A & (1 << RXC0))) {
    }
    return UDR0;
}

static void put_byte(uint8_t b)
{
    while (!(UCSR0A & (1 << UDRE0))) {
    }
    UDR0 = b;
}

static void stop(void)
{
    while (!(UCSR0A & (1 << TXC0))) {
    }
    cli();
    sleep_enable();
    sleep_cpu();
    for (;;) {
    }
}
#endif

#define MARK(v) (GPIOR0 = (v))
#else
#include <stdio.h>
#include <stdlib.h>

static void io_init(void)
{
}

static int16_t get_byte(void)
{
    const int c = getchar();
    if (c == EOF) {
        fflush(stdout);
        exit(0);
    }
    return (int16_t)c;
}

static void put_byte(uint8_t b)
{
    putchar(b);
}

static void stop(void)
{
    fflush(stdout);
    exit(0);
}

#define MARK(v) ((void)0)
#endif

static uint16_t get_u16(void)
{
    const uint16_t lo = (uint16_t)get_byte();
    return (uint16_t)(lo | ((uint16_t)get_byte() << 8));
}

static act_t get_act(void)
{
    if (sizeof(act_t) == 1) {
        return (act_t)(int8_t)get_byte();
    }
    return (act_t)(int16_t)get_u16();
}

static void put_acts(const act_t *v, uint8_t n)
{
    uint8_t i;
    for (i = 0; i < n; i++) {
        const uint16_t u = (uint16_t)v[i];
        put_byte((uint8_t)u);
        if (sizeof(act_t) == 2) {
            put_byte((uint8_t)(u >> 8));
        }
    }
}

#ifdef EMLEARN
static float eml_out[N_OUT];

static uint8_t model_infer(const act_t x[4], act_t out[N_OUT])
{
    float in[4];
    uint8_t i, best = 0;
    for (i = 0; i < 4; i++) {
        in[i] = (float)x[i] / 32768.0f;
    }
    eml_net_regress(&eml_model, in, 4, eml_out, N_OUT);
    for (i = 0; i < N_OUT; i++) {
        out[i] = 0;
        if (eml_out[i] > eml_out[best]) {
            best = i;
        }
    }
    return best;
}

static void put_floats(const float *v, uint8_t n)
{
    const uint8_t *bytes = (const uint8_t *)v;
    uint8_t i;
    for (i = 0; i < (uint8_t)(n * sizeof(float)); i++) {
        put_byte(bytes[i]);
    }
}
#elif defined(BASELINE)
static uint8_t model_infer(const act_t x[4], act_t out[N_OUT])
{
    uint8_t i;
    for (i = 0; i < N_OUT; i++) {
        out[i] = x[i];
    }
    return 0;
}
#else
#define model_infer pixelnet_infer
#endif

int main(void)
{
    act_t x[4], out[TRACE_LEN];
    uint8_t i, cls;
#if !defined(EMLEARN) && !defined(BASELINE) && !defined(INFER_ONLY)
    pixelnet_calib_t cal;
    uint16_t dark[4] = {0, 0, 0, 0}, bright[4] = {1023, 1023, 1023, 1023}, adc[4];
    pixelnet_calib_init(&cal, dark, bright);
#endif
    io_init();
    for (;;) {
        const int16_t cmd = get_byte();
        switch (cmd) {
#if !defined(EMLEARN) && !defined(BASELINE) && !defined(INFER_ONLY)
        case 'C':
            for (i = 0; i < 4; i++) {
                dark[i] = get_u16();
            }
            for (i = 0; i < 4; i++) {
                bright[i] = get_u16();
            }
            pixelnet_calib_init(&cal, dark, bright);
            break;
        case 'R':
            for (i = 0; i < 4; i++) {
                adc[i] = get_u16();
            }
            pixelnet_preprocess(&cal, adc, x);
            MARK(1);
            cls = pixelnet_infer(x, out);
            MARK(0);
            put_acts(x, 4);
            put_acts(out, N_OUT);
            put_byte(cls);
            break;
        case 'T':
            for (i = 0; i < 4; i++) {
                x[i] = get_act();
            }
            cls = pixelnet_infer_trace(x, out);
            put_acts(out, TRACE_LEN);
            put_byte(cls);
            break;
#endif
        case 'X':
            for (i = 0; i < 4; i++) {
                x[i] = get_act();
            }
            MARK(1);
            cls = model_infer(x, out);
            MARK(0);
#ifdef EMLEARN
            put_floats(eml_out, N_OUT);
#else
            put_acts(out, N_OUT);
#endif
            put_byte(cls);
            break;
        default:
            stop();
        }
    }
}
