"""Code generation: quantisation, the integer emulator (the numeric contract), templates."""
