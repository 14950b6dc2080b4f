/* Stamps chip and clock into the ELF for simavr (the virtual boards). `pixelnet build`
 * defines PN_EMBED_MCU_INFO where simavr's header is installed, and PN_MCU_NAME from the
 * board table; the section is not part of the flash image. (C, not C++: the macro uses
 * designated initialisers.) */
#ifdef PN_EMBED_MCU_INFO
#include <avr/avr_mcu_section.h>
#ifndef PN_MCU_NAME
#define PN_MCU_NAME "atmega328p"
#endif
AVR_MCU(F_CPU, PN_MCU_NAME);
#else
typedef int pn_no_mcu_info; /* ISO C forbids an empty translation unit */
#endif
