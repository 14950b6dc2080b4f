# The batch protocol of batch.c on the MicroPython unix port: argv = folder, number of models.
import sys

sys.path.insert(0, sys.argv[1])
models = [__import__(f"m{k}_model") for k in range(int(sys.argv[2]))]
data = sys.stdin.buffer.read()
out = bytearray()


def u16(at):
    return data[at] | (data[at + 1] << 8)


def acts(m, values):
    for v in values:
        out.append(v & 0xFF)
        if m.FORMAT == 15:
            out.append((v >> 8) & 0xFF)


def read_x(m, at):
    x = []
    for i in range(4):
        if m.FORMAT == 7:
            v = data[at + i]
            x.append(v - 256 if v > 127 else v)
        else:
            v = u16(at + 2 * i)
            x.append(v - 65536 if v > 32767 else v)
    return x, at + (4 if m.FORMAT == 7 else 8)


pos = 0
m = models[0]
while pos < len(data):
    cmd = data[pos]
    pos += 1
    if cmd == ord("M"):
        m = models[data[pos]]
        pos += 1
    elif cmd == ord("R"):
        u = [u16(pos + 2 * i) for i in range(12)]
        pos += 24
        x = [0, 0, 0, 0]
        m.preprocess(m.calib_init(u[:4], u[4:8]), u[8:], x)
        acts(m, x)
        y = [0] * m.N_OUTPUTS
        c = m.infer(x, y)
        acts(m, y)
        out.append(c)
    elif cmd == ord("X") or cmd == ord("T"):
        x, pos = read_x(m, pos)
        y = [0] * (m.N_OUTPUTS if cmd == ord("X") else m.TRACE_LEN)
        c = m.infer(x, y) if cmd == ord("X") else m.infer_trace(x, y)
        acts(m, y)
        out.append(c)
    else:
        break
sys.stdout.buffer.write(out)
