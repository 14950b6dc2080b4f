"""Checked argument types for the command line: a bad value stops before any work.

Each factory returns an argparse ``type=`` callable that parses one value and
checks its range, raising ``argparse.ArgumentTypeError`` with a message that
says what is accepted. NaN and infinity are never accepted as numbers; whole
numbers are bounded above as well as below, so a typo of a few extra digits
cannot start a run that allocates gigabytes or never ends.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence

from pixelnet.errors import PixelnetError

# Above this a whole-number argument is a typo, not a request (and Python's str -> int
# conversion of thousands of digits is itself slow).
MAX_DIGITS = 30
# An error bound (``--max-error``) in output units: far above any output's range; more is
# a typo, and NaN, which every comparison would pass, is refused like any non-number.
MAX_ERROR = 1e6


def _whole(text: str) -> int:
    stripped = text.strip()
    if len(stripped) > MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"{_quoted(text)} is not a whole number in range")
    try:
        return int(stripped, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_quoted(text)} is not a whole number") from None


def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_quoted(text)} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{_quoted(text)} is not a finite number")
    return value


def _quoted(text: str) -> str:
    """The user's text in a message: repr (so control characters are escaped), cut short."""
    shown = repr(text)
    return shown if len(shown) <= 42 else shown[:39] + "...'"


def int_range(low: int, high: int) -> Callable[[str], int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        value = _whole(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{_quoted(text)} is out of range (a whole number from {low:,} to {high:,})")
        return value

    return parse


def float_range(
    low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite number between low and high; ``*_open`` excludes that end."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"

    def parse(text: str) -> float:
        value = _real(text)
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (above and below):
            raise argparse.ArgumentTypeError(
                f"{_quoted(text)} is out of range (a number in {left}{low:g}, {high:g}{right})")
        return value

    return parse


def int_list(low: int, high: int, max_items: int) -> Callable[[str], tuple[int, ...]]:
    """Comma-separated whole numbers, each in [low, high], at most ``max_items`` of them."""
    item = int_range(low, high)

    def parse(text: str) -> tuple[int, ...]:
        parts = text.split(",")
        if len(parts) > max_items:
            raise argparse.ArgumentTypeError(
                f"{len(parts)} values; at most {max_items} are supported")
        try:
            return tuple(item(part) for part in parts)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated whole numbers from {low} to {high}: {exc}") from None

    return parse


def name_list(
    known: Sequence[str], max_items: int, what: str = "name"
) -> Callable[[str], tuple[str, ...]]:
    """Comma-separated names, each one of ``known`` (each a ``what``)."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(","))
        if len(names) > max_items:
            raise argparse.ArgumentTypeError(
                f"{len(names)} values; at most {max_items} are supported")
        for name in names:
            if name not in known:
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {_quoted(name)} (known: {', '.join(known)})")
        return names

    return parse


def checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """A string accepted when ``check`` (a library validator raising an error) accepts it."""

    def parse(text: str) -> str:
        try:
            check(text)
        except PixelnetError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return parse
