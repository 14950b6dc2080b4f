# pixelnet virtual board (MicroPython unix port): a stand-in for `machine`
# whose ADC sees a simulated 2x2 photodiode array. Never copied to a board.
#
# Scene physics (the shared contract of the virtual boards): pixel i shows
# s_i in [-1, 1]; v_i = clamp(offset_i + gain_i * light * (s_i + 1) / 2
# + noise * N(0, 1), 0, 1); count = floor(v_i * 1023); read_u16() = count << 6.
#
# Scene commands arrive as text lines on a FIFO (already checked by the host
# side, firmware/virtual_micropython.py) and are applied from the firmware's
# own loop, at the next ADC reading: `pixels a b c d`, `light L`,
# `gain g0 g1 g2 g3`, `offset o0 o1 o2 o3`, `noise S`, `seed N`.
import math
import random
import select
import sys
import time

RESET_EXIT = 75  # exit status that asks the host side for a hard restart
_CONVERSION_US = 100  # one conversion when running in real time
_SLEEP_MIN_US = 1000


class _Scene:
    def __init__(self):
        self.pixels = [1.0, 1.0, 1.0, 1.0]
        self.light = 0.9
        self.gain = [1.0, 1.0, 1.0, 1.0]
        self.offset = [0.05, 0.05, 0.05, 0.05]
        self.noise = 0.0
        self.realtime = False
        self.busy_until = time.ticks_us()
        self.control = None
        self.poller = None

    def attach(self, control_path, realtime):
        self.control = open(control_path, "rb")
        self.poller = select.poll()
        self.poller.register(self.control, select.POLLIN)
        self.realtime = realtime
        self.poll_control()

    def poll_control(self):
        while self.poller is not None and self.poller.poll(0):
            line = self.control.readline()
            if not line:
                return
            self.apply(line.decode().split())

    def apply(self, words):
        name = words[0]
        values = [float(w) for w in words[1:]]
        if name == "pixels":
            self.pixels = values
        elif name == "light":
            self.light = values[0]
        elif name == "gain":
            self.gain = values
        elif name == "offset":
            self.offset = values
        elif name == "noise":
            self.noise = values[0]
        elif name == "seed":
            random.seed(int(values[0]))

    def take_time(self, us):
        # Conversions take `us` on average: a simulated clock runs ahead and the
        # process sleeps only once it leads by a millisecond, as short sleeps overshoot.
        now = time.ticks_us()
        if time.ticks_diff(now, self.busy_until) > 0:
            self.busy_until = now
        self.busy_until = time.ticks_add(self.busy_until, us)
        ahead = time.ticks_diff(self.busy_until, now)
        if ahead >= _SLEEP_MIN_US:
            time.sleep_us(ahead)

    def count(self, i):
        v = self.offset[i] + self.gain[i] * self.light * (self.pixels[i] + 1.0) / 2.0
        if self.noise:
            v += self.noise * _gauss()
        v = min(1.0, max(0.0, v))
        return int(math.floor(v * 1023))


def _gauss():
    # Box-Muller; 1 - random() lies in (0, 1], so the log is finite
    u1 = 1.0 - random.random()
    u2 = random.random()
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


scene = _Scene()


class Pin:
    def __init__(self, pin_id, *args, **kwargs):
        self.id = pin_id


class ADC:
    def __init__(self, pin):
        self.channel = pin.id if isinstance(pin, Pin) else pin

    def read_u16(self):
        if self.channel == 0:
            scene.poll_control()
        if scene.realtime:
            scene.take_time(_CONVERSION_US)
        return scene.count(self.channel) << 6


def reset():
    sys.exit(RESET_EXIT)
