/* pixelnet on a TI Stellaris LM3S6965 (Cortex-M3) as QEMU's `lm3s6965evb` models it:
 * the hooks of ../arduino/pixelnet_uno/pn_hw.h and main(). The protocol is the Uno's own
 * pn_app.c, pn_frame.c and pn_text.c, compiled unchanged.
 *
 * - Clock: the PLL from the 8 MHz crystal, divided to 50 MHz; SysTick interrupts every
 *   millisecond and gives a microsecond clock (and the 20 ns ticks that time an inference).
 * - UART0 (the host line): 115200 8N1, received bytes by interrupt into a ring, sent
 *   through a software ring that the main loop drains into the 16-byte FIFO.
 * - The photodiodes: QEMU models no usable ADC (its Stellaris ADC returns noise), so the
 *   four conversions come from the "sensor line" on UART1 (see ../sim/SCENE.md): the board
 *   sends the pixel number, the virtual board's harness answers the count. A real board
 *   reads its ADC here instead.
 * - Calibration store: QEMU models the flash as ROM, so the record lives in a host file
 *   through semihosting (QEMU's working directory, CAL_FILE). A real board writes a flash
 *   page (or its EEPROM) here instead.
 * - Inference timing (pn_hw_mark_inference): the 20 ns ticks an inference took go out on
 *   the sensor line; under QEMU's -icount they count instructions (SCENE.md).
 * - Watchdog: reset after two 2 s time-outs without a feed; RESET restarts through
 *   SYSRESETREQ.
 * - Idle: the core sleeps (WFI) when nothing came in and nothing went out, so a virtual
 *   board that waits costs little host CPU; SysTick wakes it every millisecond.
 */
#include <stdint.h>

#include "pn_app.h"
#include "pn_hw.h"
#include "pn_semihost.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define F_CPU 50000000u
#define TICKS_PER_MS (F_CPU / 1000u)
#define TICKS_PER_US (F_CPU / 1000000u)
#define BAUD 115200u

/* System control */
#define SYSCTL_RIS REG(0x400FE050u)
#define SYSCTL_RCC REG(0x400FE060u)
#define SYSCTL_RCGC0 REG(0x400FE100u)
#define SYSCTL_RCGC1 REG(0x400FE104u)
#define SYSCTL_RCGC2 REG(0x400FE108u)
#define RCC_XTAL_MASK (0x1Fu << 6)
#define RCC_XTAL_8MHZ (0x0Eu << 6)
#define RCC_OSCSRC_MASK (0x3u << 4)
#define RCC_BYPASS (1u << 11)
#define RCC_PWRDN (1u << 13)
#define RCC_USESYSDIV (1u << 22)
#define RCC_SYSDIV_MASK (0xFu << 23)
#define RCC_SYSDIV_4 (0x3u << 23) /* 200 MHz PLL / 4 = 50 MHz */
#define RIS_PLL_LOCKED (1u << 6)
#define PLL_LOCK_POLLS 100000u
#define RCGC0_WDT (1u << 3)
#define RCGC1_UART0 (1u << 0)
#define RCGC1_UART1 (1u << 1)
#define RCGC2_GPIOA (1u << 0)
#define RCGC2_GPIOD (1u << 3)

/* GPIO: UART0 on PA0/PA1, UART1 on PD2/PD3 */
#define GPIOA_BASE 0x40004000u
#define GPIOD_BASE 0x40007000u
#define GPIO_AFSEL 0x420u
#define GPIO_DEN 0x51Cu

/* UARTs (PL011 layout) */
#define UART0_BASE 0x4000C000u
#define UART1_BASE 0x4000D000u
#define UART_DR 0x000u
#define UART_FR 0x018u
#define UART_IBRD 0x024u
#define UART_FBRD 0x028u
#define UART_LCRH 0x02Cu
#define UART_CTL 0x030u
#define UART_IM 0x038u
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_BUSY (1u << 3)
#define LCRH_8N1_FIFO ((3u << 5) | (1u << 4))
#define CTL_ENABLE ((1u << 0) | (1u << 8) | (1u << 9))
#define IM_RX_AND_TIMEOUT ((1u << 4) | (1u << 6))

/* Core peripherals */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_ENABLE_INT_CPUCLK 0x7u
#define NVIC_ISER0 REG(0xE000E100u)
#define SCB_ICSR REG(0xE000ED04u)
#define SCB_AIRCR REG(0xE000ED0Cu)
#define ICSR_PENDSTSET (1u << 26)
#define AIRCR_SYSRESETREQ 0x05FA0004u
#define UART0_IRQ 5u

/* Watchdog */
#define WDT_LOAD REG(0x40000000u)
#define WDT_CTL REG(0x40000008u)
#define WDT_ICR REG(0x4000000Cu)
#define WDT_LOCK REG(0x40000C00u)
#define WDT_UNLOCK 0x1ACCE551u
#define WDT_CTL_INT_AND_RESET 0x3u
#define WDT_TIMEOUT_TICKS (2u * F_CPU) /* 2 s to the first time-out, reset at the second */

/* The sensor line (SCENE.md): a pixel number asks for a count, MARK_REPORT times an inference */
#define SENSOR_MARK_REPORT 0x10u

#define CAL_FILE "pixelnet-calibration.bin"

#define RING 256u /* a power of two; uint8_t room counts stop at 255 */
#define RING_MASK (RING - 1u)
#define BYTES_PER_LOOP 64u /* as the sketch's loop(): a flood must not starve the watchdog */

static volatile uint8_t rx_ring[RING];
static volatile uint32_t rx_head, rx_tail;
static uint8_t tx_ring[RING];
static uint32_t tx_head, tx_tail;
static volatile uint32_t ms_count;
static uint32_t mark_start;
static uint32_t line_baud = BAUD;

static inline void irq_off(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void irq_on(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

/* Interrupts off; returns whether they were on before (PRIMASK), for irq_restore. */
static inline uint32_t irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

static inline void irq_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

void pn_systick_handler(void)
{
    ms_count++;
}

/* A full receive ring drops the byte: the frame it belonged to then fails its CRC. */
void pn_uart0_handler(void)
{
    while (!(REG(UART0_BASE + UART_FR) & FR_RXFE)) {
        uint8_t byte = (uint8_t)REG(UART0_BASE + UART_DR);
        uint32_t next = (rx_head + 1u) & RING_MASK;
        if (next != rx_tail) {
            rx_ring[rx_head] = byte;
            rx_head = next;
        }
    }
}

/* Whole milliseconds since start-up, and the 20 ns ticks of the current one. A SysTick
 * wrap whose interrupt is still pending belongs to the count already: the counter has
 * restarted from the top. Without a branch, so a timed region runs the same instructions
 * whether or not the counter wrapped inside it. */
static uint32_t clock_read(uint32_t *ticks)
{
    uint32_t ms, left, pending, primask = irq_save();
    ms = ms_count;
    left = SYST_CVR;
    pending = (SCB_ICSR & ICSR_PENDSTSET) ? 1u : 0u;
    ms += pending & (uint32_t)(left > TICKS_PER_MS / 2u);
    irq_restore(primask);
    *ticks = TICKS_PER_MS - 1u - left;
    return ms;
}

/* 20 ns ticks since start-up, wrapping: what an inference mark measures. */
static uint32_t ticks_now(void)
{
    uint32_t ticks, ms = clock_read(&ticks);
    return ms * TICKS_PER_MS + ticks;
}

uint32_t pn_hw_micros(void)
{
    uint32_t ticks, ms = clock_read(&ticks);
    return ms * 1000u + ticks / TICKS_PER_US;
}

static void uart_put(uint32_t base, uint8_t byte)
{
    while (REG(base + UART_FR) & FR_TXFF) {
    }
    REG(base + UART_DR) = byte;
}

static uint8_t uart_get(uint32_t base)
{
    while (REG(base + UART_FR) & FR_RXFE) {
    }
    return (uint8_t)REG(base + UART_DR);
}

/* Moves what the FIFO can take from the software ring to UART0. */
static void tx_pump(void)
{
    while (tx_tail != tx_head && !(REG(UART0_BASE + UART_FR) & FR_TXFF)) {
        REG(UART0_BASE + UART_DR) = tx_ring[tx_tail];
        tx_tail = (tx_tail + 1u) & RING_MASK;
    }
}

void pn_hw_write(const uint8_t *buf, uint8_t n)
{
    while (n--) {
        uint32_t next = (tx_head + 1u) & RING_MASK;
        while (next == tx_tail) {
            tx_pump();
        }
        tx_ring[tx_head] = *buf++;
        tx_head = next;
    }
    tx_pump();
}

uint8_t pn_hw_tx_room(void)
{
    return (uint8_t)((tx_tail - tx_head - 1u) & RING_MASK);
}

/* Stale bytes (an answer that came after a restart) are dropped before each request. */
uint16_t pn_hw_adc(uint8_t pixel)
{
    uint8_t low;
    while (!(REG(UART1_BASE + UART_FR) & FR_RXFE)) {
        (void)REG(UART1_BASE + UART_DR);
    }
    uart_put(UART1_BASE, pixel);
    low = uart_get(UART1_BASE);
    return (uint16_t)(low | ((uint16_t)uart_get(UART1_BASE) << 8));
}

/* Interrupts wait while an inference runs (at most tens of microseconds, far less than
 * the receive FIFO's 16 bytes last), so its time is its own: the same input, the same count. */
void pn_hw_mark_inference(uint8_t on)
{
    uint32_t ticks;
    uint8_t i;
    if (on) {
        irq_off();
        mark_start = ticks_now();
        return;
    }
    ticks = ticks_now() - mark_start;
    irq_on();
    uart_put(UART1_BASE, SENSOR_MARK_REPORT);
    for (i = 0; i < 4; i++) {
        uart_put(UART1_BASE, (uint8_t)(ticks >> (8u * i)));
    }
}

/* A missing or short file reads as blank (0xFF), like an erased flash page. */
void pn_hw_store_read(uint8_t *buf, uint8_t n)
{
    uint32_t got = 0;
    int32_t file = pn_semihost_open(CAL_FILE, 0);
    if (file >= 0) {
        got = pn_semihost_read(file, buf, n);
        pn_semihost_close(file);
    }
    for (; got < n; got++) {
        buf[got] = 0xFF;
    }
}

void pn_hw_store_write(const uint8_t *buf, uint8_t n)
{
    int32_t file = pn_semihost_open(CAL_FILE, 1);
    if (file >= 0) {
        (void)pn_semihost_write(file, buf, n);
        pn_semihost_close(file);
    }
}

void pn_hw_restart(void)
{
    while (tx_tail != tx_head) {
        tx_pump();
    }
    while (REG(UART0_BASE + UART_FR) & FR_BUSY) {
    }
    SCB_AIRCR = AIRCR_SYSRESETREQ;
    for (;;) {
    }
}

static void clock_init(void)
{
    uint32_t rcc = SYSCTL_RCC, polls;
    rcc = (rcc | RCC_BYPASS) & ~RCC_USESYSDIV; /* run from the crystal while the PLL starts */
    SYSCTL_RCC = rcc;
    rcc = (rcc & ~(RCC_XTAL_MASK | RCC_OSCSRC_MASK | RCC_PWRDN)) | RCC_XTAL_8MHZ;
    SYSCTL_RCC = rcc;
    rcc = (rcc & ~RCC_SYSDIV_MASK) | RCC_SYSDIV_4 | RCC_USESYSDIV;
    SYSCTL_RCC = rcc;
    for (polls = 0; polls < PLL_LOCK_POLLS && !(SYSCTL_RIS & RIS_PLL_LOCKED); polls++) {
    }
    SYSCTL_RCC = rcc & ~RCC_BYPASS;
}

/* The divisor F_CPU / (16 * baud) as its integer part and its fraction in 64ths, rounded
 * (115200: 27 + 8/64, 0.02% off; the faster lines are exact at 50 MHz). The PL011 takes
 * a new divisor when LCRH is written after it, with the UART disabled. */
static void uart_init(uint32_t base, uint32_t baud)
{
    uint32_t divisor_x64 = (4u * F_CPU + baud / 2u) / baud;
    REG(base + UART_CTL) = 0;
    REG(base + UART_IBRD) = divisor_x64 / 64u;
    REG(base + UART_FBRD) = divisor_x64 % 64u;
    REG(base + UART_LCRH) = LCRH_8N1_FIFO;
    REG(base + UART_CTL) = CTL_ENABLE;
}

/* The host's line at protocol 2's speeds (PROTOCOL.md, Version 2), as on the Uno. */
uint8_t pn_hw_baud_supported(uint32_t baud)
{
    return baud == 115200u || baud == 250000u || baud == 500000u || baud == 1000000u;
}

uint32_t pn_hw_baud(void)
{
    return line_baud;
}

/* What is queued leaves at the old speed (the ACK of BAUD among it), then the switch. */
void pn_hw_set_baud(uint32_t baud)
{
    while (tx_tail != tx_head) {
        tx_pump();
    }
    while (REG(UART0_BASE + UART_FR) & FR_BUSY) {
    }
    uart_init(UART0_BASE, baud);
    line_baud = baud;
}

static void hardware_init(void)
{
    clock_init();
    SYSCTL_RCGC0 |= RCGC0_WDT;
    SYSCTL_RCGC1 |= RCGC1_UART0 | RCGC1_UART1;
    SYSCTL_RCGC2 |= RCGC2_GPIOA | RCGC2_GPIOD;
    REG(GPIOA_BASE + GPIO_AFSEL) |= 0x03u;
    REG(GPIOA_BASE + GPIO_DEN) |= 0x03u;
    REG(GPIOD_BASE + GPIO_AFSEL) |= 0x0Cu;
    REG(GPIOD_BASE + GPIO_DEN) |= 0x0Cu;
    uart_init(UART0_BASE, BAUD);
    uart_init(UART1_BASE, BAUD);
    REG(UART0_BASE + UART_IM) = IM_RX_AND_TIMEOUT;
    NVIC_ISER0 = 1u << UART0_IRQ;
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE_INT_CPUCLK;
    WDT_LOCK = WDT_UNLOCK;
    WDT_LOAD = WDT_TIMEOUT_TICKS;
    WDT_CTL = WDT_CTL_INT_AND_RESET;
}

static void watchdog_feed(void)
{
    WDT_ICR = 1; /* any write reloads the counter */
}

int main(void)
{
    hardware_init();
    irq_on();
    pn_app_boot();
    for (;;) {
        uint32_t n, sent_before = tx_head;
        watchdog_feed();
        for (n = 0; n < BYTES_PER_LOOP && rx_tail != rx_head; n++) {
            uint8_t byte = rx_ring[rx_tail];
            rx_tail = (rx_tail + 1u) & RING_MASK;
            pn_app_on_byte(byte);
        }
        pn_app_poll();
        tx_pump();
        irq_off();
        if (n == 0 && tx_head == sent_before && rx_tail == rx_head) {
            __asm__ volatile("wfi"); /* an interrupt pending after irq_off still wakes it */
        }
        irq_on();
    }
}
