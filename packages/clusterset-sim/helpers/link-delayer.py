#!/usr/bin/env python3
"""Packet delayer of one simulated link: `link-delayer.py DEVICE SHAPE_FILE`.

Attaches to the TUN device DEVICE of its link namespace (made by `ip tuntap add`; policy
routing sends every forwarded packet into it and routes what comes back out onward), holds each
IP packet for half the link's round-trip time plus jitter, and writes it back. Packets leave in
the order they came (a later packet never overtakes an earlier one), as on one path. TCP is not
terminated: connects, resets and retransmissions are the kernels' own, only later.

SHAPE_FILE holds {"rttMs": N, "jitterMs": N}; it is read again whenever it changes, so the
link can be slowed while connections are open.

Python because attaching to a TUN device needs ioctl(TUNSETIFF), which Node cannot do without
a native addon, and python3's standard library can; it is part of Debian's base system, so no
compile step and no dependency. The rate here (hundreds of packets per second) is far below
what one select() loop sustains.
"""
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SHAPE_POLL_S = 0.1


def read_shape(path, current):
    try:
        with open(path, encoding="utf-8") as handle:
            shape = json.load(handle)
        return float(shape.get("rttMs", current[0])), float(shape.get("jitterMs", current[1]))
    except (OSError, ValueError):
        return current


def main():
    device, shape_file = sys.argv[1], sys.argv[2]
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    shape = read_shape(shape_file, (35.0, 2.0))
    shape_mtime = 0.0
    next_poll = 0.0
    queue = []  # (due, seq, packet)
    seq = 0
    last_due = 0.0
    print(json.dumps({"msg": "delayer ready", "device": device, "rttMs": shape[0],
                      "jitterMs": shape[1], "pid": os.getpid()}), flush=True)
    while True:
        now = time.monotonic()
        if now >= next_poll:
            next_poll = now + SHAPE_POLL_S
            try:
                mtime = os.stat(shape_file).st_mtime
            except OSError:
                mtime = shape_mtime
            if mtime != shape_mtime:
                shape_mtime = mtime
                shape = read_shape(shape_file, shape)
                print(json.dumps({"msg": "shape", "rttMs": shape[0], "jitterMs": shape[1]}),
                      flush=True)
        wait = SHAPE_POLL_S
        if queue:
            wait = min(wait, max(0.0, queue[0][0] - now))
        readable, _, _ = select.select([tun], [], [], wait)
        if readable:
            # Drain what is there now: one select per packet would add latency under load.
            for _ in range(256):
                try:
                    packet = os.read(tun, 65535)
                except BlockingIOError:
                    break
                rtt, jitter = shape
                one_way = max(0.0, rtt / 2 + (random.uniform(-jitter, jitter) if jitter else 0.0))
                due = max(last_due, time.monotonic() + one_way / 1000.0)
                last_due = due
                seq += 1
                heapq.heappush(queue, (due, seq, packet))
                if not select.select([tun], [], [], 0)[0]:
                    break
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            os.write(tun, heapq.heappop(queue)[2])


if __name__ == "__main__":
    main()
