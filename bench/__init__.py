"""Benchmarks: pixelnet against its peers, reported as ratios and exact counts."""
