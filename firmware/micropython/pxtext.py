# Text mode: a person at a terminal on the same line as the binary protocol, as
# pn_text.c does on the Arduino boards (firmware/PROTOCOL.md, "Text mode").
#
# A frame's first wire byte (its COBS code) is at most 65, so a segment (the bytes
# since the last 0x00) that starts with a larger byte is never a frame: only there
# is a line ending in CR or LF taken as a command. Outside text mode only the exact
# command words count; in text mode every such line gets an answer. Everything
# printed starts with a lowercase letter, and leaving text mode writes a lone 0x00.
import time

from micropython import const

_FRAME_FIRST_MAX = const(65)
_LINE_MAX = const(8)
_PERIOD_US = const(100000)  # `start`: 10 lines a second
_CR = const(13)
_LF = const(10)
HELP = (b"commands: help, sample (one line), start (10 lines/s), stop; a binary frame "
        b"ends text mode\r\n")
UNKNOWN = b"unknown command; type help\r\n"


class Text:
    def __init__(self, port, measure, info_line, classes):
        # measure() -> (cls, out): one reading through the model
        self.port = port
        self.measure = measure
        self.info_line = info_line
        self.classes = [c.encode() for c in classes]
        self.line = bytearray(_LINE_MAX)
        self.active = False
        self.streaming = False
        self.after_line = False
        self.seg_len = 0
        self.seg_first = 0
        self.line_len = 0
        self.line_long = False
        self.due = 0

    def on_byte(self, byte):
        # True when the byte ended (or trails) a command line, now answered
        if byte == 0:
            self.seg_len = 0
            self.after_line = False
            self._new_line()
            return False
        if self.after_line and (byte == _CR or byte == _LF):
            return True
        self.after_line = False
        if self.seg_len == 0:
            self.seg_first = byte
        self.seg_len += 1
        if self.seg_first <= _FRAME_FIRST_MAX:
            return False
        if byte != _CR and byte != _LF:
            if self.line_len < _LINE_MAX:
                self.line[self.line_len] = byte
                self.line_len += 1
            else:
                self.line_long = True
            return False
        word = None if self.line_long else bytes(self.line[:self.line_len])
        self._new_line()
        if word not in (b"help", b"sample", b"start", b"stop") and not self.active:
            return False
        self._run(word)
        self.seg_len = 0
        self.after_line = True
        return True

    def _new_line(self):
        self.line_len = 0
        self.line_long = False

    def _run(self, word):
        # `start` starts the lines; any other command stops them
        self.active = True
        self.streaming = word == b"start"
        self.due = time.ticks_us()
        if word == b"help":
            self.port.write(self.info_line)
            self.port.write(HELP)
        elif word == b"sample":
            self._print_sample()
        elif word not in (b"start", b"stop"):
            self.port.write(UNKNOWN)

    def _print_sample(self):
        cls, out = self.measure()
        parts = [b"class:" + self.classes[cls]]
        for i, name in enumerate(self.classes):
            parts.append(name + b":" + str(out[i]).encode())
        self.port.write(b" ".join(parts) + b"\r\n")

    def leave(self):
        if self.active:
            self.active = False
            self.streaming = False
            self.port.write(b"\x00")

    def poll(self):
        if not self.streaming:
            return
        now = time.ticks_us()
        late = time.ticks_diff(now, self.due)
        if late < 0:
            return
        self.due = time.ticks_add(self.due, _PERIOD_US if late < _PERIOD_US
                                  else late + _PERIOD_US)
        self._print_sample()
