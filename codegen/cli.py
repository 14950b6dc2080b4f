"""Subcommands of this folder (filled in by its issue)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this folder's subcommands to the `pixelnet` parser."""
