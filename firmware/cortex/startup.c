/* Reset and vector table of a bare-metal Cortex-M3: copy .data, clear .bss, call main().
 * The linker script (cortex_m.ld) provides the section symbols; the board's hooks file
 * provides the handlers (weak defaults here stop in a loop, which the watchdog ends). */
#include <stdint.h>

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
extern int main(void);

void pn_reset_handler(void);
void pn_default_handler(void);
void pn_systick_handler(void) __attribute__((weak, alias("pn_default_handler")));
void pn_uart0_handler(void) __attribute__((weak, alias("pn_default_handler")));

#define N_EXCEPTIONS 16
#define UART0_IRQ 5
#define N_VECTORS (N_EXCEPTIONS + UART0_IRQ + 1)

typedef void (*vector_t)(void);

/* Slot 0 is the initial stack pointer; slots 7-10 and 13 are reserved. */
#define DEFAULT pn_default_handler
__attribute__((section(".vectors"), used)) static const vector_t vectors[N_VECTORS] = {
    (vector_t)(uintptr_t)&__stack_top, pn_reset_handler,
    DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, 0, 0, 0, 0, /* NMI .. UsageFault */
    DEFAULT, DEFAULT, 0, DEFAULT, pn_systick_handler,         /* SVCall .. SysTick */
    DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT,              /* IRQ 0-4: GPIO A-E */
    pn_uart0_handler,                                          /* IRQ 5 */
};

void pn_default_handler(void)
{
    for (;;) {
    }
}

void pn_reset_handler(void)
{
    const uint32_t *from = &__data_load;
    uint32_t *to;
    for (to = &__data_start; to < &__data_end; to++) {
        *to = *from++;
    }
    for (to = &__bss_start; to < &__bss_end; to++) {
        *to = 0;
    }
    main();
    for (;;) {
    }
}
