/* Text mode: a person at the Serial Monitor (or any terminal) on the same line as the
 * binary protocol (../../PROTOCOL.md, "Text mode"). Board-independent, like pn_app.c. */
#ifndef PN_TEXT_H
#define PN_TEXT_H

#include <stdint.h>

#include "pn_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Watches every received byte before the frame receiver does. Returns 1 when the byte
 * ended (or trails) a text command line, which it has answered: the caller then drops
 * its partial frame instead of receiving the byte. */
uint8_t pn_text_on_byte(uint8_t byte);
/* A valid binary frame arrived: leave text mode (a lone 0x00 ends the text for the host). */
void pn_text_leave(void);
/* 1 while text mode is on (binary streaming and binary error replies are off). */
uint8_t pn_text_active(void);
/* Call often: prints the next text line when `start` asked for them. */
void pn_text_poll(void);
/* Forget everything received (boot). */
void pn_text_boot(void);

/* From pn_app.c: one reading of the sensor through the model; returns the class. */
uint8_t pn_app_measure(uint16_t adc[4], pn_act_t out[PN_N_OUTPUTS]);

#ifdef __cplusplus
}
#endif
#endif
