/* Names of the generated model (pixelnet_model.h, see codegen/API.md) and of the
 * Arduino library header around it (pixelnet.h: class names, output scale) under any
 * prefix. `pixelnet build --prefix NAME` passes PN_MODEL_HEADER, PN_LIBRARY_HEADER,
 * PN_PREFIX and PN_PREFIX_UPPER; the Arduino IDE uses the default prefix `pixelnet`. */
#ifndef PN_MODEL_H
#define PN_MODEL_H

#ifndef PN_PREFIX
#define PN_MODEL_HEADER "pixelnet_model.h"
#define PN_LIBRARY_HEADER "pixelnet.h"
#define PN_PREFIX pixelnet
#define PN_PREFIX_UPPER PIXELNET
#endif

#include PN_MODEL_HEADER
#include PN_LIBRARY_HEADER

#define PN_CAT_(a, b) a##b
#define PN_CAT(a, b) PN_CAT_(a, b)
#define PN_FN(suffix) PN_CAT(PN_PREFIX, suffix)
#define PN_DEF(suffix) PN_CAT(PN_PREFIX_UPPER, suffix)

#define PN_N_INPUTS PN_DEF(_N_INPUTS)
#define PN_N_OUTPUTS PN_DEF(_N_OUTPUTS)
#define PN_N_LAYERS PN_DEF(_N_LAYERS)
#define PN_TRACE_LEN PN_DEF(_TRACE_LEN)
#define PN_FORMAT PN_DEF(_FORMAT)
#define PN_FORMAT_ID PN_DEF(_FORMAT_ID)
#define PN_MODEL_HASH_INIT PN_DEF(_MODEL_HASH_INIT)
#define PN_LAYER_SIZES_INIT PN_DEF(_LAYER_SIZES_INIT)
typedef PN_FN(_act_t) pn_act_t;
typedef PN_FN(_calib_t) pn_calib_t;
#define pn_calib_init PN_FN(_calib_init)
#define pn_preprocess PN_FN(_preprocess)
#define pn_infer PN_FN(_infer)
#define pn_infer_trace PN_FN(_infer_trace)
#define pn_class_names PN_FN(_class_names)
#define PN_OUTPUT_FRAC PN_DEF(_OUTPUT_FRAC)

#endif
