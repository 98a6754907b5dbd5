#!/usr/bin/env python3
"""A strategy for the end-to-end tests (Tests/EndToEndTests/StrategyTests.swift), on the raw
protocol of docs/STRATEGY.md (no SDK): `scripted.py BEHAVIOUR [ARGS]`.

    steps STEPS.json OUT   hello, ready, then each step in order; every line the worker sends
                           (but ticks) is appended to OUT. A step is {"send": MESSAGE} (an order
                           waits for its answer; "$N" as a client_order_id is step N's order),
                           or {"wait_mode": "OBSERVE_ONLY"}. Then heartbeats until shutdown.
    crash SECONDS          ready, heartbeats, exits with status 3 after SECONDS
    hang                   ready, then silence (alive, never writes again)
    flood                  ready, then malformed lines as fast as the socket takes them, never reading
    garbage N OUT          ready, N malformed lines, then heartbeats; lines received go to OUT
    exit                   exits with status 1 at once
    pidfile PATH           ready, writes its pid to PATH, heartbeats until shutdown
    hang-once MARKER       ready, places a buy limit far below the market; then, the first time
                           (MARKER absent: it creates it), silence; every later time, heartbeats
"""

import json
import os
import select
import socket
import sys
import time

fd = int(os.environ.get("STRATEGY_FD", "3"))
sock = socket.socket(fileno=fd)
buffer = b""
behaviour = sys.argv[1]
out = None


def send(m):
    m = dict(m)
    m.setdefault("v", 1)
    sock.sendall(json.dumps(m).encode() + b"\n")


def read(timeout=None):
    global buffer
    while b"\n" not in buffer:
        r, _, _ = select.select([sock], [], [], timeout)
        if not r:
            return None
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit(0)
        buffer += chunk
    line, buffer = buffer.split(b"\n", 1)
    m = json.loads(line)
    if out is not None and m.get("type") != "tick":
        with open(out, "a") as f:
            f.write(line.decode() + "\n")
    if m.get("type") == "shutdown":
        sys.exit(0)
    return m


def idle(until=None):
    while until is None or time.monotonic() < until:
        read(0.1)
        send({"type": "heartbeat"})


if behaviour == "exit":
    sys.exit(1)
hello = read()
assert hello["type"] == "hello", hello
mode = hello["mode"]
if behaviour == "steps":
    out = sys.argv[3]
    with open(out, "a") as f:
        f.write(json.dumps(hello) + "\n")
send({"type": "ready"})

if behaviour == "steps":
    steps = json.load(open(sys.argv[2]))
    ids = {}
    for n, step in enumerate(steps, start=1):
        if "wait_mode" in step:
            while mode != step["wait_mode"]:
                m = read(0.1)
                send({"type": "heartbeat"})
                if m and m["type"] == "mode":
                    mode = m["mode"]
            continue
        message = dict(step["send"])
        if str(message.get("client_order_id", "")).startswith("$"):
            message["client_order_id"] = ids.get(int(message["client_order_id"][1:]), "none")
        message.setdefault("tag", "s%d" % n)
        send(message)
        if message["type"] in ("order", "cancel"):
            while True:
                m = read(1)
                if m is None:
                    send({"type": "heartbeat"})
                    continue
                if m["type"] == "mode":
                    mode = m["mode"]
                if m.get("tag") == message["tag"] and m["type"] in ("order_accepted", "order_rejected", "cancel_accepted", "cancel_rejected"):
                    if m["type"] == "order_accepted":
                        ids[n] = m["client_order_id"]
                    break
    with open(out, "a") as f:
        f.write(json.dumps({"type": "steps_done"}) + "\n")
    idle()
elif behaviour == "crash":
    idle(time.monotonic() + float(sys.argv[2]))
    sys.exit(3)
elif behaviour == "hang":
    while True:
        time.sleep(3600)
elif behaviour == "flood":
    junk = b"this is not json\n" * 4096
    while True:
        sock.sendall(junk)
elif behaviour == "garbage":
    out = sys.argv[3]
    for i in range(int(sys.argv[2])):
        sock.sendall(b"{not json %d\n" % i)
    idle()
elif behaviour == "hang-once":
    send({"type": "order", "side": "buy", "quantity": 1, "order_type": "limit", "limit_price": 1.0, "tag": "far"})
    while True:
        m = read(1)
        if m is None:
            send({"type": "heartbeat"})
        elif m.get("tag") == "far":
            break
    if not os.path.exists(sys.argv[2]):
        open(sys.argv[2], "w").close()
        while True:
            time.sleep(3600)
    idle()
elif behaviour == "pidfile":
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    idle()
