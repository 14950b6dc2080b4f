"""Render a QuantizedModel into C or MicroPython through Jinja2 templates.

Python decides every number and every expression (constant shifts, which
weights to skip, loop or unrolled); the templates only lay them out. The
Jinja environment is strict, so a typo in a template fails instead of
rendering an empty string. Nothing from the model file reaches the code
except integers and the validated prefix.
"""

from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from pixelnet import __version__
from pixelnet.errors import PixelnetError
from pixelnet.files import write_atomically

from .avr_asm import LOOP_INPUTS, loop_layer, tanh_function
from .c_activation import activation_body, direct_table_name, frac_tag, rounding_in_bias
from .emulator import CALIB_SPLIT_BITS, calib_shift
from .quantize import ACC32_MAX, Format, QuantizedModel, QuantLayer, direct_table, tanh_table

TARGETS = ("arduino", "c", "micropython", "arduino-library")
OPTIMIZE = ("size", "speed", "viper")  # viper: MicroPython only, @micropython.viper
C_RESERVED = frozenset(
    (
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
        "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
        "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
        "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "bool",
        "true", "false", "asm", "NULL", "main",
    )
)
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,23}\Z")


class GenerateError(PixelnetError):
    """A bad target, optimisation or prefix for code generation."""


def validate_prefix(prefix: str) -> str:
    """The prefix if it is safe as a C and Python identifier stem; GenerateError otherwise."""
    if not IDENTIFIER.match(prefix):
        raise GenerateError(
            f"prefix {prefix!r} must be a letter then letters, digits or '_' (at most 24)"
        )
    if prefix in C_RESERVED or keyword.iskeyword(prefix) or prefix.lower() in C_RESERVED:
        raise GenerateError(f"prefix {prefix!r} is a reserved word")
    return prefix


@dataclass(frozen=True)
class CLayer:
    """One layer as the templates see it: types, constants and expressions."""

    index: int
    q: QuantLayer
    style: str  # "loop" (weights read from a table) or "unrolled" (weights in code)
    acc_type: str
    sum_type: str  # the loop's running sum: 16 bits for the q7 dot-product macros
    dot_chunks: list[list[int]]  # q7 loops: inputs per DOTn macro (empty: plain C)
    uacc_type: str
    weight_type: str
    stream: list[list[int]]  # per neuron: its bias (split into weight-sized pieces), weights
    neurons: list[list[str]]  # unrolled: the statements computing each output y[j]
    asm_neurons: list[list[str]]  # unrolled q7 on AVR with a multiplier (empty: none)
    used_inputs: list[int]
    clamp_before_left_shift: int  # table activations: larger magnitudes read the last entry
    act_body: list[str]  # C statements of the activation function
    act_asm: list[str]  # the same on AVR with a multiplier, where assembly is faster (or [])
    loop_asm: list[str]  # a loop layer's neurons in assembly on AVR with a multiplier (or [])
    dense_call: bool  # q15 size: the layer calls the one shared loop (activation by pointer)
    pin_base: int  # q7 on AVR: input k pinned to r(pin_base + k)
    act_index: int = -1  # the layer whose activation function this layer calls
    act_shared: bool = False  # out of line: several layers (or the shared loop) call it
    act_forward: int = -1  # a later layer's activation, declared before this one calls it


def _product(fmt: Format, var: str, w: int) -> str:
    """Signed term ``w * var`` in the accumulator's arithmetic, avoiding avr-gcc's traps."""
    sign = "-" if w < 0 else "+"
    if abs(w) == 1:
        return f"{sign} {var}"
    # int8 x int8 fits int16: gcc emits one 8x8 muls, no library call
    return f"{sign} (int16_t)({var} * {abs(w)})"


def _unrolled_neuron(fmt: Format, q: QuantLayer, j: int, prefix: str, act: str) -> list[str]:
    """Statements for output j with the weights in the code; zero weights vanish.

    Weights of +-1 are adds and subtracts; other q15 and 16x8 weights go through the
    multiply-accumulate macro (a plain ``(int32_t)x * w`` calls __mulhisi3 on AVR)."""
    weights = [int(w) for w in q.weights[:, j]]
    if q.acc_bits == 32:  # the first operand makes every partial sum 32-bit, also on AVR
        simple = [f"{'-' if w < 0 else '+'} x{i}" for i, w in enumerate(weights) if abs(w) == 1]
        products = [(i, w) for i, w in enumerate(weights) if abs(w) > 1]
        start = " ".join([f"INT32_C({int(q.biases[j])})", *simple])
        if fmt.bits == 7:
            terms = " ".join(_product(fmt, f"x{i}", w) for i, w in products)
            return [f"y[{j}] = {act}({start} {terms});" if terms else f"y[{j}] = {act}({start});"]
        mac = _mac_macro(fmt, prefix)
        macs = [f"    {mac}(acc, x{i}, {w});" for i, w in products]
        return ["{", f"    int32_t acc = {start};", *macs, f"    y[{j}] = {act}(acc);", "}"]
    terms = [_product(fmt, f"x{i}", w) for i, w in enumerate(weights) if w]
    bias = _c_bias(q, j)
    if bias or not terms:
        terms.insert(0, str(bias))
    expression = " ".join(terms).removeprefix("+ ")
    return [f"y[{j}] = {act}((int{q.acc_bits}_t)({expression}));"]


DOT_UNROLL_MAX = 4  # 16x8 loop terms a round: 4 keep the loop within brne's reach


def _dot_unroll(fmt: Format, layers: list[CLayer]) -> int:
    """Terms per round of the 16x8 dot-product loop: the largest power of two up to
    DOT_UNROLL_MAX dividing every loop layer's input count (its ``dec``/``brne`` cost 3
    cycles a round; each further copy of the body, 30 bytes). q15 keeps one per round."""
    if fmt.weight_bytes != 1 or fmt.bits == 7:
        return 1
    unroll = DOT_UNROLL_MAX
    for layer in layers:
        while layer.style == "loop" and layer.q.n_in % unroll:
            unroll //= 2
    return unroll


def _mac_macro(fmt: Format, prefix: str) -> str:
    """The 32-bit multiply-accumulate of a 16-bit activation and a weight of ``fmt``."""
    return f"{prefix.upper()}_MAC16" + ("X8" if fmt.weight_bytes == 1 else "")


def _c_bias(q: QuantLayer, j: int) -> int:
    """The bias of neuron j in the generated C: with the rounding half of its activation
    where the activation relies on it (c_activation.rounding_in_bias)."""
    return int(q.biases[j]) + rounding_in_bias(q) if q.has_biases else 0


def _asm_neuron(q: QuantLayer, j: int, act: str) -> list[str]:
    """Output j of an unrolled q7 layer in AVR assembly: per nonzero weight ``ldi`` +
    ``muls`` + ``add``/``adc`` (5 cycles), the bias added last, and ``r1`` (avr-gcc's
    zero register, which every ``muls`` overwrites) cleared once per block, not after
    every product as avr-gcc does. One block for layers of up to PINNED_INPUTS inputs
    (pinned to registers), blocks of DOT_CHUNK inputs for wider ones (each input of a
    block needs one of r16..r31). Empty if the neuron has no weights or its sum is not
    a q7 sum of at most 16 bits (the plain C statements serve it then).

    The sum is taken modulo 2**16: the accumulator bound keeps the final value in
    range, so wrapped partial sums change nothing."""
    terms = [(i, int(w)) for i, w in enumerate(q.weights[:, j]) if w]
    if q.acc_bits > 16 or q.is_ternary or not terms:
        return []
    size = len(terms) if q.n_in <= PINNED_INPUTS else DOT_CHUNK
    blocks = [terms[k : k + size] for k in range(0, len(terms), size)]
    minus = -_c_bias(q, j) & 0xFFFF  # s + b == s - (-b) modulo 2**16: subi/sbci
    lines = ["{", "    int16_t acc;", "    uint8_t t;"]
    for n, block in enumerate(blocks):
        steps = []
        for k, (i, w) in enumerate(block):
            add = ('"movw %A[s], r0\\n\\t"' if n == k == 0
                   else '"add %A[s], r0\\n\\t" "adc %B[s], r1\\n\\t"')
            steps.append(f'"ldi %[t], {w & 0xFF}\\n\\t" "muls %[x{i}], %[t]\\n\\t" {add}')
        if minus and n == len(blocks) - 1:
            steps.append(f'"subi %A[s], {minus & 0xFF}\\n\\t" "sbci %B[s], {minus >> 8}\\n\\t"')
        inputs = ", ".join(f'[x{i}] "d"(x{i})' for i, _ in block)
        sum_operand = '"=&d"' if n == 0 else '"+d"'
        lines += [f"    __asm__({steps[0]}", *[f"            {step}" for step in steps[1:]],
                  '            "clr __zero_reg__"',
                  f'            : [s] {sum_operand}(acc), [t] "=&d"(t) : {inputs} : "r0");']
    return [*lines, f"    y[{j}] = {act}((int{q.acc_bits}_t)acc);", "}"]


def _bias_pieces(q: QuantLayer, fmt: Format, j: int, always: bool,
                 bits: int | None = None) -> list[int]:
    """The bias of neuron j as little-endian signed pieces of the weight width (empty if
    none, unless ``always``: the shared q15 and 16x8 loop reads one per neuron), ``bits``
    wide (the accumulator's unless given).

    Interleaving biases with the weights lets one flash pointer walk the layer."""
    if not q.has_biases and not always:
        return []
    width = 8 * fmt.weight_bytes
    bits = bits or q.acc_bits
    value = _c_bias(q, j) & ((1 << bits) - 1)
    pieces = []
    for _ in range(max(1, bits // width)):
        piece = value & ((1 << width) - 1)
        pieces.append(piece - (1 << width) if piece >> (width - 1) else piece)
        value >>= width
    return pieces


def _magnitude_peak(fmt: Format, q: QuantLayer) -> int:
    """The largest value the unsigned magnitude takes while the activation shifts it."""
    if q.shift > 0:
        return q.acc_bound + (1 << (q.shift - 1))
    if q.activation in ("tanh", "logistic"):
        return min(q.acc_bound, (fmt.position_max >> -q.shift) + 1) << -q.shift
    return q.acc_bound << -q.shift


PINNED_INPUTS = 8  # q7 inputs the template pins to r16..r23 (muls reads only r16..r31)
DOT_CHUNK = 4  # inputs per dot-product macro when there are more: fewer registers at once


def _pin_base(n_in: int) -> int:
    """The register of a pinned layer's input 0: its inputs end at r23, leaving the upper
    pair r24:r25 to the sum (``subi``/``sbci``) and the pointer pairs X, Y, Z (r26..r31)
    free; layers of up to 4 inputs stay out of call-saved r16/r17 (each costs a push and
    a pop)."""
    return 24 - max(4, n_in)


def _dot_chunks(fmt: Format, q: QuantLayer, style: str) -> list[list[int]]:
    """Inputs of a q7 loop layer in groups, one asm block each (all at once if pinned).

    Only for 16-bit sums (an int8 sum is computed in 16 bits, the bound keeps it in
    range); a q7 layer that needs a 32-bit accumulator stays plain C."""
    if style != "loop" or fmt.bits != 7 or q.acc_bits > 16:
        return []
    inputs = list(range(q.n_in))
    size = q.n_in if q.n_in <= PINNED_INPUTS else DOT_CHUNK
    return [inputs[k : k + size] for k in range(0, q.n_in, size)]


SMALL_LAYER_WEIGHTS = 32  # q7 layers this small, too wide for the assembly loop: unrolled


def _small_wide(fmt: Format, q: QuantLayer) -> bool:
    """A q7 layer too wide for the assembly loop (avr_asm.LOOP_INPUTS) but small enough to
    unroll with its weights as immediates even when building for size: about 8 bytes a
    weight (at most ~300 bytes), and on AVR 5 cycles a weight instead of 7 with no loop."""
    return fmt.bits == 7 and q.n_in > LOOP_INPUTS and q.weights.size <= SMALL_LAYER_WEIGHTS


TABLE_GROWTH_MAX = 32  # extra entries (copies of the last) a C table may take to drop a clamp


def _position_peak(fmt: Format, q: QuantLayer) -> int:
    """The largest unclamped table position of a tanh/logistic layer (0 for the others)."""
    if q.activation not in ("tanh", "logistic") or q.direct:
        return 0
    if q.shift > 0:
        return (q.acc_bound + (1 << (q.shift - 1))) >> q.shift
    return q.acc_bound << -q.shift


def _c_table_entries(fmt: Format, qm: QuantizedModel) -> int:
    """Entries of the C tanh table: T[0..N], then copies of T[N] so that every position
    the layers can reach reads the table unclamped, unless that costs too much flash."""
    shortest = fmt.table_nodes + 2  # T[N + 1] = T[N]: interpolating at N needs no check
    if fmt.tail_bits:
        return shortest
    needed = max((_position_peak(fmt, q) >> fmt.interp_bits) + 2 for q in qm.layers)
    return needed if shortest < needed <= shortest + TABLE_GROWTH_MAX else shortest


def _dense_bias_bits(fmt: Format, qm: QuantizedModel) -> int:
    """Bits of each bias in the shared loop's stream: 24 in 16x8 where every bias fits
    (three ``lpm`` and a sign extension take as long as four, a byte less per neuron),
    else the 32-bit accumulator's."""
    top = max((int(abs(int(b))) for q in qm.layers for b in q.biases), default=0)
    return 24 if fmt.weight_bytes == 1 and fmt.bits == 15 and top < 1 << 23 else 32


def _c_layer(fmt: Format, q: QuantLayer, index: int, optimize: str, prefix: str,
             table_entries: int, bias_bits: int = 32) -> CLayer:
    style = "unrolled" if optimize == "speed" or q.is_ternary or _small_wide(fmt, q) else "loop"
    dot_chunks = _dot_chunks(fmt, q, style)
    dense_call = style == "loop" and fmt.bits == 15 and optimize == "size"
    extra = (table_entries - 1 - fmt.table_nodes) << (fmt.interp_bits + fmt.tail_bits)
    reach = fmt.position_max + extra - 1  # the positions the C table serves unclamped
    peak = _magnitude_peak(fmt, q)
    used = [i for i in range(q.n_in) if style == "loop" or q.weights[i].any()]
    if q.acc_bits == 8 and peak <= 0xFF:
        uacc_type = "uint8_t"
    elif q.acc_bits <= 16 and peak <= 0xFFFF and q.shift < 16:
        uacc_type = "uint16_t"  # a shift of 16 reads the upper half of a 32-bit magnitude
    else:
        uacc_type = "uint32_t"
    act_type = "int8_t" if fmt.bits == 7 else "int16_t"
    return CLayer(
        index=index,
        q=q,
        style=style,
        acc_type=f"int{q.acc_bits}_t",
        sum_type="int16_t" if dot_chunks else f"int{q.acc_bits}_t",
        dot_chunks=dot_chunks,
        uacc_type=uacc_type,
        weight_type=f"int{8 * fmt.weight_bytes}_t",
        dense_call=dense_call,
        pin_base=_pin_base(q.n_in),
        stream=[_bias_pieces(q, fmt, j, dense_call, bias_bits if dense_call else None)
                + [int(v) for v in q.weights[:, j]]
                for j in range(q.n_out)],
        neurons=[],  # filled in by _share_activations, once the called activation is known
        asm_neurons=[],
        used_inputs=used,
        clamp_before_left_shift=(fmt.position_max >> -q.shift) + 1 if q.shift < 0 else 0,
        act_body=activation_body(q, fmt, uacc_type, act_type, prefix,
                                 clamp=_position_peak(fmt, q) > reach),
        act_asm=tanh_function(q, fmt, prefix, clamp=_position_peak(fmt, q) > reach),
        loop_asm=loop_layer(q, fmt, prefix, _position_peak(fmt, q) > reach,
                            [f"x{k}" for k in used] if dot_chunks == [used] else [],
                            f"{prefix}_w{index}") if style == "loop" else [],
    )


def _share_activations(fmt: Format, layers: list[CLayer], optimize: str,
                       prefix: str) -> list[CLayer]:
    """q15 ``size``: loop layers with the same activation code call one out-of-line copy
    (a 32-bit tanh is ~120 bytes; the q7 ones are small enough to inline for speed); an
    unrolled layer with the same code calls that copy too. Unrolled neurons name the
    function they call, so they are written here."""
    first: dict[tuple, int] = {}
    for layer in layers:
        if optimize == "size" and layer.style == "loop" and fmt.bits == 15:
            first.setdefault((layer.acc_type, *layer.act_body), layer.index)
    # a copy is called only after its definition: by its own layer and the ones after it
    owners = [min(first.get((layer.acc_type, *layer.act_body), layer.index), layer.index)
              for layer in layers]
    called = {owner for layer, owner in zip(layers, owners, strict=True) if layer.dense_call}
    return [replace(layer, act_index=owner,
                    act_shared=owners.count(layer.index) > 1 or layer.index in called,
                    neurons=[_unrolled_neuron(fmt, layer.q, j, prefix, f"{prefix}_act{owner}")
                             for j in range(layer.q.n_out)],
                    asm_neurons=_asm_neurons(fmt, layer, f"{prefix}_act{owner}"))
            for layer, owner in zip(layers, owners, strict=True)]


def _share_tables_across_shifts(fmt: Format, layers: list[CLayer], prefix: str,
                                table_entries: int) -> list[CLayer]:
    """Shared loops (``dense_call``) whose table activations differ only in their shift:
    one copy at the largest shift r, which the others call with ``acc * 2**(r - r_j)``
    (``(|a| 2**d + h 2**d) >> (r_j + d) == (|a| + h) >> r_j``: the same position, the same
    integers). The copy is generated for every scaled accumulator it receives (from the
    loops and from any layer that called one of their copies); two tanh layers at
    different scales then cost one table lookup in flash, not two."""
    for activation in ("tanh", "logistic"):
        members = [layer for layer in layers if layer.dense_call and not layer.q.direct
                   and layer.q.activation == activation and layer.q.acc_bits == 32
                   and layer.q.shift > 0]  # a rounding right shift: the identity above
        top = max((layer.q.shift for layer in members), default=0)
        scale = {layer.index: top - layer.q.shift for layer in members}
        if len(set(scale.values())) < 2 or min(scale.values()) < 0:
            continue
        callers = [layer for layer in layers if layer.act_index in scale]
        bound = max(layer.q.acc_bound << scale[layer.act_index] for layer in callers)
        if bound + (1 << (top - 1)) > ACC32_MAX:
            continue
        owner = next(layer for layer in members if scale[layer.index] == 0)
        q = replace(owner.q, acc_bound=bound,
                    acc_min=min(layer.q.acc_min << scale[layer.act_index] for layer in callers))
        body = _c_layer(fmt, q, owner.index, "size", prefix, table_entries).act_body
        act = f"{prefix}_act{owner.index}"
        layers = [
            replace(layer, act_body=body, act_index=layer.index, act_shared=True)
            if layer is owner else
            replace(layer, act_index=layer.index, act_shared=True, act_asm=[],
                    act_forward=owner.index if owner.index > layer.index else -1,
                    act_body=[f"return {act}((int32_t)(acc * {1 << scale[layer.index]}));"])
            if scale.get(layer.index) else layer
            for layer in layers]
    return layers


def _asm_neurons(fmt: Format, layer: CLayer, act: str) -> list[list[str]]:
    """Every output of an unrolled q7 layer in assembly, or none if one cannot be."""
    if layer.style != "unrolled" or fmt.bits != 7:
        return []
    neurons = [_asm_neuron(layer.q, j, act) for j in range(layer.q.n_out)]
    return neurons if all(neurons) else []


def _py_expression(q: QuantLayer, j: int, viper: bool = False) -> str:
    """Output j's accumulator in Python; viper code reads the inputs as machine ints."""
    parts = [str(int(q.biases[j]))]
    for i in range(q.n_in):
        w = int(q.weights[i, j])
        if w:
            sign = "-" if w < 0 else "+"
            var = f"int(x[{i}])" if viper else f"x[{i}]"
            parts.append(f"{sign} {var}" if abs(w) == 1 else f"{sign} {var} * {abs(w)}")
    return " ".join(parts)


def _direct_tables(qm: QuantizedModel, prefix: str) -> list[dict]:
    """One exact table per argument scale used by small-accumulator layers."""
    sizes: dict[int, int] = {}
    for q in qm.layers:
        if q.direct:
            sizes[q.table_frac] = max(sizes.get(q.table_frac, 0), q.acc_bound + 1)
    return [
        {"frac": frac, "name": direct_table_name(prefix, frac),
         "py_name": f"_TANH_F{frac_tag(frac)}".upper(), "values": direct_table(qm.fmt, frac, size)}
        for frac, size in sorted(sizes.items())
    ]


def flash_tables(qm: QuantizedModel, optimize: str = "size") -> int:
    """Bytes of constant tables in the generated C: weight streams, tanh tables."""
    ctx = _context(qm, "pixelnet", optimize, "c")
    f = qm.format
    streams = sum(len(row) for layer in ctx["layers"] if layer.style == "loop"
                  for row in layer.stream)
    tanh = len(ctx["c_table"]) if ctx["uses_table"] else 0
    direct = sum(len(d["values"]) for d in ctx["direct_tables"])
    return streams * f.weight_bytes + (tanh + direct) * f.act_bytes


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pixelnet.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _context(qm: QuantizedModel, prefix: str, optimize: str, target: str) -> dict:
    f = qm.format
    uses_table = any(q.activation in ("tanh", "logistic") and not q.direct for q in qm.layers)
    table_entries = _c_table_entries(f, qm)
    bias_bits = _dense_bias_bits(f, qm)
    layers = _share_tables_across_shifts(f, _share_activations(
        f, [_c_layer(f, q, i, optimize, prefix, table_entries, bias_bits)
            for i, q in enumerate(qm.layers)], optimize, prefix), prefix, table_entries)
    table = tanh_table(qm.fmt)
    direct = _direct_tables(qm, prefix)
    return {
        "stamp": (
            f"Generated by pixelnet {__version__} from model {qm.model_hash}, "
            f"format {qm.fmt}, target {target}, optimize {optimize}. Do not edit."
        ),
        "prefix": prefix,
        "PREFIX": prefix.upper(),
        "qm": qm,
        "fmt": f,
        "act_type": "int8_t" if f.bits == 7 else "int16_t",
        "weight_t": f"int{8 * f.weight_bytes}_t",
        "dot_wide": "DOT16" + ("X8" if f.weight_bytes == 1 else ""),
        "dot_unroll": _dot_unroll(f, layers),
        "dense_bias_bits": bias_bits,
        "hash_bytes": [int(qm.model_hash[i : i + 2], 16) for i in range(0, 16, 2)],
        "uses_table": uses_table,
        "direct_tables": direct,
        "direct_py_names": {d["frac"]: d["py_name"] for d in direct},
        "uses_shr16": any(f"{prefix}_shr16(" in line for layer in layers
                          for line in layer.act_body),
        "table": table,
        "c_table": table + (table[-1],) * (table_entries - len(table)),
        "calib_shift": calib_shift(qm.fmt),
        "calib_split": CALIB_SPLIT_BITS,
        "layers": layers,
        "pinned_inputs": PINNED_INPUTS,
        "dot_sizes": sorted({len(c) for layer in layers for c in layer.dot_chunks}),
        "py_expressions": [
            [_py_expression(q, j, optimize == "viper") for j in range(q.n_out)]
            for q in qm.layers
        ],
        "native": optimize == "speed",
        "viper": optimize == "viper",
        "py_classes": repr(tuple(qm.classes)),
    }


def render(qm: QuantizedModel, target: str, prefix: str = "pixelnet",
           optimize: str = "size") -> dict[str, str]:
    """File name -> text of the generated files (nothing written)."""
    if target not in TARGETS:
        raise GenerateError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    if optimize not in OPTIMIZE:
        raise GenerateError(f"unknown optimisation {optimize!r} (known: {', '.join(OPTIMIZE)})")
    if optimize == "viper" and target != "micropython":
        raise GenerateError("--optimize viper is for --target micropython only")
    validate_prefix(prefix)
    env = _environment()
    ctx = _context(qm, prefix, optimize, target)
    if target == "micropython":
        return {f"{prefix}_model.py": env.get_template("micropython.py.jinja").render(ctx)}
    model_files = {
        f"{prefix}_model.h": env.get_template("model.h.jinja").render(ctx),
        f"{prefix}_model.c": env.get_template("model.c.jinja").render(ctx),
    }
    if target == "arduino-library":
        from .arduino_library import render_library

        return render_library(env, ctx, model_files)
    return model_files


def write_files(files: dict[str, str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write each file atomically into ``out_dir`` (created, with the subfolders that
    relative names like ``src/x.h`` need); the paths written."""
    out = Path(out_dir)
    try:
        for folder in sorted({(out / name).parent for name in files} | {out}):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerateError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    return [
        write_atomically(out / name, text, what="generated code", error=GenerateError)
        for name, text in files.items()
    ]
