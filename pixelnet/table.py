"""Text tables whose columns line up whatever the numbers in them."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(rows: Sequence[Sequence[str]], *, left: int = 1, indent: str = "",
            gap: str = "  ") -> list[str]:
    """Each column as wide as its widest cell, cells separated by at least ``gap``.

    The first ``left`` columns (names) are left-aligned, the others (numbers) right-aligned,
    so a wide number widens its column instead of running into its neighbour.
    """
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + gap.join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
