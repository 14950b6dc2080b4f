/* Stamps chip and clock into the ELF for simavr (the virtual Uno). `pixelnet build`
 * defines PN_EMBED_MCU_INFO where simavr's header is installed; the section is not
 * part of the flash image. (C, not C++: the macro uses designated initialisers.) */
#ifdef PN_EMBED_MCU_INFO
#include <avr/avr_mcu_section.h>
AVR_MCU(F_CPU, "atmega328p");
#else
typedef int pn_no_mcu_info; /* ISO C forbids an empty translation unit */
#endif
