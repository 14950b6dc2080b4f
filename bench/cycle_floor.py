"""The cycle floor of one inference on the ATmega328P, counted from the network's shape.

The bench prints each build's cycles divided by this floor: how far the generated C
is from what hand-written AVR assembly would need for the same network. The floor
adds up instruction timings from the AVR instruction set manual (``lpm`` 3 cycles,
``ld``/``st`` 2, ``mul``/``muls``/``mulsu`` 2, ``ldi``/``add``/``adc``/``clr`` 1,
``call``/``ret`` 4) for the work no implementation can skip, assuming every input
and accumulator sits in registers:

per multiply-accumulate (one weight)
    q7:  fetch the weight (``lpm`` 3 from a flash table; ``ldi`` 1 as an immediate),
    ``muls`` 2, add the 16-bit product into the accumulator (1 per accumulator
    byte: ``add``, ``adc``, …).
    q15: fetch (2 × ``lpm`` = 6; 2 × ``ldi`` = 2), a 16 × 16 → 32-bit signed
    product as ``muls`` + ``mul`` + 2 × ``mulsu`` = 8, and 10 ``add``/``adc`` to sum
    its four partial products into a 32-bit accumulator.
    16x8: fetch one byte (``lpm`` 3; ``ldi`` 1), a 16 × 8 → 24-bit signed product as
    ``muls`` + ``mulsu`` = 4, and 7 ``add``/``adc`` to sum its two partial products into
    a 32-bit accumulator.
    A ternary weight (−1, 0, +1, the lesson's) needs no multiply: an add or subtract
    chain, 1 per accumulator byte (each input sign-extended once, for all neurons);
    a zero costs nothing.
per neuron
    start the accumulator from the bias (``lpm`` 3 / ``ldi`` 1 per accumulator byte;
    ``clr`` 1 per byte without biases), the activation (tanh and logistic by an
    interpolated table: 25 cycles in q7, 40 in q15 and 16x8 with their wider multiply;
    read directly from a table where the accumulator is small enough to index one, as
    in the lesson's layers: 10 in q7, 14 in q15 and 16x8 — the absolute value, ``lpm`` with its
    address, the sign put back; ReLU 3: a sign test and clearing the result;
    identity 0) and the store of the result (``st`` 2 per byte).
per inference
    argmax over the outputs (compare and branch: 2 + 2 per byte per output) and the
    call (``call`` + ``ret`` + two pointer arguments: 12).

It is an estimate built from the shape, not a proof that no code is faster: the
requantising shifts and saturation are left out, which is why a good build may
come close to it but hardly reaches it.
"""

from __future__ import annotations

from pixelnet.codegen.quantize import QuantizedModel

CALL_CYCLES = 12
ACT_BYTES = {"q7": 1, "q15": 2, "16x8": 2}
WEIGHT_BYTES = {"q7": 1, "q15": 2, "16x8": 1}
TABLE_ACTIVATION_CYCLES = {"q7": 25, "q15": 40, "16x8": 40}
DIRECT_TABLE_CYCLES = {"q7": 10, "q15": 14, "16x8": 14}
ACTIVATION_CYCLES = {"relu": 3, "identity": 0}


def weight_fetch_cycles(fmt: str, in_flash: bool) -> int:
    """``lpm`` from a table in flash, or ``ldi`` of an immediate, per weight byte."""
    return WEIGHT_BYTES[fmt] * (3 if in_flash else 1)


def mac_cycles(fmt: str, acc_bytes: int, in_flash: bool) -> int:
    """One multiply-accumulate: fetch, multiply, add into the accumulator."""
    if fmt == "q7":
        return weight_fetch_cycles(fmt, in_flash) + 2 + acc_bytes
    if fmt == "16x8":
        return weight_fetch_cycles(fmt, in_flash) + 4 + 7
    return weight_fetch_cycles(fmt, in_flash) + 8 + 10


def neuron_cycles(fmt: str, activation: str, acc_bytes: int, has_bias: bool,
                  in_flash: bool, direct: bool) -> int:
    """Start from the bias, activate, store."""
    start = acc_bytes * ((3 if in_flash else 1) if has_bias else 1)
    table = DIRECT_TABLE_CYCLES if direct else TABLE_ACTIVATION_CYCLES
    activate = ACTIVATION_CYCLES.get(activation, table[fmt])
    return start + activate + 2 * ACT_BYTES[fmt]


def cycle_floor(qm: QuantizedModel, in_flash: bool) -> int:
    """Cycles of one inference of ``qm`` counted as the module docstring says; ``in_flash``
    for weights read from tables (``--optimize size``), else immediates (``speed``)."""
    total = CALL_CYCLES
    for layer in qm.layers:
        acc_bytes = layer.acc_bits // 8
        if layer.is_ternary:
            total += int((layer.weights != 0).sum()) * acc_bytes
        else:
            total += layer.weights.size * mac_cycles(qm.fmt, acc_bytes, in_flash)
        total += layer.weights.shape[1] * neuron_cycles(
            qm.fmt, layer.activation, acc_bytes, layer.has_biases, in_flash, layer.direct)
    return total + qm.layers[-1].weights.shape[1] * (2 + 2 * ACT_BYTES[qm.fmt])
