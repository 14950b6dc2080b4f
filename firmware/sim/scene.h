/* The simulated photodiode array: scene physics and the commands that change it.
 * The model is written down in SCENE.md; the MicroPython board implements the same. */
#ifndef VUNO_SCENE_H
#define VUNO_SCENE_H

#include <stdint.h>

#define SCENE_PIXELS 4
#define SCENE_ADC_MAX 1023

typedef struct {
	double intensity[SCENE_PIXELS]; /* s_i in [-1, 1]: white +1, black -1 */
	double light;
	double gain[SCENE_PIXELS];
	double offset[SCENE_PIXELS];
	double noise;                   /* standard deviation, as a fraction of full scale */
	uint64_t rng;                   /* xorshift64* state, never 0 */
	int have_spare;                 /* Box-Muller makes normals in pairs */
	double spare;
} scene_t;

void scene_init(scene_t *scene);

/* Applies one physics command (scene, pixels, light, gain, offset, noise, seed).
 * Returns NULL on success, else why it was refused (the scene is then unchanged);
 * unknown verbs get an error too, so the caller tries its own verbs first. */
const char *scene_command(scene_t *scene, const char *verb, const char *args);

/* The ADC count pixel i reads now: floor(v_i * 1023), noise drawn afresh. */
unsigned scene_adc_count(scene_t *scene, int pixel);

#endif
