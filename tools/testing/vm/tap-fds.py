#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Open a multiqueue tap and its vhost fds as libvirt does, then exec QEMU.

Usage: tap-fds.py --tap NAME --queues N [--vhost DEV] -- QEMU [ARGS...]

libvirt never lets QEMU open /dev/net/tun or /dev/vhost-net: libvirtd opens
the tap N times with TUNSETIFF and IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
IFF_MULTI_QUEUE (one fd per queue pair), opens the vhost device once per
queue pair, and starts QEMU with the fds inherited and named by number:

  -netdev tap,id=..,fds=T0:T1,vhost=on,vhostfds=V0:V1

This does the same for nested-net.sh --fds: it opens the fds, replaces
@TAPFDS@ and @VHOSTFDS@ in the QEMU arguments with the colon-separated fd
numbers, and execs QEMU in its own place (same pid), so that the vhost
devices get QEMU as their owner and the tap lives as long as QEMU does.
"""

import argparse
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454ca
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tap", required=True)
    ap.add_argument("--queues", type=int, required=True)
    ap.add_argument("--vhost", default="/dev/vhost-net")
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    if not argv or args.queues < 1:
        ap.error("wants --queues N >= 1 and -- QEMU [ARGS...]")

    flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE
    ifr = struct.pack("16sH22x", args.tap.encode(), flags)
    taps, vhosts = [], []
    try:
        for _ in range(args.queues):
            fd = os.open("/dev/net/tun", os.O_RDWR)
            taps.append(fd)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        for _ in range(args.queues):
            vhosts.append(os.open(args.vhost, os.O_RDWR))
    except OSError as err:
        print("tap-fds: %s" % err, file=sys.stderr)
        return 2
    for fd in taps + vhosts:
        os.set_inheritable(fd, True)

    tapfds = ":".join(map(str, taps))
    vhostfds = ":".join(map(str, vhosts))
    argv = [a.replace("@TAPFDS@", tapfds).replace("@VHOSTFDS@", vhostfds)
            for a in argv]
    print("tap-fds: %s fds %s, %s fds %s" %
          (args.tap, tapfds, args.vhost, vhostfds), file=sys.stderr,
          flush=True)
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        print("tap-fds: %s: %s" % (argv[0], err), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
