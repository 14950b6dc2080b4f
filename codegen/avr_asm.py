"""AVR assembly for q7 layers on cores with a hardware multiplier (the `PREFIX_AVR_MUL` path).

avr-gcc compiles the C of a q7 layer loop well but not to its floor: it clears ``r1``
after every multiply, closes a loop with a pointer compare and (misjudging the length
of inline assembly) a long branch, and moves the weight pointer in and out of ``Z``
around every table lookup. Here Python writes, per layer, the instructions of the whole
neuron loop (bias, multiply-accumulates, activation, store, ``dec`` + ``brne``) for the
activations that have a short exact form; every other layer keeps the C, which every
core compiles. The integers are the emulator's, bit for bit (the same arithmetic as the
C activation bodies, see c_activation).

Operand names used by the instruction lists: ``s`` the 16-bit sum (an upper register
pair: ``subi``/``sbci``), ``t`` a scratch upper register, ``y`` the result byte.
"""

from __future__ import annotations

from .c_activation import rounding_in_bias
from .quantize import Format, QuantLayer

TANH_SHIFTS = range(1, 4)  # shifts the assembly tanh takes (2 cycles a bit)
IDENTITY_SHIFTS = range(5, 9)  # identity outputs: 2 cycles per bit of 8 - shift
# muls reads r16..r31: with the pointers X and Z and perhaps a frame pointer in Y, r16..r25
# are left for the inputs, t and the sum (subi/sbci), and avr-gcc needs some of them too
LOOP_INPUTS = 4


def _add16(value: int, carry: bool = False) -> list[str]:
    """``s += value`` (less the carry flag, if ``carry``) modulo 2**16, as ``subi``/``sbci``
    of -value (an upper register pair: there is no add-immediate)."""
    minus = -value & 0xFFFF
    return [f"{'sbci' if carry else 'subi'} %A[s], {minus & 0xFF}", f"sbci %B[s], {minus >> 8}"]


def tanh_steps(q: QuantLayer, fmt: Format, clamp: bool, table: list[str]) -> list[str]:
    """The q7 tanh of ``s`` into ``y`` (empty where it does not apply). The sign goes to the
    T flag, the magnitude is rounded and shifted in place, its high byte indexes the table
    (long enough that no position needs a clamp: ``clamp`` False), one ``mul``
    interpolates, rounding through the carry as ``ADD_MUL8_ROUND`` does, and the sign is
    put back. ``table``: the instructions that point ``Z`` at the table."""
    r = q.shift
    if (fmt.bits != 7 or q.activation != "tanh" or q.direct or q.acc_bits != 16 or clamp
            or fmt.tail_bits or r not in TANH_SHIFTS):
        return []
    return [
        "bst %B[s], 7", "brtc 2f", "neg %B[s]", "neg %A[s]", "sbc %B[s], __zero_reg__", "2:",
        *_add16(1 << (r - 1)), *(["lsr %B[s]", "ror %A[s]"] * r),
        *table, "add r30, %B[s]", "adc r31, __zero_reg__",
        "lpm %[y], Z+", "lpm %[t], Z", "sub %[t], %[y]", "mul %[t], %A[s]", "lsl r0",
        "adc %[y], r1", "brtc 3f", "neg %[y]", "3:",
    ]


def tanh_function(q: QuantLayer, fmt: Format, prefix: str, clamp: bool) -> list[str]:
    """The body of a q7 layer's tanh function as one assembly block (tanh_steps), or []."""
    steps = tanh_steps(q, fmt, clamp, [])
    if not steps:
        return []
    text = _quoted([*steps, "clr __zero_reg__"], "        ")
    text[0] = "__asm__(" + text[0].lstrip()
    return ["uint16_t s = (uint16_t)acc;", f"const int8_t *table = {prefix}_tanh_table;",
            "uint8_t y, t;", *text,
            '        : [s] "+d"(s), "+z"(table), [y] "=&r"(y), [t] "=&d"(t) : : "r0");',
            "return (int8_t)y;"]


def _relu_steps(q: QuantLayer) -> list[str]:
    """ReLU with the rounding half in the bias and a shift of 8: the high byte, 0 if
    negative (c_activation.rounding_in_bias)."""
    if q.shift != 8 or not rounding_in_bias(q) or q.saturates:
        return []
    return ["sbrc %B[s], 7", "clr %B[s]"]


def _identity_steps(q: QuantLayer) -> list[str]:
    """Identity output: ``floor((s + h - (s < 0)) / 2**r)`` (c_activation's signed shift),
    the sign shifted into the carry so that ``sbci`` subtracts it while adding h; the
    result is the high byte after 8 - r left shifts, left in ``s``'s high byte."""
    r = q.shift
    if (q.activation != "identity" or q.saturates or q.acc_bits != 16
            or r not in IDENTITY_SHIFTS or q.acc_bound + (1 << (r - 1)) > 0x7FFF):
        return []
    return ["mov %[t], %B[s]", "lsl %[t]", *_add16(1 << (r - 1), carry=True),
            *(["lsl %A[s]", "rol %B[s]"] * (8 - r))]


def _quoted(steps: list[str], indent: str) -> list[str]:
    """Instructions as C string literals, a few to a line; a label ends its line."""
    lines, line = [], []
    for step in steps:
        line.append(f'"{step}\\n"' if step.endswith(":") else f'"{step}\\n\\t"')
        if step.endswith(":") or len(line) == 4:
            lines.append(indent + " ".join(line))
            line = []
    if line:
        lines.append(indent + " ".join(line))
    return lines


def loop_layer(q: QuantLayer, fmt: Format, prefix: str, clamp: bool, inputs: list[str],
               weights: str) -> list[str]:
    """C statements running every neuron of a q7 loop layer (inputs pinned to upper
    registers, named ``inputs``; weight stream ``weights``: per neuron its bias, then its
    weights) in one assembly block, or [] where an activation has no assembly form here.
    Per neuron: the bias (2 ``lpm``), 7 cycles per weight, the activation, ``st``, and
    ``dec`` + ``brne``."""
    if fmt.bits != 7 or q.acc_bits != 16 or len(inputs) != q.n_in or q.n_in > LOOP_INPUTS:
        return []
    table = ["movw %[ws], r30", "ldi r30, lo8(%[tab])", "ldi r31, hi8(%[tab])"]
    tanh = tanh_steps(q, fmt, clamp, table)
    # the sign and the table's address need r1 = 0 (the products leave it dirty)
    act = ["clr __zero_reg__", *tanh] if tanh else _relu_steps(q) or _identity_steps(q)
    if not act:
        return []
    result = "%[y]" if q.activation == "tanh" else "%B[s]"
    body = ["lpm %A[s], Z+", "lpm %B[s], Z+"] if q.has_biases else []
    for k, name in enumerate(inputs):
        add = (["add %A[s], r0", "adc %B[s], r1"] if q.has_biases or k
               else ["movw %A[s], r0"])
        body += ["lpm %[t], Z+", f"muls %[{name}], %[t]", *add]
    body += act
    if q.activation == "tanh":
        body.append("movw r30, %[ws]")
    body += [f"st %a[out]+, {result}", "dec %[n]"]
    # at most 4 weights and the longest tanh: under 50 words, within brne's reach
    body = ["1:", *body, "brne 1b", "clr __zero_reg__"]  # r1 cleared once per layer
    outputs = ['[s] "=&d"(acc)', '[t] "=&d"(t)', '[w] "+z"(w)',
               '[out] "+x"(y)', '[n] "+r"(j)']
    declarations = ["int16_t acc;", "uint8_t t;", f"uint8_t j = {q.n_out};",
                    f"const int8_t *w = {weights};"]
    ins = [f'[{name}] "d"({name})' for name in inputs]
    if q.activation == "tanh":
        outputs += ['[y] "=&r"(r)', '[ws] "=&r"(saved)']
        ins.append(f'[tab] "i"({prefix}_tanh_table)')
        declarations += ["uint8_t r;", "uint16_t saved;"]
    text = _quoted(body, "        ")
    text[0] = "__asm__ __volatile__(" + text[0].lstrip()  # its effect is the stores
    return [*declarations, *text, f"        : {', '.join(outputs)}",
            f"        : {', '.join(ins)}", '        : "r0", "memory");']
