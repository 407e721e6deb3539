#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""L1 end of the TCP flows of nested-net.sh (see its --help).

Usage: nested-tcp.py --addr A --port P --timeout SEC FILE...

Flow I serves FILE I twice, one connection each, both accepted once:
  port P+2I    "down": sends the file, then closes; what the guest sends
               (nothing) is drained;
  port P+2I+1  "up": reads until the guest closes its side, then answers
               "<md5 hex> <byte count>" of what it read, and closes.

One line per finished transfer on stdout, flushed as it happens:
  flow I down|up bytes N md5 HEX secs S
  flow I down|up error MESSAGE
and "done" once every transfer finished or --timeout (counted from the
start) ran out. The exit status is 0 when every transfer completed.
"""

import argparse
import hashlib
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def report(line):
    with LOCK:
        print(line, flush=True)


def remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("out of time")
    return left


def serve_down(lsock, data, deadline):
    conn, _ = lsock.accept()
    with conn:
        t0 = time.monotonic()
        conn.settimeout(remaining(deadline))
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            conn.settimeout(remaining(deadline))
        return len(data), hashlib.md5(data).hexdigest(), \
            time.monotonic() - t0


def serve_up(lsock, deadline):
    conn, _ = lsock.accept()
    with conn:
        t0 = time.monotonic()
        digest = hashlib.md5()
        count = 0
        while True:
            conn.settimeout(remaining(deadline))
            buf = conn.recv(65536)
            if not buf:
                break
            digest.update(buf)
            count += len(buf)
        secs = time.monotonic() - t0
        conn.sendall(("%s %d\n" % (digest.hexdigest(), count)).encode())
        conn.shutdown(socket.SHUT_WR)
        return count, digest.hexdigest(), secs


def run(flow, kind, lsock, data, deadline, results):
    try:
        lsock.settimeout(remaining(deadline))
        if kind == "down":
            count, hexsum, secs = serve_down(lsock, data, deadline)
        else:
            count, hexsum, secs = serve_up(lsock, deadline)
        report("flow %d %s bytes %d md5 %s secs %.2f" %
               (flow, kind, count, hexsum, secs))
        results.append(True)
    except (OSError, TimeoutError) as err:
        report("flow %d %s error %s" %
               (flow, kind, str(err) or type(err).__name__))
    finally:
        lsock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    deadline = time.monotonic() + args.timeout
    threads = []
    results = []
    for flow, name in enumerate(args.files):
        with open(name, "rb") as f:
            data = f.read()
        for kind, port in (("down", args.port + 2 * flow),
                           ("up", args.port + 2 * flow + 1)):
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind((args.addr, port))
            lsock.listen(1)
            t = threading.Thread(target=run, daemon=True,
                                 args=(flow, kind, lsock, data, deadline,
                                       results))
            t.start()
            threads.append(t)
    report("listening on %s ports %d-%d" %
           (args.addr, args.port, args.port + 2 * len(args.files) - 1))
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 1)
    report("done")
    return 0 if len(results) == len(threads) else 1


if __name__ == "__main__":
    sys.exit(main())
