# pixelnet firmware (MicroPython): the serial protocol of firmware/PROTOCOL.md.
#
# The port, the sensor, the generated model module and the calibration store
# are passed in, so the same code runs on a board, on the unix port (the
# virtual board) and against fakes. The hot path (frames in, results out) works
# on preallocated buffers with integers only.
import time

import pxboard
import pxcal
import pxframe
import pxtext
from micropython import const

FIRMWARE = (0, 1, 0)
PROTOCOL = const(1)
BAUD = const(115200)
MAX_BOARD_NAME = const(24)
_P = const(2)  # payload offset in a frame body (pxframe.PAYLOAD)

# host -> board
INFO = const(0x01)
STREAM = const(0x02)
INFER = const(0x03)
INFER_RAW = const(0x04)
TRACE = const(0x05)
CALIBRATE = const(0x06)
AVERAGE = const(0x07)
RESET = const(0x08)
SAMPLE = const(0x09)
BAUD_CMD = const(0x0A)  # version 2
INFER_BATCH = const(0x0B)  # version 2
# board -> host
M_ACK = const(0x80)
M_INFO = const(0x81)
M_CAL = const(0x82)
M_RESULT = const(0x84)
M_SAMPLE = const(0x85)
M_TRACE = const(0x86)
M_SAMPLE_COMPACT = const(0x87)  # version 2
M_RESULTS = const(0x88)  # version 2
M_ERROR = const(0xE0)
# error codes
E_UNKNOWN = const(4)
E_BAD_LENGTH = const(5)
E_BAD_ARG = const(6)
E_STORAGE = const(7)
# CALIBRATE ops
OP_DARK = const(0)
OP_BRIGHT = const(1)
OP_RESET = const(2)
OP_SET = const(3)
_IDLE_MS = const(50)  # longest sleep in the main loop while nothing is due
_BYTES_PER_TURN = const(256)  # input handled before the stream gets a turn
INFO_V2 = const(2)  # INFO flags bit: the version 2 additions are spoken
BAUDS = (115200, 250000, 500000, 1000000)
_PROBATION_MS = const(1000)  # at a new speed without a good frame: back to the old one
_MAX_PAYLOAD = const(60)


def _get_u16(buf, at):
    return buf[at] | (buf[at + 1] << 8)


def _get_i16(buf, at):
    v = buf[at] | (buf[at + 1] << 8)
    return v - 0x10000 if v & 0x8000 else v


def _put_values(buf, at, values, n, width):
    # n values as int8 (width 1) or little-endian int16; returns the next offset
    if width == 2:
        return _put(buf, at, values, n)
    for i in range(n):
        buf[at + i] = values[i] & 0xFF
    return at + n


def _put(buf, at, values, n):
    # n values as little-endian 16-bit two's complement; returns the next offset
    for i in range(n):
        v = values[i] & 0xFFFF
        buf[at] = v & 0xFF
        buf[at + 1] = v >> 8
        at += 2
    return at


class App:
    def __init__(self, port, sensor, model, board_name, cal_path=pxcal.FILE):
        self.port = port
        self.sensor = sensor
        self.model = model
        self.board_name = board_name.encode()[:MAX_BOARD_NAME]
        self.cal_path = cal_path
        self.reader = pxframe.FrameReader()
        self.writer = pxframe.FrameWriter(port)
        self.text = pxtext.Text(port, self._measure, self._info_line(), model.CLASSES)
        self.n_in = model.N_INPUTS
        self.n_out = model.N_OUTPUTS
        self.limit = (1 << model.FORMAT) - 1  # inputs lie in [-limit, limit] (symmetric formats)
        self.adc = [0, 0, 0, 0]
        self.zero_adc = (0, 0, 0, 0)
        self.x = [0] * self.n_in
        self.out = [0] * self.n_out
        self.trace = [0] * sum(model.LAYER_SIZES)
        self.reset_requested = False
        self.value_bytes = 1 if model.FORMAT <= 7 else 2
        self.compact = False
        self.baud = BAUD
        self.baud_before = BAUD
        self.probation_since = None  # ticks_ms of a speed change not yet confirmed
        self.period_us = 0  # 0 = not streaming
        self.due = 0
        self.stream_seq = 0
        self._load_calibration()

    # --- calibration -------------------------------------------------------
    def _load_calibration(self):
        stored = pxcal.load(self.cal_path)
        if stored is None:
            self._use_calibration(*pxcal.defaults(), source=pxcal.DEFAULT)
        else:
            self._use_calibration(*stored, source=pxcal.STORED)

    def _use_calibration(self, dark, bright, source):
        self.dark = list(dark)
        self.bright = list(bright)
        self.cal_source = source
        self.cal = self.model.calib_init(self.dark, self.bright)

    # --- main loop ---------------------------------------------------------
    def run(self):
        # answer commands and stream until a RESET command has been acknowledged
        # a lone delimiter ends any frame the restart cut short (PROTOCOL.md)
        self.port.write(b"\x00")
        self.send_info(0, True)
        port = self.port
        while not self.reset_requested:
            port.wait(self._ms_until_due())
            for _ in range(_BYTES_PER_TURN):
                byte = port.read_byte()
                if byte < 0:
                    break
                self.receive(byte)
                if self.reset_requested:
                    return
            self._stream_turn()
            self._end_probation()

    def _line_rate(self):
        # SAMPLE frames per second the line carries: payload + type, seq, crc, COBS, delimiter
        if self.compact:
            payload = 5 + self.value_bytes * (self.n_in + self.n_out)
        else:
            payload = 2 * (4 + self.n_in + self.n_out) + 1
        return self.baud // 10 // (payload + 6)

    def _end_probation(self):
        since = self.probation_since
        if since is not None and time.ticks_diff(time.ticks_ms(), since) > _PROBATION_MS:
            self.probation_since = None
            self.baud = self.baud_before
            self.port.set_baud(self.baud)

    def _ms_until_due(self):
        if not self.period_us:
            return _IDLE_MS
        wait_us = time.ticks_diff(self.due, time.ticks_us())
        return max(0, min(_IDLE_MS, wait_us // 1000))

    def _stream_turn(self):
        if not self.period_us:
            return
        now = time.ticks_us()
        late = time.ticks_diff(now, self.due)
        if late < 0:
            return
        # keep the rate on average, but do not burst to catch up a long stall
        step = self.period_us if late < self.period_us else late + self.period_us
        self.due = time.ticks_add(self.due, step)
        if self.text.active:
            self.text.sample()
            return
        self._send_sample(self.stream_seq, True)
        self.stream_seq = (self.stream_seq + 1) & 0xFF

    # --- frames in ---------------------------------------------------------
    def receive(self, byte):
        status = self.text.on_byte(byte)
        if status:  # a person's command line, answered in text
            self.reader.n = 0
            self.reader.dropping = False
            if status != pxtext.SKIP:
                start = status == pxtext.START and self.sensor.complete
                self._start_stream(pxtext.RATE if start else 0)
            return
        n = self.reader.push(byte)
        if n > 0:
            self.probation_since = None
            self.text.leave()
            self.handle(self.reader.body, n - 4)
        elif n < 0 and not self.text.active:
            self.error(0, -n, 0)

    # --- text mode (pxtext.py) ------------------------------------------------
    def _measure(self):
        if not self.sensor.complete:
            return None
        self.sensor.read(self.adc)
        self.model.preprocess(self.cal, self.adc, self.x)
        return self.model.infer(self.x, self.out), self.out

    def _info_line(self):
        m = self.model
        fmt = "16x8" if m.FORMAT_ID == 0x8F else "q%d" % m.FORMAT
        line = "pixelnet %s firmware %d.%d.%d model %s %s, outputs in units of 2^-%d\r\n" % (
            self.board_name.decode(), FIRMWARE[0], FIRMWARE[1], FIRMWARE[2],
            "".join("%02x" % b for b in m.MODEL_HASH), fmt, m.OUTPUT_FRAC)
        return line.encode()

    def handle(self, body, n):
        # one checked frame: body[0] type, body[1] seq, n payload bytes at body[2:]
        cmd = body[0]
        seq = body[1]
        if cmd == INFER or cmd == TRACE:
            if n != 2 * self.n_in:
                return self.error(seq, E_BAD_LENGTH, cmd)
            if not self._read_inputs(body):
                return self.error(seq, E_BAD_ARG, cmd)
            if cmd == INFER:
                return self._send_result(seq, self.zero_adc)
            return self._send_trace(seq)
        if cmd == INFER_RAW:
            return self._infer_raw(seq, body, n)
        if cmd == SAMPLE or cmd == INFO or cmd == RESET:
            if n:
                return self.error(seq, E_BAD_LENGTH, cmd)
            if cmd == INFO:
                return self.send_info(seq, False)
            if cmd == RESET:
                self.ack(seq, cmd)
                self.reset_requested = True
                return
            if not self.sensor.complete:
                return self.error(seq, E_BAD_ARG, cmd)
            return self._send_sample(seq)
        if cmd == STREAM:
            return self._stream(seq, body, n)
        if cmd == CALIBRATE:
            return self._calibrate(seq, body, n)
        if cmd == INFER_BATCH:
            return self._infer_batch(seq, body, n)
        if cmd == BAUD_CMD:
            return self._baud(seq, body, n)
        if cmd == AVERAGE:
            if n != 1:
                return self.error(seq, E_BAD_LENGTH, cmd)
            if not 1 <= body[_P] <= pxboard.MAX_AVERAGING:
                return self.error(seq, E_BAD_ARG, cmd)
            self.sensor.averaging = body[_P]
            return self.ack(seq, cmd)
        self.error(seq, E_UNKNOWN, cmd)

    def _read_inputs(self, body):
        lo = -self.limit
        x = self.x
        for i in range(self.n_in):
            v = _get_i16(body, _P + 2 * i)
            if not lo <= v <= self.limit:
                return False
            x[i] = v
        return True

    def _infer_batch(self, seq, body, n):
        # every vector is checked before any is computed: a bad one refuses the batch
        width = self.value_bytes
        size = self.n_in * width
        count = n // size if size else 0
        if n == 0 or n % size or count * self.n_out * width > _MAX_PAYLOAD:
            return self.error(seq, E_BAD_LENGTH, INFER_BATCH)
        inputs = []
        lo = -self.limit
        for k in range(count):
            x = []
            for i in range(self.n_in):
                at = _P + k * size + i * width
                v = _get_i16(body, at) if width == 2 else (body[at] ^ 0x80) - 0x80
                if not lo <= v <= self.limit:
                    return self.error(seq, E_BAD_ARG, INFER_BATCH)
                x.append(v)
            inputs.append(x)
        out_body = self.writer.body
        at = _P
        for x in inputs:
            self.model.infer(x, self.out)
            at = _put_values(out_body, at, self.out, self.n_out, width)
        self.writer.send(M_RESULTS, seq, at - _P)

    def _baud(self, seq, body, n):
        # the ACK leaves at the old speed; a good frame must follow at the new one
        if n != 4:
            return self.error(seq, E_BAD_LENGTH, BAUD_CMD)
        baud = _get_u16(body, _P) | (_get_u16(body, _P + 2) << 16)
        if baud not in BAUDS:
            return self.error(seq, E_BAD_ARG, BAUD_CMD)
        self.ack(seq, BAUD_CMD)
        self.baud_before = self.baud
        self.baud = baud
        self.port.set_baud(baud)
        self.probation_since = time.ticks_ms()

    def _infer_raw(self, seq, body, n):
        if n != 8:
            return self.error(seq, E_BAD_LENGTH, INFER_RAW)
        adc = self.adc
        for i in range(4):
            adc[i] = _get_u16(body, _P + 2 * i)
            if adc[i] > pxcal.MAX_COUNT:
                return self.error(seq, E_BAD_ARG, INFER_RAW)
        self.model.preprocess(self.cal, adc, self.x)
        self._send_result(seq, adc)

    def _stream(self, seq, body, n):
        # rate:u16, and in version 2 a layout byte (1: compact SAMPLE frames)
        if n != 2 and n != 3:
            return self.error(seq, E_BAD_LENGTH, STREAM)
        if n == 3 and body[_P + 2] > 1:
            return self.error(seq, E_BAD_ARG, STREAM)
        self.compact = n == 3 and body[_P + 2] == 1
        # no faster than the line would carry (0xFFFF asks for exactly that)
        rate = min(_get_u16(body, _P), self._line_rate())
        if rate and not self.sensor.complete:
            return self.error(seq, E_BAD_ARG, STREAM)
        self.ack(seq, STREAM)
        self._start_stream(rate)

    def _start_stream(self, rate):
        # the stream: SAMPLE frames, or text lines while text mode is on
        self.period_us = 1000000 // rate if rate else 0
        self.due = time.ticks_us()

    def _calibrate(self, seq, body, n):
        if n < 1:
            return self.error(seq, E_BAD_LENGTH, CALIBRATE)
        op = body[_P]
        if n != (17 if op == OP_SET else 1):
            return self.error(seq, E_BAD_LENGTH, CALIBRATE)
        if op > OP_SET:
            return self.error(seq, E_BAD_ARG, CALIBRATE)
        if op == OP_RESET:
            pxcal.erase(self.cal_path)
            self._use_calibration(*pxcal.defaults(), source=pxcal.DEFAULT)
            return self._send_cal(seq)
        dark = list(self.dark)
        bright = list(self.bright)
        if op == OP_SET:
            for i in range(4):
                dark[i] = _get_u16(body, _P + 1 + 2 * i)
                bright[i] = _get_u16(body, _P + 9 + 2 * i)
        elif not self.sensor.complete:
            return self.error(seq, E_BAD_ARG, CALIBRATE)
        else:
            self.sensor.read(dark if op == OP_DARK else bright)
        if not pxcal.is_valid(dark, bright):
            return self.error(seq, E_BAD_ARG, CALIBRATE)
        try:
            pxcal.save(dark, bright, self.cal_path)
        except OSError:  # a full or broken filesystem: say so, keep the old pair, keep serving
            return self.error(seq, E_STORAGE, CALIBRATE)
        self._use_calibration(dark, bright, pxcal.SESSION)
        self._send_cal(seq)

    # --- frames out --------------------------------------------------------
    def ack(self, seq, cmd):
        self.writer.body[_P] = cmd
        self.writer.send(M_ACK, seq, 1)

    def error(self, seq, code, cmd):
        body = self.writer.body
        body[_P] = code
        body[_P + 1] = cmd
        self.writer.send(M_ERROR, seq, 2)

    def _put_calibration(self, at):
        body = self.writer.body
        at = _put(body, at, self.dark, 4)
        at = _put(body, at, self.bright, 4)
        body[at] = self.cal_source
        return at + 1

    def send_info(self, seq, boot):
        m = self.model
        body = self.writer.body
        head = (PROTOCOL, (1 if boot else 0) | INFO_V2) + FIRMWARE + (
            m.FORMAT_ID, self.n_in, self.n_out, m.N_LAYERS, self.sensor.averaging)
        at = _P
        for v in head:
            body[at] = v
            at += 1
        body[at:at + 8] = m.MODEL_HASH
        at = self._put_calibration(at + 8)
        end = at + len(self.board_name)
        body[at:end] = self.board_name
        self.writer.send(M_INFO, seq, end - _P)

    def _send_cal(self, seq):
        self.writer.send(M_CAL, seq, self._put_calibration(_P) - _P)

    def _send_result(self, seq, adc, msg_type=M_RESULT):
        # RESULT (or SAMPLE) from self.x: the counts used, the input, the outputs, the class
        cls = self.model.infer(self.x, self.out)
        body = self.writer.body
        at = _put(body, _P, adc, 4)
        at = _put(body, at, self.x, self.n_in)
        at = _put(body, at, self.out, self.n_out)
        body[at] = cls
        self.writer.send(msg_type, seq, at + 1 - _P)

    def _send_sample(self, seq, stream=False):
        self.sensor.read(self.adc)
        self.model.preprocess(self.cal, self.adc, self.x)
        if stream and self.compact:
            self._send_compact(seq)
        else:
            self._send_result(seq, self.adc, M_SAMPLE)

    def _send_compact(self, seq):
        # SAMPLE_COMPACT: four 10-bit counts in 5 bytes, x and out as int8 (q7); no class
        self.model.infer(self.x, self.out)
        body = self.writer.body
        a = self.adc
        packed = a[0] | (a[1] << 10) | (a[2] << 20) | (a[3] << 30)
        for i in range(5):
            body[_P + i] = (packed >> (8 * i)) & 0xFF
        at = _put_values(body, _P + 5, self.x, self.n_in, self.value_bytes)
        at = _put_values(body, at, self.out, self.n_out, self.value_bytes)
        self.writer.send(M_SAMPLE_COMPACT, seq, at - _P)

    def _send_trace(self, seq):
        self.model.infer_trace(self.x, self.trace)
        body = self.writer.body
        start = 0
        for layer, units in enumerate(self.model.LAYER_SIZES):
            body[_P] = layer
            body[_P + 1] = units
            at = _put(body, _P + 2, self.trace[start:start + units], units)
            self.writer.send(M_TRACE, seq, at - _P)
            start += units
        self._send_result(seq, self.zero_adc)
