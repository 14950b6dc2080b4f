#!/usr/bin/env python3
"""Mutation testing of the proof-critical code: plant one small bug, run the tests that should
catch it, put the code back, repeat. A mutant that no test kills is a hole in the proof, or an
equivalent change (tests/MUTATION.md lists which, and why).

Operators (one token at a time): comparisons (== != < <= > >=), arithmetic (+ - * //),
shifts (<< >>), and/or, True/False, small integer constants (0 1 2 -> +1), min/max and
np.all/np.any. Python is mutated through its tokens (never inside strings or comments); C
through the code of its lines, in the protocol (pn_frame.c) and in the functions of pn_app.c
that check frames, read vectors, average the ADC and validate calibrations.

Bounded: each file gets at most ``--per-file`` mutants, spread evenly over its candidates
(deterministic), and runs only its own test subset, each mutant with a timeout of a few times
that subset's clean run. Files are restored after every mutant (and on Ctrl-C); the script
refuses to start while a target file has uncommitted changes, so git can always restore it.

    make mutation                      # or: .venv/bin/python scripts/mutate.py --per-file 20
"""

from __future__ import annotations

import argparse
import io
import json
import re
import signal
import subprocess
import sys
import time
import tokenize
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]

# file -> the tests that should kill its mutants (fast ones: the virtual boards stay out)
TARGETS: dict[str, list[str]] = {
    "codegen/emulator.py": ["tests/test_codegen_quantize.py", "tests/test_board_definitions.py",
                            "tests/test_host_verify.py", "tests/test_arduino_protocol.py"],
    "codegen/quantize.py": ["tests/test_codegen_quantize.py", "tests/test_board_definitions.py",
                            "tests/test_arduino_protocol.py"],
    "host/compare.py": ["tests/test_host_verify.py", "tests/test_verifier_catches.py"],
    "host/verify.py": ["tests/test_host_verify.py", "tests/test_verifier_catches.py",
                       "tests/test_faults.py", "tests/test_link_faults.py::"
                       "test_ctrl_c_while_a_batch_is_being_logged_keeps_report_and_log_equal",
                       "-m", "not slow"],
    "host/frames.py": ["tests/test_frames.py", "tests/test_host_client.py"],
    "firmware/arduino/pixelnet_uno/pn_frame.c": ["tests/test_arduino_protocol.py"],
    "firmware/arduino/pixelnet_uno/pn_app.c": ["tests/test_arduino_protocol.py",
                                               "tests/test_board_definitions.py"],
}
# pn_app.c: only the protocol checks and the averaging (the rest is plumbing, tested end to end)
C_FUNCTIONS = {"pn_app.c": ("read_sensor", "length_ok", "read_vector", "calibration_valid",
                            "cmd_calibrate", "cmd_average", "cmd_stream")}

PY_SWAPS = {
    "==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">",
    "+": "-", "-": "+", "*": "//", "//": "*", "<<": ">>", ">>": "<<",
    "and": "or", "or": "and", "True": "False", "False": "True", "min": "max", "max": "min",
    "all": "any", "any": "all",
}
C_PATTERNS = [  # (regex, replacement) applied at one match
    (r"==", "!="), (r"!=", "=="), (r"(?<![<>=!])<(?![<=])", "<="), (r"<=", "<"),
    (r"(?<![-<>=!])>(?![>=])", ">="), (r">=", ">"), (r"(?<![+])\+(?![+=])", "-"),
    (r"(?<![-])-(?![->=])", "+"), (r">>", "<<"), (r"<<", ">>"), (r"&&", "||"),
    (r"\|\|", "&&"), (r"\b0u?\b", "1"), (r"\b1u?\b", "2"), (r"\b2u?\b", "3"),
]


@dataclass
class Mutant:
    path: str
    line: int
    before: str
    after: str
    status: str = ""  # killed, survived, timeout

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.before.strip()}  ->  {self.after.strip()}"


def python_mutants(path: str, text: str) -> list[tuple[int, str]]:
    """(line, mutated source) for every operator token outside strings and comments."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        new = None
        if tok.type in (tokenize.OP, tokenize.NAME) and tok.string in PY_SWAPS:
            new = PY_SWAPS[tok.string]
        elif tok.type == tokenize.NUMBER and tok.string in ("0", "1", "2"):
            new = str(int(tok.string) + 1)
        if new is None or _in_annotation_or_import(lines[tok.start[0] - 1]):
            continue
        at = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        mutated = text[:at] + new + text[end:]
        try:
            compile(mutated, path, "exec")
        except SyntaxError:  # e.g. *args made //args: no program, no mutant
            continue
        found.append((tok.start[0], mutated))
    return found


def _in_annotation_or_import(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("import ", "from ", "def ", "class ", "@", "__all__"))


def c_mutants(path: str, text: str) -> list[tuple[int, str]]:
    """(line, mutated source) for operators in the chosen functions' code lines."""
    lines = text.splitlines(keepends=True)
    wanted = C_FUNCTIONS.get(Path(path).name)
    found = []
    in_function = wanted is None
    for i, line in enumerate(lines):
        if wanted is not None and re.match(r"^\w[\w\s\*]*\b(\w+)\s*\(", line):
            name = re.match(r"^\w[\w\s\*]*\b(\w+)\s*\(", line).group(1)
            in_function = name in wanted
        code = line.split("/*")[0].split("//")[0]
        if not in_function or code.lstrip().startswith(("*", "#")) or not code.strip():
            continue
        for pattern, replacement in C_PATTERNS:
            for match in re.finditer(pattern, code):
                mutated = line[: match.start()] + replacement + line[match.end():]
                found.append((i + 1, "".join([*lines[:i], mutated, *lines[i + 1:]])))
    return found


def spread(items: list, k: int) -> list:
    """At most ``k`` items, evenly spaced (deterministic)."""
    if len(items) <= k:
        return items
    return [items[(i * len(items)) // k] for i in range(k)]


def run_tests(args: list[str], timeout: float) -> str:
    try:
        result = subprocess.run([*PYTEST, *args], cwd=ROOT, capture_output=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def check_clean(paths: list[str]) -> None:
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        sys.exit(f"mutate: commit or stash these first, so they can be restored:\n{dirty}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-file", type=int, default=8, help="mutants per file")
    parser.add_argument("--only", help="only the target files containing this text")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    targets = {p: t for p, t in TARGETS.items() if args.only is None or args.only in p}
    check_clean(list(targets))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results: list[Mutant] = []
    started = time.monotonic()
    for path, tests in targets.items():
        source = ROOT / path
        original = source.read_text()
        t0 = time.monotonic()
        if run_tests(tests, timeout=1800) != "survived":
            sys.exit(f"mutate: the tests for {path} fail without any mutant: {tests}")
        budget = max(60.0, 3 * (time.monotonic() - t0))
        make = python_mutants if path.endswith(".py") else c_mutants
        candidates = make(path, original)
        chosen = spread(candidates, args.per_file)
        print(f"{path}: {len(chosen)} of {len(candidates)} mutants "
              f"(tests {time.monotonic() - t0:.0f} s each)", flush=True)
        for line, text in chosen:
            before = original.splitlines()[line - 1]
            mutant = Mutant(path, line, before, text.splitlines()[line - 1])
            try:
                source.write_text(text)
                mutant.status = run_tests(tests, budget)
            finally:
                source.write_text(original)
            results.append(mutant)
            mark = {"killed": "killed  ", "timeout": "timeout ", "survived": "SURVIVED"}
            print(f"  {mark[mutant.status]} {mutant.describe()}", flush=True)
    killed = sum(m.status != "survived" for m in results)
    rate = 100 * killed / max(1, len(results))
    print(f"\n{killed} of {len(results)} mutants killed ({rate:.0f} %) "
          f"in {time.monotonic() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps([asdict(m) for m in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
