/* Text mode: a person at the Serial Monitor (or any terminal) on the same line as the
 * binary protocol (../../PROTOCOL.md, "Text mode"). Board-independent, like pn_app.c. */
#ifndef PN_TEXT_H
#define PN_TEXT_H

#include <stdint.h>

#include "pn_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a received byte meant to text mode. */
enum {
    PN_TEXT_NONE = 0, /* nothing: the frame receiver's byte */
    PN_TEXT_SKIP,     /* trails a command line (the LF of CR LF, blank lines): drop it */
    PN_TEXT_LINE,     /* ended a command line, answered: stop any stream */
    PN_TEXT_START     /* ended `start`: stream text lines at PN_TEXT_RATE */
};
#define PN_TEXT_RATE 10u /* lines a second after `start` */

/* Watches every received byte before the frame receiver does; on anything but
 * PN_TEXT_NONE the caller drops its partial frame instead of receiving the byte. */
uint8_t pn_text_on_byte(uint8_t byte);
/* A valid binary frame arrived: leave text mode (a lone 0x00 ends the text for the host). */
void pn_text_leave(void);
/* 1 while text mode is on (binary streaming and binary error replies are off). */
uint8_t pn_text_active(void);
/* One text line (class and outputs) from a reading of the sensor: the stream's sample
 * while text mode is on. */
void pn_text_sample(void);
/* Forget everything received (boot). */
void pn_text_boot(void);

/* From pn_app.c: one reading of the sensor through the model; returns the class. */
uint8_t pn_app_measure(uint16_t adc[4], pn_act_t out[PN_N_OUTPUTS]);

#ifdef __cplusplus
}
#endif
#endif
