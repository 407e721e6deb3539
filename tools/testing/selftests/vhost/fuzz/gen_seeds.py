#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the committed seed corpus of vring_fuzz (see struct fz_hdr there).

Each seed is a small but complete world: a ring, a map of two ranges that
are GPA-adjacent but not host-adjacent, a few chains and an operation script,
so that the fuzzer starts from inputs that get past every validation step.
"""
import os
import struct

GET, PUSH, NOTIFY, ENABLE, DISABLE, UNGET, POKE, RESTART, LOG, MAPSWAP = range(10)
NEXT, WRITE, INDIRECT = 1, 2, 4
AVAIL, USED = 1 << 7, 1 << 15
R0, R1 = 0x1000, 0x3000          # GPA of image offsets 0 and 0x2000
MEM = 16384


def hdr(flags, num, max_iov, ranges, ops, base, desc, avail, used,
        fail_at=0):
    return struct.pack('<BBBBBB2xIHHH2x', flags, num, max_iov,
                       len(ranges) - 1, len(ops), fail_at, base, desc, avail,
                       used)


def rng(gap, length, off, perm, kind=0):
    return struct.pack('<HHHBB', gap, length - 1, off, perm, kind)


def op(o, a=0, b=0, c=0):
    return bytes([o, a, b, c])


class Image:
    def __init__(self):
        self.b = bytearray(MEM)

    def put(self, off, data):
        self.b[off:off + len(data)] = data

    def sdesc(self, base, i, addr, length, flags, nxt=0):
        self.put(base + 16 * i, struct.pack('<QIHH', addr, length, flags, nxt))

    def pdesc(self, base, i, addr, length, ident, flags):
        self.put(base + 16 * i, struct.pack('<QIHH', addr, length, ident, flags))

    def u16(self, off, v):
        self.put(off, struct.pack('<H', v))


def two_ranges():
    # r0: GPA 0x1000..0x2fff = image 0..0x1fff; r1: GPA 0x3000.. = 0x2000..
    return [rng(R0, 0x2000, 0, 3), rng(0, 0x2000, 0x2000, 3)]


def split_seed(flags, script, fail_at=0):
    m = Image()
    d, a, u = 0, 0x100, 0x200
    m.sdesc(d, 0, R0 + 0x800, 64, NEXT, 1)
    m.sdesc(d, 1, R1 - 16, 64, WRITE)              # spans both ranges
    m.sdesc(d, 2, R0 + 0x400, 48, INDIRECT)
    m.sdesc(0x400, 0, R0 + 0x900, 10, NEXT, 2)    # table, out of order
    m.sdesc(0x400, 2, R0 + 0xa00, 20, NEXT | WRITE, 1)
    m.sdesc(0x400, 1, R1 + 0x100, 30, WRITE)
    m.sdesc(d, 3, R0 + 0xb00, 0, 0)               # zero length
    m.put(a, struct.pack('<HHHHH', 0, 3, 0, 2, 3))
    return (hdr(flags, 3, 16, two_ranges(), script, 0, d, a, u, fail_at) +
            b''.join(two_ranges()) + b''.join(script) + bytes(m.b[:0x1000]))


def packed_seed(flags, script):
    m = Image()
    d, drv, dev = 0, 0x100, 0x104
    w = AVAIL  # wrap counter 1
    m.pdesc(d, 1, R1 - 8, 32, 0, w | WRITE)
    m.pdesc(d, 2, R0 + 0x400, 32, 1, w | INDIRECT)
    m.pdesc(0x400, 0, R0 + 0x900, 10, 0, 0)
    m.pdesc(0x400, 1, R0 + 0xa00, 20, 0, WRITE)
    m.pdesc(d, 3, R0 + 0xb00, 16, 2, w)
    m.pdesc(d, 0, R0 + 0x800, 16, 0xeeee, w | NEXT)  # head written last
    m.put(drv, struct.pack('<HH', 0, 0))
    base = 1 << 15 | 1 << 31
    return (hdr(flags, 7, 16, two_ranges(), script, base, d, drv, dev) +
            b''.join(two_ranges()) + b''.join(script) + bytes(m.b[:0x1000]))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'seeds')
    os.makedirs(out, exist_ok=True)
    basic = [op(GET), op(GET), op(GET), op(LOG, 100), op(PUSH, 2, 8),
             op(NOTIFY), op(DISABLE), op(GET), op(ENABLE), op(PUSH, 1, 0),
             op(NOTIFY)]
    rearm = [op(GET), op(UNGET), op(GET), op(PUSH, 0, 1), op(ENABLE),
             op(POKE, 0x02, 0x01, 4), op(ENABLE), op(GET), op(RESTART),
             op(GET), op(MAPSWAP), op(GET), op(MAPSWAP),
             op(PUSH, 3, 0xff, 0xff), op(NOTIFY)]
    seeds = {
        'split-basic': split_seed(4, basic),
        'split-event-idx-log': split_seed(4 | 2 | 8 | 16, rearm),
        'split-no-indirect': split_seed(0, basic),
        'split-fault': split_seed(4 | 2, rearm, fail_at=9),
        'packed-basic': packed_seed(1 | 4, basic),
        'packed-event-idx-log': packed_seed(1 | 2 | 4 | 16, rearm),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
