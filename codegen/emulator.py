"""The integer emulator: the numeric contract, and its reference implementation.

Everything a board computes is defined here, bit for bit; generated C (host gcc,
avr-gcc in simavr) and generated MicroPython must give the same integers.

Formats
    ``q7``: activations and weights int8; ``q15``: int16; ``16x8``: activations
    int16 and weights int8 (as TensorFlow Lite's 16x8 quantisation: everything that
    follows is q15's, only the weights' range is q7's). An activation ``a``
    with ``f`` fractional bits means ``a / 2**f``; every range is symmetric,
    ``[-A, A]`` with ``A = 2**bits - 1`` (127 or 32767), so negating never
    overflows. Inputs, tanh and logistic outputs have ``bits`` fractional bits
    (+1.0 saturates to 127/128 or 32767/32768).

Scales (chosen by ``quantize``, from the model alone)
    Per layer, the weights get ``wf`` fractional bits: the fewest that
    represent every weight exactly if they fit (ternary weights become -1, 0,
    +1), else the most that fit ``[-A, A]`` (16x8: ``[-127, 127]``), reduced until
    the accumulator provably fits 32 bits. The accumulator ``acc = x @ W + b`` has
    ``in_frac + wf`` fractional bits; biases are stored at that scale and width.
    Interval analysis over the input box ``[-1, 1]^4`` (propagated per unit,
    exactly, on the integers) bounds every accumulator and every partial sum
    (``|b| + sum |w| * max|x|``): q7 takes the most precise weight scale whose
    accumulator fits int16 (int8 where the bound is <= 127), else int32; q15
    and 16x8 use int32. Relu and identity outputs take the smallest
    right shift (negative = left) that brings the bound within ``[-A, A]``.
    Weights that are exact at some scale (powers of two, ternary) take that scale
    first, then coarser ones if the accumulator needs them. A tanh/logistic layer
    takes at most the weight bits that keep the table's right shift <= 31 (finer
    bits would be shifted out); its left shift is at most 20 (``MIN_TABLE_SHIFT``:
    any nonzero accumulator already reads the table's end there).

Rounding and saturation
    Every narrowing rounds half away from zero on the magnitude:
    ``sign(v) * ((|v| + 2**(r-1)) >> r)``, so no negative number is ever
    shifted. A left shift is a multiplication by ``2**k``. Relu and identity
    outputs saturate to ``[-A, A]`` (the generated code omits the clamp where
    the bound proves it cannot trigger). Weights and biases are rounded half
    away from zero when quantised.

tanh and logistic
    One table per format of nodes ``T[k] = round(tanh(z_k) * 2**bits)``
    (saturated at ``A``), read at position ``p = round(|acc| * 2**-shift)``, which
    has ``P = s + G`` fractional bits of z: ``h = 2**-s`` between head nodes and
    ``G = 8`` bits between two nodes (so on AVR the index and the fraction are
    the two bytes of p). q7: h = 1/8, z in [0, 4], 33 int8 entries. q15: h = 1/32
    up to the tail node ``K = 80`` (z = 2.5), then ``4h = 1/8`` (tanh is flat
    there) up to z = 6: 109 int16 entries instead of 193 (the 1 KiB flash target).
    Head (``p < K * 2**G``): ``i = p >> G``, ``f = p & (2**G - 1)``. Tail:
    ``q = p - K * 2**G``, ``i = K + (q >> (G + 2))``, ``f = (q >> 2) & (2**G - 1)``
    (the two dropped bits cost < 0.5 LSB: tanh' < 0.03 there). ``i >= N`` (the
    last node) gives ``T[N]``; otherwise ``T[i] + ((T[i+1] - T[i]) * f +
    2**(G-1)) >> G``; negative ``acc`` negates. Positions past the table are
    clamped before a left shift. A layer whose accumulator bound is at most 255
    (``DIRECT_MAX``; the lesson's ternary layers) reads instead ``D[|acc|]`` with
    ``D[k] = round(tanh(k * 2**-f) * 2**bits)``, ``f`` the accumulator's
    fractional bits: one flash read, each entry rounded (saturation at ``A`` adds
    at most one LSB). Logistic is ``(tanh_q(z / 2) + 2**bits) >> 1`` (reads tanh
    one bit further).
    Error against the float function (``TANH_MAX_ERROR``, tested over dense
    sweeps): interpolation <= step**2/8 * max|tanh''| (0.096 h**2 near 0; in the
    q15 tail max|tanh''| = 0.053, so 3.4 LSB), plus half an LSB for the table,
    half for the interpolation and the rounding of the position: at most 1.5 LSB
    (q7; 1.0 measured) and 6 LSB (q15; 3.9 measured at the table positions).
    Logistic: half of it plus one LSB. Direct tables: 1 LSB.

Preprocessing (ADC counts to the input vector; no division per inference)
    Defined for every calibration and reading in 0..65535. Per pixel, ``dark``
    reads as -1 and ``bright`` as +1, linearly in between, whichever is larger
    (a pair with ``dark > bright``, a sensor whose counts fall with light, maps
    the same way: counts at or above ``dark`` read -1). With
    ``span = |bright - dark|``, ``calib_init`` computes ``m = round(2**31 / span)``
    (the only division; ``m = 0`` when ``span = 0``). Per reading:
    ``v = |clamp(adc, min(dark, bright), max(dark, bright)) - dark|``;
    ``x = sat(((v * m + 2**(K-1)) >> K) - 2**bits)`` with ``K = 30 - bits``;
    ``v * m <= span * m <= 2**31 + span / 2 < 2**32``, so it fits uint32. A pixel with
    ``dark == bright`` has no contrast to measure and reads 0 (grey) whatever the count.
    Against the exact linear map the result is within 1 LSB for spans up to 1023 (the
    ADC's), within 1.5 LSB for any span (q15 at a 16-bit span: ``m`` has 15 bits).
    The firmware asks for ``bright - dark >= 16`` when it calibrates; the generated code
    does not rely on it.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from pixelnet.errors import PixelnetError

from .quantize import (
    DIRECT_MAX,
    QuantizedModel,
    QuantLayer,
    direct_table,
    get_format,
    round_half_away,
    tanh_table,
)

COUNT_MAX = 0xFFFF  # calibrations and readings are uint16 in the generated code
CALIB_ONE_BITS = 31  # m = round(2**31 / span)
LUT_MAX = 1 << 16  # accumulators this small are activated through a memoised table
# in LSB of the output format (bounds, see above; 16x8 reads q15's table)
TANH_MAX_ERROR = {"q7": 1.5, "q15": 6.0, "16x8": 6.0}


class CalibrationError(PixelnetError):
    """A dark/bright calibration the preprocessing cannot use."""


def calib_shift(fmt: str) -> int:
    """K in the preprocessing: ((v * m + 2**(K-1)) >> K) has ``bits + 1`` integer bits."""
    return CALIB_ONE_BITS - 1 - get_format(fmt).bits


def _counts(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    if np.any(values < 0) or np.any(values > COUNT_MAX):
        raise CalibrationError(f"{what} counts must be within 0..{COUNT_MAX}")
    return values


CALIB_SPLIT_BITS = 12  # the MicroPython module splits m at this bit (see split_calibration)


def split_calibration(v: np.ndarray, m: np.ndarray, k: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(v * m + 2**(k-1)) >> k`` as the generated MicroPython computes it, for boards whose
    small ints are 31-bit: m = hi * 2**S + lo (S = CALIB_SPLIT_BITS), then
    ``(v * hi + ((v * lo + 2**(k-1)) >> S)) >> (k - S)`` — equal for every integer v >= 0
    because floor(floor(y / 2**S) / 2**(k-S)) = floor(y / 2**k). Returns the result and
    every intermediate, so a test can bound them all below 2**30 (no long int)."""
    hi, lo = m >> CALIB_SPLIT_BITS, m & ((1 << CALIB_SPLIT_BITS) - 1)
    low = v * lo + (1 << (k - 1))
    total = v * hi + (low >> CALIB_SPLIT_BITS)
    return total >> (k - CALIB_SPLIT_BITS), [hi, lo, v * lo, low, v * hi, total]


def calib_multipliers(dark: np.ndarray, bright: np.ndarray) -> np.ndarray:
    """m = round(2**31 / |bright - dark|) per pixel (0 where they are equal), as
    ``calib_init`` computes it."""
    dark, bright = _counts(dark, "dark"), _counts(bright, "bright")
    if dark.shape != (4,) or bright.shape != (4,):
        raise CalibrationError("calibration needs 4 dark and 4 bright counts")
    span = np.abs(bright - dark)
    one = np.int64(1) << CALIB_ONE_BITS
    return np.where(span > 0, (one + span // 2) // np.maximum(span, 1), 0)


def average_counts(readings: np.ndarray) -> np.ndarray:
    """A board's averaged reading: per pixel the mean of n readings [n, 4], rounded half up.

    ``(sum + n // 2) // n`` in integers (rounding, not truncation: a truncating
    board reads half a count low on average). The sum of 64 readings of 1023
    fits 16 bits, so the Uno sums in a uint16_t.
    """
    readings = np.asarray(readings, dtype=np.int64)
    if readings.ndim != 2 or len(readings) == 0:
        raise ValueError("readings must be a non-empty [n, pixels] array")
    n = len(readings)
    return (readings.sum(axis=0) + n // 2) // n


def preprocess(qm: QuantizedModel, adc: np.ndarray, dark: np.ndarray, bright: np.ndarray):
    """Raw counts [N, 4] -> input vectors [N, 4] in the model's input format (any
    calibration: see the module docstring)."""
    f = qm.format
    m = calib_multipliers(dark, bright)
    dark, bright = np.asarray(dark, dtype=np.int64), np.asarray(bright, dtype=np.int64)
    adc = _counts(adc, "ADC")
    v = np.abs(np.clip(adc, np.minimum(dark, bright), np.maximum(dark, bright)) - dark)
    k = calib_shift(qm.fmt)
    x = ((v * m + (1 << (k - 1))) >> k) - (1 << f.bits)
    return np.where(m > 0, np.clip(x, -f.act_max, f.act_max), 0)


def quantize_inputs(qm: QuantizedModel, x: np.ndarray) -> np.ndarray:
    """Float inputs in [-1, 1] -> the input format (rounded, saturated)."""
    f = qm.format
    scaled = round_half_away(np.asarray(x, dtype=np.float64) * (1 << f.bits))
    return np.clip(scaled, -f.act_max, f.act_max).astype(np.int64)


def _magnitude_shift(mag: np.ndarray, shift: int) -> np.ndarray:
    if shift > 0:
        return (mag + (1 << (shift - 1))) >> shift
    return mag << -shift


@cache
def _tanh_at_positions(fmt: str) -> np.ndarray:
    """tanh_q at every table position 0..position_max: linear between table nodes."""
    f = get_format(fmt)
    table = np.asarray(tanh_table(fmt), dtype=np.int64)
    p = np.arange(f.position_max + 1, dtype=np.int64)
    q = p - f.tail_start  # in the tail: the node and the fraction, tail_bits coarser
    tail = q >= 0
    i = np.where(tail, f.tail_node + (q >> (f.interp_bits + f.tail_bits)), p >> f.interp_bits)
    frac = np.where(tail, q >> f.tail_bits, p) & ((1 << f.interp_bits) - 1)
    step = table[np.minimum(i + 1, f.table_nodes)] - table[i]
    return table[i] + ((step * frac + (1 << (f.interp_bits - 1))) >> f.interp_bits)


def _tanh_q(acc: np.ndarray, shift: int, fmt: str) -> np.ndarray:
    f = get_format(fmt)
    mag = np.abs(acc)
    if shift < 0:
        mag = np.minimum(mag, (f.position_max >> -shift) + 1)
    p = np.minimum(_magnitude_shift(mag, shift), f.position_max)
    y = _tanh_at_positions(fmt).take(p)
    return np.where(acc < 0, -y, y)


def _tanh_of(acc: np.ndarray, shift: int, direct: bool, table_frac: int, fmt: str):
    if direct:
        table = np.asarray(direct_table(fmt, table_frac, DIRECT_MAX + 1), dtype=np.int64)
        y = table[np.abs(acc)]
        return np.where(acc < 0, -y, y)
    return _tanh_q(acc, shift, fmt)


def _activate(acc: np.ndarray, activation: str, shift: int, direct: bool, table_frac: int,
              fmt: str) -> np.ndarray:
    """The reference activation of integer accumulators (see the module docstring)."""
    f = get_format(fmt)
    if activation == "tanh":
        return _tanh_of(acc, shift, direct, table_frac, fmt)
    if activation == "logistic":
        return (_tanh_of(acc, shift, direct, table_frac, fmt) + (1 << f.bits)) >> 1
    mag = _magnitude_shift(np.abs(acc), shift)
    out = np.minimum(mag, f.act_max)
    if activation == "relu":
        return np.where(acc > 0, out, 0)
    return np.where(acc < 0, -out, out)


def activate(layer: QuantLayer, acc: np.ndarray, fmt: str) -> np.ndarray:
    """The layer's integer activation of integer accumulators ``acc`` (any shape)."""
    return _activate(np.asarray(acc, dtype=np.int64), layer.activation, layer.shift,
                     layer.direct, layer.table_frac, fmt)


@lru_cache(maxsize=64)  # up to 256 KiB each
def _activation_lut(activation: str, shift: int, direct: bool, table_frac: int, fmt: str,
                    bound: int) -> np.ndarray:
    """``_activate`` of every accumulator value -bound..bound, memoised: one take per layer."""
    acc = np.arange(-bound, bound + 1, dtype=np.int64)
    values = _activate(acc, activation, shift, direct, table_frac, fmt)
    return values.astype(np.int8 if get_format(fmt).bits == 7 else np.int16)  # cache-sized


def _accumulate(layer: QuantLayer, x: np.ndarray, dtype: type) -> np.ndarray:
    """x @ W + b, exactly, one input column at a time (no BLAS threads on a busy machine)."""
    weights = layer.weights.astype(dtype)
    acc = np.broadcast_to(layer.biases.astype(dtype), (len(x), layer.n_out)).copy()
    for i in range(layer.n_in):
        acc += x[:, i : i + 1].astype(dtype) * weights[i]
    return acc


def _layer(layer: QuantLayer, x: np.ndarray, fmt: str) -> np.ndarray:
    key = (layer.activation, layer.shift, layer.direct, layer.table_frac, fmt)
    if layer.acc_bound <= LUT_MAX:  # int32 cannot overflow: |partial sums| <= the bound
        lut = _activation_lut(*key, layer.acc_bound)
        return lut.take(_accumulate(layer, x, np.int32) + layer.acc_bound)
    return _activate(_accumulate(layer, x, np.int64), *key)


def infer_trace(qm: QuantizedModel, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's integer activations for inputs ``x`` [N, n_in] (input format)."""
    a = np.atleast_2d(np.asarray(x, dtype=np.int64))
    f = qm.format
    if a.shape[1] != qm.n_inputs:
        raise ValueError(f"inputs have {a.shape[1]} columns, the model takes {qm.n_inputs}")
    if np.any(np.abs(a) > f.act_max):
        raise ValueError(f"inputs outside the {qm.fmt} range [-{f.act_max}, {f.act_max}]")
    out = []
    for layer in qm.layers:
        a = _layer(layer, a, qm.fmt)
        out.append(a)
    return [layer_out.astype(np.int64) for layer_out in out]


def infer(qm: QuantizedModel, x: np.ndarray) -> np.ndarray:
    """The integer outputs [N, n_out] for inputs ``x`` [N, n_in] in the input format."""
    return infer_trace(qm, x)[-1]


def classify(out: np.ndarray) -> np.ndarray:
    """The class of each output row: argmax, the first on ties."""
    return np.argmax(np.asarray(out), axis=-1)


def dequantize_outputs(qm: QuantizedModel, out: np.ndarray) -> np.ndarray:
    """Integer outputs -> the float values they stand for."""
    return np.asarray(out, dtype=np.float64) * 2.0 ** -qm.layers[-1].out_frac
