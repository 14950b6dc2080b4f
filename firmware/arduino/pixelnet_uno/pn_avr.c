/* See pn_avr.h. The EEPROM half of pn_hw.h lives here because it is the same on both builds. */
#include "pn_avr.h"

#include <avr/eeprom.h>
#include <avr/io.h>
#include <avr/wdt.h>

#include "pn_hw.h"

#define CAL_EEPROM_ADDR ((uint8_t *)0)

/* After a watchdog reset the watchdog stays armed at its shortest timeout:
 * disarm it before the C runtime and setup()/main() run. */
void pn_avr_disarm_watchdog(void) __attribute__((naked, used, section(".init3")));
void pn_avr_disarm_watchdog(void)
{
    MCUSR = 0;
    wdt_disable();
}

void pn_avr_watchdog_on(void)
{
    wdt_enable(WDTO_1S);
}

void pn_avr_restart(void)
{
    wdt_enable(WDTO_15MS);
    for (;;) {
    }
}

void pn_hw_store_read(uint8_t *buf, uint8_t n)
{
    eeprom_read_block(buf, CAL_EEPROM_ADDR, n);
}

void pn_hw_store_write(const uint8_t *buf, uint8_t n)
{
    eeprom_update_block(buf, CAL_EEPROM_ADDR, n);
}

uint8_t pn_avr_baud_supported(uint32_t baud)
{
    return baud == UINT32_C(115200) || baud == UINT32_C(250000) || baud == UINT32_C(500000)
           || baud == UINT32_C(1000000);
}

uint16_t pn_avr_ubrr_u2x(uint32_t baud)
{
    return (uint16_t)((F_CPU / 4u / baud - 1u) / 2u);
}
