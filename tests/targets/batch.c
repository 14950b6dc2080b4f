/* One program, many generated models (prefixes m0, m1, ...): the driver of the random-model
 * test, for the host, a Cortex-M under QEMU and AVR cores in simavr.
 *
 * Records in (little-endian): 'M' k                                 -> select model k
 *                             'R' dark:u16[4] bright:u16[4] adc:u16[4] -> x[4] out cls
 *                             'X' x:act[4]                          -> out[N_OUTPUTS] cls
 *                             'T' x:act[4]                          -> trace[TRACE_LEN] cls
 *                             'Q' (or the end of the input)         -> stop
 * AVR: the bytes go through GPIOR1 (in) and GPIOR2 (out), codegen/targets/pipe_sim.c.
 */
#include <stdint.h>

#ifdef __AVR__
#include "../../codegen/targets/avr_pipe.h"
#else
#include <stdio.h>
#include <stdlib.h>

static void io_init(void)
{
}

static int16_t get_byte(void)  /* the end of the input reads as 'Q', which stops */
{
    const int c = getchar();
    return (int16_t)(c == EOF ? 'Q' : c);
}

static void put_byte(uint8_t b)
{
    (void)putchar(b);
}

static void stop(void)
{
    exit(fflush(stdout) == 0 ? 0 : 1);
}
#endif

static uint16_t get_u16(void)
{
    const uint16_t lo = (uint16_t)get_byte();
    return (uint16_t)(lo | (uint16_t)((uint16_t)get_byte() << 8));
}

static void get_u16s(uint16_t *v, uint8_t n)
{
    uint8_t i;
    for (i = 0; i < n; i++) {
        v[i] = get_u16();
    }
}

/* activations of either width: int8 (q7) or int16 (q15) */
#define GET_ACTS(v, n) do { \
    uint8_t k_; \
    for (k_ = 0; k_ < (n); k_++) { \
        (v)[k_] = sizeof((v)[0]) == 1 ? (int8_t)get_byte() : (int16_t)get_u16(); \
    } \
} while (0)
#define PUT_ACTS(v, n) do { \
    uint8_t k_; \
    for (k_ = 0; k_ < (n); k_++) { \
        const uint16_t u_ = (uint16_t)(v)[k_]; \
        put_byte((uint8_t)u_); \
        if (sizeof((v)[0]) == 2) { \
            put_byte((uint8_t)(u_ >> 8)); \
        } \
    } \
} while (0)

/* generated: one run_mK(cmd) per model and RUN_MODEL(k, cmd) */
#include "batch_models.h"

int main(void)
{
    uint8_t model = 0;
    io_init();
    for (;;) {
        const uint8_t cmd = (uint8_t)get_byte();
        if (cmd == 'M') {
            model = (uint8_t)get_byte();
        } else if (cmd == 'R' || cmd == 'X' || cmd == 'T') {
            RUN_MODEL(model, cmd);
        } else {
            stop();
        }
    }
}
