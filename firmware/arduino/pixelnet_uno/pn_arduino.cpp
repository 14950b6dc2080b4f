/* The hardware hooks of pn_hw.h on the Arduino core: Serial, analogRead, micros.
 * (In a .cpp rather than the .ino, so the IDE's prototype generation never touches them.) */
#include <Arduino.h>

#include "pn_avr.h"
#include "pn_hw.h"

extern "C" {

void pn_hw_write(const uint8_t *buf, uint8_t n)
{
    Serial.write(buf, n);
}

uint8_t pn_hw_tx_room(void)
{
    return (uint8_t)Serial.availableForWrite();
}

uint16_t pn_hw_adc(uint8_t pixel)
{
    return (uint16_t)analogRead(A0 + pixel);
}

uint32_t pn_hw_micros(void)
{
    return micros();
}

static uint32_t line_baud = 115200;

uint8_t pn_hw_baud_supported(uint32_t baud)
{
    return pn_avr_baud_supported(baud);
}

uint32_t pn_hw_baud(void)
{
    return line_baud;
}

/* Serial.begin picks U2X and UBRR itself: exact for every speed pn_avr_baud_supported takes. */
void pn_hw_set_baud(uint32_t baud)
{
    Serial.flush();
    Serial.begin(baud);
    line_baud = baud;
}

void pn_hw_restart(void)
{
    Serial.flush();
    pn_avr_restart();
}

}  // extern "C"
