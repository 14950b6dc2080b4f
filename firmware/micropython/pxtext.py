# Text mode: a person at a terminal on the same line as the binary protocol, as
# pn_text.c does on the Arduino boards (firmware/PROTOCOL.md, "Text mode").
#
# A frame's first wire byte (its COBS code) is at most 65, so a segment (the bytes
# since the last 0x00) that starts with a larger byte is never a frame: only there
# is a line ending in CR or LF taken as a command. Outside text mode only the exact
# command words count; in text mode every such line gets an answer. Everything
# printed starts with a lowercase letter, and leaving text mode writes a lone 0x00.
from micropython import const

_FRAME_FIRST_MAX = const(65)
_LINE_MAX = const(8)
RATE = const(10)  # lines a second after `start`
# what a received byte meant (Text.on_byte)
NONE = const(0)  # nothing: the frame reader's byte
SKIP = const(1)  # trails a command line (the LF of CR LF, blank lines): drop it
LINE = const(2)  # ended a command line, answered: stop any stream
START = const(3)  # ended `start`: stream text lines at RATE
_CR = const(13)
_LF = const(10)
HELP = (b"commands: help, sample (one line), start (10 lines/s), stop; a binary frame "
        b"ends text mode\r\n")
UNKNOWN = b"unknown command; type help\r\n"
NO_SENSOR = b"no sample: this board has no ADC for the fourth pixel\r\n"


class Text:
    def __init__(self, port, measure, info_line, classes):
        # measure() -> (cls, out): one reading through the model, or None without a
        # complete sensor; the caller streams
        # (App._start_stream) and calls sample() while `active`
        self.port = port
        self.measure = measure
        self.info_line = info_line
        self.classes = [c.encode() for c in classes]
        self.line = bytearray(_LINE_MAX)
        self.active = False
        self.after_line = False
        self.seg_len = 0
        self.seg_first = 0
        self.line_len = 0
        self.line_long = False

    def on_byte(self, byte):
        # NONE, or SKIP / LINE / START for a byte of a command line (answered)
        if byte == 0:
            self.seg_len = 0
            self.after_line = False
            self._new_line()
            return NONE
        if self.after_line and (byte == _CR or byte == _LF):
            return SKIP
        self.after_line = False
        if self.seg_len == 0:
            self.seg_first = byte
        self.seg_len += 1
        if self.seg_first <= _FRAME_FIRST_MAX:
            return NONE
        if byte != _CR and byte != _LF:
            if self.line_len < _LINE_MAX:
                self.line[self.line_len] = byte
                self.line_len += 1
            else:
                self.line_long = True
            return NONE
        word = None if self.line_long else bytes(self.line[:self.line_len])
        self._new_line()
        if word not in (b"help", b"sample", b"start", b"stop") and not self.active:
            return NONE
        self._run(word)
        self.seg_len = 0
        self.after_line = True
        return START if word == b"start" else LINE

    def _new_line(self):
        self.line_len = 0
        self.line_long = False

    def _run(self, word):
        # `start` starts the lines (the caller's stream); any other command stops them
        self.active = True
        if word == b"help":
            self.port.write(self.info_line)
            self.port.write(self._class_line())
            self.port.write(HELP)
        elif word == b"sample":
            self.sample()
        elif word not in (b"start", b"stop"):
            self.port.write(UNKNOWN)

    def sample(self):
        # one line of numbers the Serial Plotter draws: NAME:value per output, then
        # class:INDEX (a word as a value would be a series without points)
        reading = self.measure()
        if reading is None:
            self.port.write(NO_SENSOR)
            return
        cls, out = reading
        parts = [name + b":" + str(out[i]).encode() for i, name in enumerate(self.classes)]
        parts.append(b"class:" + str(cls).encode())
        self.port.write(b" ".join(parts) + b"\r\n")

    def _class_line(self):
        # "class 0 solid, 1 vertical, ...": what the number after class: means
        names = [str(i).encode() + b" " + name for i, name in enumerate(self.classes)]
        return b"class " + b", ".join(names) + b"\r\n"

    def leave(self):
        if self.active:
            self.active = False
            self.port.write(b"\x00")
