"""The C body of each layer's activation: constant shifts that avr-gcc compiles well.

At -Os avr-gcc turns a multi-bit shift of a 16- or 32-bit value into a loop of
one-bit shifts (4-5 cycles per bit). Every shift here is a constant chosen at
generation time, so it is written in the cheapest exact form: byte moves for
multiples of 8, plain shifts for 1 or 2 bits, and for 3..7 bits of a 16-bit
value the hardware multiplier: ``u >> r == hi * 2**(8-r) + ((lo * 2**(8-r)) >> 8)``
with ``u = 256 * hi + lo`` (two 8x8 multiplies, exact). A 32-bit accumulator is
narrowed to the 16-bit result (a table position or an output, both < 2**16)
by assembling it from the accumulator's upper and lower halves. Clamps the
interval bound proves unnecessary are left out. The arithmetic is the
emulator's, bit for bit.
"""

from __future__ import annotations

from .quantize import Format, QuantLayer


def shift16(var: str, r: int, prefix: str) -> str:
    """``var >> r`` for a uint16_t expression ``var``, 0 <= r."""
    if r == 0:
        return f"(uint16_t)({var})"
    if r >= 16:
        return "(uint16_t)0u"
    if r > 8:
        return f"(uint16_t)((uint8_t)((uint16_t)({var}) >> 8) >> {r - 8})"
    if r == 8 or r <= 2:
        return f"(uint16_t)((uint16_t)({var}) >> {r})"
    return f"{prefix}_shr16({var}, {1 << (8 - r)}u)"


def shift32_to16(var: str, r: int, prefix: str) -> str:
    """``var >> r`` modulo 2**16 for a uint32_t variable ``var`` (exact where the shifted
    value fits 16 bits)."""
    if r >= 16:
        return shift16(f"(uint16_t)({var} >> 16)", r - 16, prefix)
    if r >= 13:  # bits r..r+15 are the high half after a left shift by 16 - r
        return f"(uint16_t)((uint32_t)({var} << {16 - r}) >> 16)"
    if r >= 8:
        high = f"(uint16_t)((uint16_t)({var} >> 16) << {16 - r})"
        return f"(uint16_t)({high} | {shift16(f'(uint16_t){var}', r, prefix)})"
    if r >= 5:  # bits r..r+15 are bytes 1 and 2 after a left shift by 8 - r: no shift loop
        return f"(uint16_t)((uint32_t)({var} << {8 - r}) >> 8)"
    return f"(uint16_t)({var} >> {r})"


def _magnitude(q: QuantLayer, utype: str) -> list[str]:
    if q.acc_min >= 0:
        return [f"{utype} u = ({utype})acc;"]
    if q.activation == "relu":
        return ["if (acc <= 0) {", "    return 0;", "}", f"{utype} u = ({utype})acc;"]
    return [f"{utype} u = acc < 0 ? ({utype})-acc : ({utype})acc;"]


def _position(q: QuantLayer, fmt: Format, utype: str, cap: int, must_cap: bool,
              prefix: str, rounded: bool = False) -> list[str]:
    """Statements leaving ``uint16_t p`` = the shifted, rounded (and capped) magnitude;
    ``rounded``: ``u`` already holds the rounding half (see rounding_in_bias)."""
    bound, r = q.acc_bound, q.shift
    if r > 0:
        half = 1 << (r - 1)
        lines = [f"{utype} v = u;" if rounded else f"{utype} v = ({utype})(u + {half}u);"]
        if utype == "uint16_t" and 5 <= r <= 7 and (bound + half) << (8 - r) <= 0xFFFF:
            narrow = f"(uint16_t)((uint16_t)(v << {8 - r}) >> 8)"  # the high byte: no multiply
        elif utype == "uint16_t":
            narrow = shift16("v", r, prefix)
        else:
            narrow = shift32_to16("v", r, prefix)
        if must_cap and (bound + half) >> r > cap:
            return [*lines, "uint16_t p;", f"if (v >= {cap << r}UL) {{", f"    p = {cap}u;",
                    "} else {", f"    p = {narrow};", "}"]
        return [*lines, f"uint16_t p = {narrow};"]
    if r < 0:
        k = -r
        lines = []
        if must_cap:
            limit = (cap >> k) + 1
            if bound > limit:
                lines += [f"if (u > {limit}u) {{", f"    u = {limit}u;", "}"]
                bound = limit
        if bound <= 0xFF and k <= 7:
            lines.append(f"uint16_t p = (uint16_t)((uint8_t)u * {1 << k}u);")
        else:
            lines.append(f"uint32_t w = (uint32_t)u << {k};")
            lines.append(f"uint16_t p = (uint16_t)(w > {cap}UL ? {cap}u : w);"
                         if must_cap else "uint16_t p = (uint16_t)w;")
            return lines
        if must_cap and bound << k > cap:
            lines += [f"if (p > {cap}u) {{", f"    p = {cap}u;", "}"]
        return lines
    if must_cap and bound > cap:
        return [f"uint16_t p = (uint16_t)(u > {cap}u ? {cap}u : u);"]
    return ["uint16_t p = (uint16_t)u;"]


def rounding_in_bias(q: QuantLayer) -> int:
    """The rounding half that the generated C adds to every bias of a ReLU layer (0: none).

    For r = shift > 0 the emulator's ``acc > 0 ? (acc + h) >> r : 0`` (h = 2**(r-1)) is
    ``max(0, floor((acc + h) / 2**r))`` for every acc, because acc <= 0 gives acc + h < 2**r:
    with h already in the bias, the activation is a sign test and a shift (for r = 8 the high
    byte). Only where every ``acc + h`` still fits the 16-bit accumulator."""
    if q.activation != "relu" or q.shift <= 0 or q.acc_bits != 16 or not q.has_biases:
        return 0
    half = 1 << (q.shift - 1)
    return half if q.acc_bound + half <= 0x7FFF else 0


def _relu_of_rounded(q: QuantLayer, fmt: Format, utype: str, act_type: str,
                     prefix: str) -> list[str]:
    """ReLU of an accumulator that carries its rounding half (rounding_in_bias)."""
    lines = ["if (acc < 0) {", "    return 0;", "}", f"{utype} u = ({utype})acc;"]
    lines += _position(q, fmt, utype, fmt.act_max, q.saturates, prefix, rounded=True)
    return [*lines, f"return ({act_type})p;"]


def frac_tag(frac: int) -> str:
    """``frac`` as part of an identifier: 8 -> "8", -1 -> "m1" (a minus sign is no letter)."""
    return str(frac) if frac >= 0 else f"m{-frac}"


def direct_table_name(prefix: str, frac: int) -> str:
    """The C name of the exact tanh table for arguments with ``frac`` fractional bits."""
    return f"{prefix}_tanh_f{frac_tag(frac)}"


def _signed_shift16(q: QuantLayer, fmt: Format, act_type: str, prefix: str) -> list[str] | None:
    """Identity output of a 16-bit accumulator without taking its magnitude, or None.

    ``sign(a) * ((|a| + h) >> r) == floor((a + h - (a < 0)) / 2**r)``; adding 2**15 first
    keeps every shifted value non-negative, and 2**15 >> r is subtracted again (for q7 and
    r <= 7 it is a multiple of 256, so the low byte of the shifted value is already it)."""
    r = q.shift
    if (q.activation != "identity" or q.saturates or q.acc_bits != 16 or not 0 < r <= 15
            or q.acc_bound + (1 << (r - 1)) > 0x7FFF):
        return None
    lines = [f"const uint16_t v = (uint16_t)((uint16_t)acc + {(1 << (r - 1)) + 0x8000}u"
             " - (uint16_t)((uint16_t)acc >> 15));"]
    if fmt.bits == 7 and r <= 7:
        return [*lines, f"return ({act_type})(uint8_t)((uint16_t)(v << {8 - r}) >> 8);"]
    return [*lines, f"return ({act_type})((int16_t){shift16('v', r, prefix)} - {0x8000 >> r});"]


def _signed_shift32(q: QuantLayer, act_type: str, prefix: str) -> list[str] | None:
    """Identity output of a 32-bit accumulator without taking its magnitude, or None.

    The same identity as _signed_shift16, in uint32_t arithmetic modulo 2**32: for
    r <= 16, (v >> r) modulo 2**16 is floor((a + h - (a < 0)) / 2**r) modulo 2**16 also
    where v wrapped (a negative), and the bound proves the output fits its type."""
    r = q.shift
    if q.activation != "identity" or q.saturates or q.acc_bits != 32 or not 0 < r <= 16:
        return None
    return [f"const uint32_t v = (uint32_t)acc + {1 << (r - 1)}u - ((uint32_t)acc >> 31);",
            f"return ({act_type})(int16_t){shift32_to16('v', r, prefix)};"]


def activation_body(q: QuantLayer, fmt: Format, utype: str, act_type: str,
                    prefix: str, clamp: bool = True) -> list[str]:
    """Statements of ``act_t PREFIX_actN(acc_t acc)``; ``clamp=False`` when the C table
    is long enough (copies of its last entry) for every position the layer reaches."""
    if rounding_in_bias(q):
        return _relu_of_rounded(q, fmt, utype, act_type, prefix)
    table = q.activation in ("tanh", "logistic")
    cap = fmt.position_max if table else fmt.act_max
    signed = ((_signed_shift16(q, fmt, act_type, prefix) or _signed_shift32(q, act_type, prefix))
              if q.acc_min < 0 else None)
    if signed:
        return signed
    if q.direct:
        read = "RD8" if fmt.bits == 7 else "RD16"
        magnitude = "acc" if q.acc_min >= 0 else "(acc < 0 ? -acc : acc)"
        table_name = direct_table_name(prefix, q.table_frac)
        lines = [f"const uint8_t k = (uint8_t){magnitude};",
                 f"{act_type} y = {prefix.upper()}_{read}(&{table_name}[k]);"]
    else:
        lines = _magnitude(q, utype)
        lines += _position(q, fmt, utype, cap, (table and clamp) or q.saturates, prefix)
    if table:
        if not q.direct:
            lines.append(f"{act_type} y = {prefix}_tanh_at(p);")
        if q.acc_min < 0:
            lines.append(f"y = acc < 0 ? ({act_type})-y : y;")
        if q.activation == "tanh":
            return [*lines, "return y;"]
        return [*lines,
                f"return ({act_type})((uint16_t)((uint16_t)y + {1 << fmt.bits}u) >> 1);"]
    if q.activation == "relu" or q.acc_min >= 0:
        return [*lines, f"return ({act_type})p;"]
    return [*lines, f"return acc < 0 ? ({act_type})-({act_type})p : ({act_type})p;"]

