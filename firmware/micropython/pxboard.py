# pixelnet firmware (MicroPython): which pins the four photodiodes are on,
# the averaged sensor reading, and the serial port.
#
# Board table: pixel order TL, TR, BL, BR (A0..A3 on an Uno). `None` marks a
# pixel the board cannot read; such a board still answers every command that
# does not need the sensor (INFO, INFER, TRACE, INFER_RAW, CALIBRATE set/reset)
# and replies BAD_ARG to the ones that do (SAMPLE, STREAM, CALIBRATE dark/bright),
# so a missing pixel is never silently invented.
#
# - ESP32: ADC1 only (ADC2 is taken by Wi-Fi): GPIO36 (VP), 39 (VN), 34, 35.
# - ESP32-S3 / -C3: ADC1 GPIO1..4 / GPIO0..3.
# - RP2040 boards that bring out GP29 (Seeed XIAO RP2040, Adafruit QT Py / Feather
#   RP2040): GP26..29.
# - Raspberry Pi Pico / Pico W: GP29 is wired to the VSYS divider (and the Pico W's
#   Wi-Fi), so only three pixels can be read: BR is unavailable. Use an RP2040 board
#   with GP29 on a pin, or put BR on an external ADC and add it here.
# - pyboard: X19..X22.
# - the virtual board (MicroPython unix port): simulated ADC channels 0..3.
import sys

from micropython import const

MAX_AVERAGING = const(64)
DEFAULT_AVERAGING = const(1)  # as on the Uno; AVERAGE sets more

_TABLE = (
    # (sys.platform, substring of sys.implementation._machine or "", board name, pins)
    ("esp32", "ESP32S3", "esp32s3", (1, 2, 3, 4)),
    ("esp32", "ESP32C3", "esp32c3", (0, 1, 2, 3)),
    ("esp32", "", "esp32", (36, 39, 34, 35)),
    ("rp2", "Pico", "rp2-pico", (26, 27, 28, None)),
    ("rp2", "", "rp2", (26, 27, 28, 29)),
    ("pyboard", "", "pyboard", ("X19", "X20", "X21", "X22")),
    ("linux", "", "virtual-micropython", (0, 1, 2, 3)),
)


def lookup(platform, machine_name):
    # (board name, pins) for this board; unknown boards get a clear error
    for plat, marker, name, pins in _TABLE:
        if plat == platform and marker in machine_name:
            return name, pins
    raise OSError("pixelnet: no ADC pins for %s (%s): add it to pxboard._TABLE"
                  % (platform, machine_name))


def this_board():
    return lookup(sys.platform, getattr(sys.implementation, "_machine", ""))


def open_adcs(machine, pins):
    # one machine.ADC per pixel (None where the board has no pin), full range
    adcs = []
    for pin in pins:
        if pin is None:
            adcs.append(None)
            continue
        adc = machine.ADC(machine.Pin(pin))
        if hasattr(adc, "atten") and hasattr(machine.ADC, "ATTN_11DB"):
            adc.atten(machine.ADC.ATTN_11DB)  # ESP32: 0..3.3 V instead of 0..1 V
        adcs.append(adc)
    return adcs


class Sensor:
    # Four pixels in 10-bit counts (read_u16() >> 6), each the rounded mean of
    # `averaging` readings; integers only.

    def __init__(self, adcs, averaging=DEFAULT_AVERAGING):
        self.adcs = adcs
        self.averaging = averaging
        self.complete = None not in adcs

    def read(self, counts):
        n = self.averaging
        half = n >> 1
        for i in range(4):
            adc = self.adcs[i]
            total = 0
            for _ in range(n):
                total += adc.read_u16() >> 6
            counts[i] = (total + half) // n


class Port:
    # Non-blocking bytes over a pair of streams: sys.stdin.buffer /
    # sys.stdout.buffer (USB serial or the unix port's pty) or one machine.UART
    # passed as both. select.poll says whether a byte is waiting, so the main
    # loop never blocks on input and sleeps in wait() when idle.

    def __init__(self, rx, tx):
        import select

        self.rx = rx
        self.tx = tx
        self.poller = select.poll()
        self.poller.register(rx, select.POLLIN)
        self.one = bytearray(1)

    def wait(self, timeout_ms):
        # until a byte is waiting or timeout_ms passed; True if a byte is waiting
        for _ in self.poller.ipoll(timeout_ms):
            return True
        return False

    def read_byte(self):
        # the next byte, or -1 when none is waiting (ipoll allocates nothing)
        for _ in self.poller.ipoll(0):
            if self.rx.readinto(self.one):
                return self.one[0]
        return -1

    def write(self, data):
        self.tx.write(data)

    def set_baud(self, baud):
        # a machine.UART changes speed; USB serial and the unix port's pty have none
        # to change, so the version 2 BAUD command is acknowledged and changes nothing
        init = getattr(self.tx, "init", None)
        if init is not None:
            self.tx.flush()
            init(baudrate=baud)
