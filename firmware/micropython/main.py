# pixelnet firmware for MicroPython boards: reads the four photodiodes, runs
# the generated network (pixelnet_model.py) and speaks the serial protocol of
# firmware/PROTOCOL.md on the USB serial port (sys.stdin / sys.stdout).
#
# Copy main.py, px*.py and pixelnet_model.py to the board's filesystem
# (`pixelnet flash --board micropython --port PORT` does it with mpremote).
#
# Ctrl-C is switched off while the protocol runs, because 0x03 is an ordinary
# byte inside frames. For the first BOOT_WINDOW_MS after a reset it still works
# and nothing is read from the port: that is when mpremote (and `pixelnet flash`,
# which first sends RESET) breaks into the REPL to copy new files. The banner
# comes after the window.
import sys
import time

import machine
import micropython
import pixelnet_model
import pxapp
import pxboard

BOOT_WINDOW_MS = 500
RESET_FLUSH_MS = 20


def main():
    name, pins = pxboard.this_board()
    if name.startswith("virtual"):
        window = 0  # the unix port has no REPL on its serial line to break into
    else:
        window = BOOT_WINDOW_MS
    time.sleep_ms(window)
    micropython.kbd_intr(-1)
    try:
        port = pxboard.Port(sys.stdin.buffer, sys.stdout.buffer)
        sensor = pxboard.Sensor(pxboard.open_adcs(machine, pins))
        pxapp.App(port, sensor, pixelnet_model, name).run()
    finally:
        micropython.kbd_intr(3)
    time.sleep_ms(RESET_FLUSH_MS)  # let USB send the ACK before the reset cuts it off
    machine.reset()  # the host asked for RESET: restart as after power-on


main()
