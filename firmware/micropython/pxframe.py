# pixelnet firmware (MicroPython): frames of firmware/PROTOCOL.md.
# COBS + CRC-16/CCITT-FALSE, 0x00-delimited. Fixed buffers only: a stream of
# garbage costs no memory and a frame can never overflow a buffer.
from micropython import const

MAX_BODY = const(64)  # type, seq, payload (<= 60), crc16
MAX_WIRE = const(66)  # one COBS overhead byte and the 0x00 delimiter
MIN_BODY = const(4)
PAYLOAD = const(2)  # offset of the payload in a body

# receive results (negative = the protocol's error code)
NOTHING = const(0)
BAD_CRC = const(1)
BAD_FRAME = const(2)
TOO_LONG = const(3)


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _crc_table()


def crc16(buf, n, crc=0xFFFF):
    # CRC-16/CCITT-FALSE of buf[:n]: poly 0x1021, init 0xFFFF (check 0x29B1)
    table = _TABLE
    for i in range(n):
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ buf[i]) & 0xFF]
    return crc


class FrameReader:
    # Feed bytes one at a time; a complete checked frame leaves its body in
    # `body` (type, seq, payload, crc).

    def __init__(self):
        self.wire = bytearray(MAX_WIRE)
        self.body = bytearray(MAX_BODY)
        self.n = 0
        self.dropping = False

    def push(self, byte):
        # > 0: body length of a good frame; 0: nothing yet; < 0: -error code
        if byte:
            if self.dropping:
                return NOTHING
            if self.n >= MAX_WIRE - 1:
                self.dropping = True
                self.n = 0
                return -TOO_LONG
            self.wire[self.n] = byte
            self.n += 1
            return NOTHING
        if self.dropping:
            self.dropping = False
            return NOTHING
        n = self.n
        self.n = 0
        if n == 0:
            return NOTHING  # a lone delimiter flushes; it is not an error
        return self._decode(n)

    def _decode(self, n):
        src = self.wire
        dst = self.body
        i = 0
        o = 0
        while i < n:
            code = src[i]
            end = i + code
            if end > n:
                return -BAD_FRAME
            i += 1
            while i < end:
                dst[o] = src[i]
                o += 1
                i += 1
            if code != 255 and i < n:
                dst[o] = 0
                o += 1
        if o < MIN_BODY:
            return -BAD_FRAME
        if crc16(dst, o - 2) != dst[o - 2] | (dst[o - 1] << 8):
            return -BAD_CRC
        return o


class FrameWriter:
    # Build a reply in place: put the payload at body[PAYLOAD:], then send().

    def __init__(self, port):
        self.port = port
        self.body = bytearray(MAX_BODY)
        self.wire = bytearray(MAX_WIRE)
        self.view = memoryview(self.wire)

    def send(self, msg_type, seq, n_payload):
        body = self.body
        body[0] = msg_type
        body[1] = seq
        n = n_payload + PAYLOAD
        crc = crc16(body, n)
        body[n] = crc & 0xFF
        body[n + 1] = crc >> 8
        self.port.write(self.view[: self._encode(n + 2)])

    def _encode(self, n):
        src = self.body
        dst = self.wire
        code_at = 0
        o = 1
        code = 1
        for i in range(n):
            b = src[i]
            if b:
                dst[o] = b
                o += 1
                code += 1
            else:
                dst[code_at] = code
                code_at = o
                o += 1
                code = 1
        dst[code_at] = code
        dst[o] = 0
        return o + 1
