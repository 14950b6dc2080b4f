# pixelnet firmware (MicroPython): the calibration kept in a file on the
# board's filesystem. Layout (22 bytes, little-endian): magic "PXC", version,
# dark u16[4], bright u16[4], crc16 of everything before it. A missing, short
# or corrupt file means the defaults, never a crash.
import os

import pxframe
from micropython import const

FILE = "pixelnet_cal.bin"
_MAGIC = b"PXC"
_VERSION = const(1)
_SIZE = const(22)
MIN_SPAN = const(16)  # bright - dark, in counts
MAX_COUNT = const(1023)

# cal_source in INFO / CAL
DEFAULT = const(0)
STORED = const(1)
SESSION = const(2)


def defaults():
    return [0, 0, 0, 0], [MAX_COUNT] * 4


def is_valid(dark, bright):
    for i in range(4):
        if not 0 <= dark[i] <= MAX_COUNT or not 0 <= bright[i] <= MAX_COUNT:
            return False
        if bright[i] - dark[i] < MIN_SPAN:
            return False
    return True


def _u16(buf, at):
    return buf[at] | (buf[at + 1] << 8)


def load(path=FILE):
    # (dark, bright) from the file, or None when it is missing or corrupt. A save
    # cut off on FAT between erasing the old file and renaming the new one left
    # the new one whole in the temporary file (written and closed before the erase).
    return _load(path) or _load(path + ".tmp")


def _load(path):
    try:
        with open(path, "rb") as f:
            data = f.read(_SIZE + 1)
    except OSError:
        return None
    if len(data) != _SIZE or data[:3] != _MAGIC or data[3] != _VERSION:
        return None
    if pxframe.crc16(data, _SIZE - 2) != _u16(data, _SIZE - 2):
        return None
    dark = [_u16(data, 4 + 2 * i) for i in range(4)]
    bright = [_u16(data, 12 + 2 * i) for i in range(4)]
    return (dark, bright) if is_valid(dark, bright) else None


def save(dark, bright, path=FILE):
    # written to a temporary file and renamed, so a power cut leaves either
    # the old or the new calibration, never half of one
    data = bytearray(_SIZE)
    data[:3] = _MAGIC
    data[3] = _VERSION
    for i in range(4):
        data[4 + 2 * i] = dark[i] & 0xFF
        data[5 + 2 * i] = dark[i] >> 8
        data[12 + 2 * i] = bright[i] & 0xFF
        data[13 + 2 * i] = bright[i] >> 8
    crc = pxframe.crc16(data, _SIZE - 2)
    data[_SIZE - 2] = crc & 0xFF
    data[_SIZE - 1] = crc >> 8
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.rename(tmp, path)
        except OSError:  # FAT cannot rename onto an existing file
            erase(path)
            os.rename(tmp, path)
    except OSError:  # the caller reports it; no half-written file is left behind
        erase(tmp)
        raise


def erase(path=FILE):
    try:
        os.remove(path)
    except OSError:
        pass
