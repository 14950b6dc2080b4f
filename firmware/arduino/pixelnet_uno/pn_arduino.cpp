/* The hardware hooks of pn_hw.h on the Arduino core: analogRead, micros, and on a chip whose
 * Serial is native USB (the Leonardo's ATmega32u4) the serial line through Serial. Every
 * other chip has the host on UART0, which pn_uart0.c drives without Serial (it says why).
 * (In a .cpp rather than the .ino, so the IDE's prototype generation never touches them.) */
#include <Arduino.h>

#include "pn_avr.h"
#include "pn_hw.h"

extern "C" {

uint16_t pn_hw_adc(uint8_t pixel)
{
    return (uint16_t)analogRead(A0 + pixel);
}

uint32_t pn_hw_micros(void)
{
    return micros();
}

#ifdef USBCON
static uint32_t line_baud = 115200;

void pn_avr_line_begin(void)
{
    Serial.begin(line_baud);
}

uint8_t pn_avr_line_available(void)
{
    return Serial.available() > 0;
}

uint8_t pn_avr_line_read(void)
{
    return (uint8_t)Serial.read();
}

void pn_avr_line_drain(void)
{
    Serial.flush();
}

void pn_hw_write(const uint8_t *buf, uint8_t n)
{
    Serial.write(buf, n);
}

uint8_t pn_hw_tx_room(void)
{
    return (uint8_t)Serial.availableForWrite();
}

uint8_t pn_hw_baud_supported(uint32_t baud)
{
    return pn_avr_baud_supported(baud);
}

uint32_t pn_hw_baud(void)
{
    return line_baud;
}

/* Over native USB the line speed is nominal (CDC moves bytes as fast as USB does); the board
 * takes the speeds the UART0 boards take, so a host treats every AVR board alike. */
void pn_hw_set_baud(uint32_t baud)
{
    Serial.flush();
    Serial.begin(baud);
    line_baud = baud;
}
#endif

}  // extern "C"
