"""Board side: the Arduino sketch, the MicroPython program, build/flash, and the virtual boards."""
