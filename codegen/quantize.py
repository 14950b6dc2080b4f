"""Quantisation: a float Model becomes integer weights, shifts and tables.

``quantize(model, fmt)`` is a pure function of the model's arithmetic and the
format, so the host re-derives exactly what a board runs from the model file
alone. Scales come from interval analysis over the input box [-1, 1]^4, never
from data: the same model always gives the same integers. The numbers are
explained in ``pixelnet.codegen.emulator`` (the numeric contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from pixelnet.errors import PixelnetError
from pixelnet.trainer.model_file import Model


class QuantizeError(PixelnetError):
    """A model that cannot be represented in the requested number format."""


@dataclass(frozen=True)
class Format:
    """One number format: activation/weight width and the tanh table it uses."""

    name: str
    bits: int  # fractional bits of inputs, tanh and logistic outputs: 7 or 15
    table_step_bits: int  # tanh table nodes every 2**-table_step_bits (the head)
    table_max: int  # tanh table covers z in [0, table_max]
    interp_bits: int  # fractional bits of the position between two nodes
    tail_node: int  # nodes from here on (the tail, where tanh is flat) are 2**tail_bits apart
    tail_bits: int = 0
    weight_bits: int = 0  # magnitude bits of a weight; 0: as many as an activation's

    @property
    def weight_max(self) -> int:
        """Largest weight magnitude: the weights' range is [-weight_max, weight_max]."""
        return (1 << (self.weight_bits or self.bits)) - 1

    @property
    def weight_bytes(self) -> int:
        """Bytes of one weight in the generated code (int8 or int16)."""
        return 1 if self.weight_max < 0x80 else 2

    @property
    def protocol_id(self) -> int:
        """The format byte a board reports in its handshake: the activations' bits, plus
        0x80 where the weights are narrower than the activations (16x8: 0x8F)."""
        return self.bits | (0x80 if self.weight_bytes < self.act_bytes else 0)

    @property
    def act_bytes(self) -> int:
        """Bytes of one activation in the generated code (int8 or int16)."""
        return 1 if self.bits == 7 else 2

    @property
    def act_max(self) -> int:
        """Largest activation; the range is symmetric [-act_max, act_max]."""
        return (1 << self.bits) - 1

    @property
    def table_nodes(self) -> int:
        """Index of the last table entry (the saturated value)."""
        head_steps = self.table_max << self.table_step_bits
        return self.tail_node + ((head_steps - self.tail_node) >> self.tail_bits)

    @property
    def tail_start(self) -> int:
        """The position of the first tail node."""
        return self.tail_node << self.interp_bits

    @property
    def position_bits(self) -> int:
        """Fractional bits of z at which the table is read."""
        return self.table_step_bits + self.interp_bits

    @property
    def position_max(self) -> int:
        """Positions at or past this read the last entry."""
        return self.table_max << self.position_bits

    def node_z(self) -> np.ndarray:
        """z of every table node: 2**-table_step_bits apart, 2**tail_bits times that in the tail."""
        k = np.arange(self.table_nodes + 1, dtype=np.float64)
        tail = k > self.tail_node
        steps = np.where(tail, self.tail_node + (k - self.tail_node) * (1 << self.tail_bits), k)
        return steps / (1 << self.table_step_bits)


FORMATS: dict[str, Format] = {
    "q7": Format("q7", 7, table_step_bits=3, table_max=4, interp_bits=8, tail_node=32),
    # q15: 1/32 apart up to z = 2.5, then 1/8 (109 entries, not 193: the flash target)
    "q15": Format("q15", 15, table_step_bits=5, table_max=6, interp_bits=8, tail_node=80,
                  tail_bits=2),
    # 16x8 (as TensorFlow Lite's 16x8 quantisation): q15's activations and tables, q7's
    # int8 weights: half the weight flash, and a 16 x 8 multiply per weight on AVR
    "16x8": Format("16x8", 15, table_step_bits=5, table_max=6, interp_bits=8, tail_node=80,
                   tail_bits=2, weight_bits=7),
}
ACC32_MAX = (1 << 31) - 1
ACC16_MAX = (1 << 15) - 1
ACC8_MAX = (1 << 7) - 1
FRAC_SEARCH = range(-160, 160)  # weight scales tried: beyond any model float64 can hold
DIRECT_MAX = 255  # small accumulators index an exact table: one flash read, no arithmetic
MIN_TABLE_SHIFT, MAX_TABLE_SHIFT = -20, 31  # the 32-bit table position stays in range


def get_format(fmt: str) -> Format:
    """The Format called ``fmt``; QuantizeError names the known ones otherwise."""
    try:
        return FORMATS[fmt]
    except KeyError:
        known = ", ".join(FORMATS)
        raise QuantizeError(f"unknown number format {fmt!r} (known: {known})") from None


@cache
def tanh_table(fmt: str) -> tuple[int, ...]:
    """round(tanh(z_k) * 2**bits), saturated, at every node z_k (``Format.node_z``)."""
    f = get_format(fmt)
    scaled = np.tanh(f.node_z()) * (1 << f.bits)
    return tuple(int(v) for v in np.minimum(np.floor(scaled + 0.5), f.act_max))


@cache
def direct_table(fmt: str, frac: int, size: int) -> tuple[int, ...]:
    """round(tanh(k * 2**-frac) * 2**bits), saturated, for k = 0 .. size - 1."""
    f = get_format(fmt)
    scaled = np.tanh(np.arange(size, dtype=np.float64) * 2.0**-frac) * (1 << f.bits)
    return tuple(int(v) for v in np.minimum(np.floor(scaled + 0.5), f.act_max))


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to nearest, ties away from zero (the rounding used everywhere)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


@dataclass(frozen=True)
class QuantLayer:
    """One layer in integers: ``act(shift(x @ weights + biases))``.

    ``weights`` [n_in, n_out] and ``biases`` [n_out] are integers at
    ``acc_frac`` fractional bits (biases all zero when the model has none).
    ``shift`` moves the accumulator to the output (relu, identity) or to the
    table position (tanh; logistic reads tanh at z/2, one bit further).
    """

    activation: str
    weights: np.ndarray
    biases: np.ndarray
    has_biases: bool
    in_frac: int
    weight_frac: int
    out_frac: int
    shift: int
    acc_bits: int  # 8 or 16 (q7), 32
    acc_bound: int  # |accumulator| never exceeds this (interval analysis)
    acc_min: int  # the accumulator never goes below this (>= 0: no sign handling needed)
    out_lo: np.ndarray  # per unit: the output interval, integers
    out_hi: np.ndarray
    saturates: bool  # False when the bound proves the narrowing can never clip

    @property
    def direct(self) -> bool:
        """tanh/logistic read one entry per accumulator value: |acc| <= DIRECT_MAX."""
        return self.activation in ("tanh", "logistic") and self.acc_bound <= DIRECT_MAX

    @property
    def table_frac(self) -> int:
        """Fractional bits of the tanh argument: logistic(z) reads tanh(z / 2)."""
        return self.acc_frac + (1 if self.activation == "logistic" else 0)

    @property
    def acc_frac(self) -> int:
        return self.in_frac + self.weight_frac

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[1])

    @property
    def is_ternary(self) -> bool:
        """Every weight is -1, 0 or +1: the layer is adds and subtracts only."""
        return bool(np.all(np.abs(self.weights) <= 1))


@dataclass(frozen=True)
class QuantizedModel:
    """A model in one number format: what the emulator and generated code compute."""

    fmt: str
    layers: tuple[QuantLayer, ...]
    classes: tuple[str, ...]
    model_hash: str  # 16 hex digits, Model.short_hash

    @property
    def format(self) -> Format:
        return FORMATS[self.fmt]

    @property
    def format_bits(self) -> int:
        return self.format.bits

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per layer, input excluded (as PREFIX_LAYER_SIZES_INIT)."""
        return tuple(layer.n_out for layer in self.layers)

    @property
    def trace_len(self) -> int:
        return sum(self.layer_sizes)

    @property
    def max_units(self) -> int:
        return max(self.layer_sizes)


def _weight_frac_candidates(values: np.ndarray, limit: int) -> list[int]:
    """Fractional bits for ``values`` in preference order, largest that fits first.

    If fewer bits represent every value exactly (the lesson's ternary weights
    need none), that exact scale comes first: it loses nothing and keeps the
    products small. Coarser scales follow, for accumulators that need them
    (powers of two far apart are exact only at a scale too fine for 32 bits).
    """
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak == 0.0:
        return [0]
    fracs = np.arange(FRAC_SEARCH.start, FRAC_SEARCH.stop)
    with np.errstate(over="ignore"):  # a huge weight scales to inf: it fits no format
        scaled = round_half_away(peak * 2.0**fracs)
    fitting = [int(f) for f in fracs[scaled <= limit][::-1]]
    exact = _exact_frac(values)
    if exact in fitting:
        return [exact, *(g for g in fitting if g < exact)]
    return fitting


def _exact_frac(values: np.ndarray) -> int:
    """The fewest fractional bits that represent every (nonzero) value exactly."""
    v = values[values != 0]
    mantissa, exponent = np.frexp(np.abs(v))
    m = (mantissa * 2.0**53).astype(np.int64)  # v = m * 2^(exponent - 53), exactly
    trailing = np.log2(m & -m).astype(np.int64)
    return int(np.max(53 - exponent - trailing))


def _acc_interval(
    w_int: np.ndarray, b_int: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-unit interval of x @ w + b for x in the box [lo, hi] (integers)."""
    wl = w_int * lo[:, None]
    wh = w_int * hi[:, None]
    acc_lo = np.minimum(wl, wh).sum(axis=0) + b_int
    acc_hi = np.maximum(wl, wh).sum(axis=0) + b_int
    return acc_lo, acc_hi


def _scale_layer(weights: np.ndarray, biases: np.ndarray, acc_frac: int, weight_frac: int,
                 lo: np.ndarray, hi: np.ndarray):
    """Integer weights and biases at these scales, their accumulator interval and bound."""
    b_float = round_half_away(biases * 2.0**acc_frac)
    if np.any(np.abs(b_float) > ACC32_MAX):
        return None
    w_int = round_half_away(weights * 2.0**weight_frac).astype(np.int64)
    b_int = b_float.astype(np.int64)
    acc_lo, acc_hi = _acc_interval(w_int, b_int, lo, hi)
    return w_int, b_int, acc_lo, acc_hi, _partial_sum_bound(w_int, b_int, lo, hi)


def _partial_sum_bound(w_int: np.ndarray, b_int: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> int:
    """|b| + sum |w| * max|x|: bounds the accumulator after every term, in any order."""
    peak = np.maximum(np.abs(lo), np.abs(hi))
    return int(np.max(np.abs(b_int) + np.abs(w_int).T @ peak))


def _output_shift(bound: int, act_max: int) -> int:
    """Smallest right shift r (maybe negative) with round(bound / 2**r) <= act_max."""
    r = -40
    while round_half_away(bound * 2.0**-r) > act_max:
        r += 1
    return r


def _table_frac_limit(act: str, f: Format, in_frac: int) -> int | None:
    """The most weight bits a tanh/logistic layer may take: a finer accumulator than the
    table's right shift of MAX_TABLE_SHIFT reads position 0 for every value (what is lost
    is below the table's resolution). None for other activations."""
    if act not in ("tanh", "logistic"):
        return None
    return MAX_TABLE_SHIFT + f.position_bits - (1 if act == "logistic" else 0) - in_frac


def _quantize_layer(layer, f: Format, in_frac: int, lo: np.ndarray, hi: np.ndarray, index: int):
    biases = layer.biases if layer.biases is not None else np.zeros(layer.n_out)
    candidates = _weight_frac_candidates(layer.weights, f.weight_max)
    limit = _table_frac_limit(layer.activation, f, in_frac)
    if limit is not None:
        candidates = sorted({min(frac, limit) for frac in candidates}, reverse=True)
    # q7 prefers an int16 accumulator (one 8x8 multiply and a 16-bit add per weight on
    # AVR) even at the price of a weight bit or two; else the most precise int32 scale.
    narrow, wide = [], []
    for weight_frac in candidates:
        scaled = _scale_layer(layer.weights, biases, in_frac + weight_frac, weight_frac, lo, hi)
        if scaled is None or scaled[4] > ACC32_MAX:
            continue
        if f.bits == 7 and scaled[4] <= ACC16_MAX:
            narrow.append((weight_frac, scaled))
            break
        wide.append((weight_frac, scaled))
        if f.bits != 7:
            break
    if not narrow and not wide:
        raise QuantizeError(
            f"layer {index} ({layer.activation}): weights or biases too large for {f.name} "
            "(no scale keeps the 32-bit accumulator from overflowing)"
        )
    weight_frac, (w_int, b_int, acc_lo, acc_hi, bound) = (narrow or wide)[0]
    acc_frac = in_frac + weight_frac
    acc_bits = (8 if bound <= ACC8_MAX else 16) if narrow else 32
    act = layer.activation
    if act in ("tanh", "logistic"):
        # a left shift past MIN_TABLE_SHIFT reads the table's end for every nonzero
        # accumulator, as the longer one would: the same integers, and no 32-bit overflow
        shift = max(acc_frac - f.position_bits + (1 if act == "logistic" else 0),
                    MIN_TABLE_SHIFT)
        out_frac = f.bits
        top = tanh_table(f.name)[-1]
        if act == "tanh":
            out_lo = np.full(layer.n_out, -top)
            out_hi = np.full(layer.n_out, top)
        else:
            out_lo = np.zeros(layer.n_out, dtype=np.int64)
            out_hi = np.full(layer.n_out, (top + (1 << f.bits)) >> 1)
        saturates = False
    else:
        reach = int(max(np.max(np.abs(acc_lo)), np.max(np.abs(acc_hi))))
        shift = _output_shift(max(reach, 1), f.act_max)
        out_frac = acc_frac - shift
        out_lo = _shift_round(acc_lo, shift)
        out_hi = _shift_round(acc_hi, shift)
        saturates = bool(np.any(out_lo < -f.act_max) or np.any(out_hi > f.act_max))
        out_lo = np.clip(out_lo, -f.act_max, f.act_max)
        out_hi = np.clip(out_hi, -f.act_max, f.act_max)
        if act == "relu":
            out_lo = np.maximum(out_lo, 0)
            out_hi = np.maximum(out_hi, 0)
    return QuantLayer(
        activation=act,
        weights=w_int,
        biases=b_int,
        has_biases=layer.biases is not None,
        in_frac=in_frac,
        weight_frac=weight_frac,
        out_frac=out_frac,
        shift=shift,
        acc_bits=acc_bits,
        acc_bound=bound,
        acc_min=int(np.min(acc_lo)),
        out_lo=out_lo.astype(np.int64),
        out_hi=out_hi.astype(np.int64),
        saturates=saturates,
    )


def _shift_round(acc: np.ndarray, shift: int) -> np.ndarray:
    """Integer acc * 2**-shift, rounded half away from zero (exact integer arithmetic)."""
    acc = np.asarray(acc, dtype=np.int64)
    mag = np.abs(acc)
    if shift > 0:
        mag = (mag + (1 << (shift - 1))) >> shift
    elif shift < 0:
        mag = mag << -shift
    return np.where(acc < 0, -mag, mag)


def quantize(model: Model, fmt: str = "q7") -> QuantizedModel:
    """The integer model in format ``fmt`` ("q7", "q15" or "16x8"); deterministic in
    (model, fmt)."""
    f = get_format(fmt)
    lo = np.full(model.n_inputs, -f.act_max, dtype=np.int64)
    hi = np.full(model.n_inputs, f.act_max, dtype=np.int64)
    in_frac = f.bits
    layers = []
    for index, layer in enumerate(model.layers):
        q = _quantize_layer(layer, f, in_frac, lo, hi, index)
        layers.append(q)
        lo, hi, in_frac = q.out_lo, q.out_hi, q.out_frac
    return QuantizedModel(fmt, tuple(layers), tuple(model.classes), model.short_hash)
