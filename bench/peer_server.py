"""The Python peer of the watchdog ingestion benchmarks (docs/BENCHMARKS.md).

An asyncio Unix-socket server doing, per line, the work an operator would write in Python for the
same job: json.loads, the envelope checks (v, type, market bound by the hello, run_id, pid, fence,
seq, ts, data), per-run seq de-duplication and a dict update of the market's state. It reads in
64 KiB chunks (faster than readline), answers the hello with a welcome after checking the hello's pid
against SO_PEERCRED, and acks the highest applied seq of a run after each chunk, as the watchdog
acks after each snapshot. It writes no snapshot (the watchdog does, so this favours the peer).

With `--durable FILE` it is the fair peer for the durable ack: it appends the lines it applied from
each chunk to FILE and `fdatasync`s it before it acks them (one sync per chunk, a group commit like
the watchdog's snapshot), so an ack means what the watchdog's means: on disk. Without it, it is
kept for reference.

    python3 peer_server.py SOCKET [--durable FILE]
"""

import asyncio
import json
import os
import socket
import struct
import sys

ENVELOPE = {"v", "type", "market", "run_id", "pid", "fence", "seq", "ts", "data"}


class Market:
    __slots__ = ("applied", "last_type", "last_ts", "fence", "duplicates", "gaps", "events")

    def __init__(self):
        self.applied = {}
        self.last_type = None
        self.last_ts = None
        self.fence = 0
        self.duplicates = 0
        self.gaps = 0
        self.events = 0


markets = {}
rejected = 0
durable = None  # the fd of --durable FILE


def check(e, market):
    if not isinstance(e, dict) or e.get("v") != 1 or not ENVELOPE.issuperset(e.keys()):
        return False
    t, run, pid, fence, ts, data = e.get("type"), e.get("run_id"), e.get("pid"), e.get("fence"), e.get("ts"), e.get("data")
    if not (isinstance(t, str) and t.isupper() and isinstance(run, str) and 0 < len(run) <= 64):
        return False
    if not (isinstance(pid, int) and pid > 0 and isinstance(fence, int) and fence >= 0):
        return False
    if not (isinstance(ts, str) and ts.endswith("Z") and isinstance(data, dict)):
        return False
    if e.get("market") != market:
        return False
    seq = e.get("seq")
    return t == "HEARTBEAT" or (isinstance(seq, int) and seq > 0)


async def serve(reader, writer):
    global rejected
    sock = writer.get_extra_info("socket")
    pid, _, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    line = await reader.readline()
    hello = json.loads(line)
    if hello.get("v") != 1 or hello.get("type") != "hello" or hello.get("pid") != pid:
        writer.write(b'{"v":1,"type":"error","error":"bad_hello"}\n')
        writer.close()
        return
    market = hello["market"]
    state = markets.setdefault(market, Market())
    writer.write((json.dumps({"v": 1, "type": "welcome", "applied": {hello["run_id"]: state.applied.get(hello["run_id"], 0)}}) + "\n").encode())
    pending = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        acks = {}
        kept = []
        for raw in lines:
            try:
                e = json.loads(raw)
            except ValueError:
                rejected += 1
                continue
            if not check(e, market):
                rejected += 1
                continue
            if e["type"] == "HEARTBEAT":
                state.last_ts = e["ts"]
                continue
            run, seq = e["run_id"], e["seq"]
            applied = state.applied.get(run, 0)
            if seq <= applied:
                state.duplicates += 1
            else:
                if seq > applied + 1:
                    state.gaps += seq - applied - 1
                state.applied[run] = seq
                state.last_type = e["type"]
                state.last_ts = e["ts"]
                state.fence = max(state.fence, e["fence"])
                state.events += 1
                kept.append(raw)
            acks[run] = state.applied[run]
        if durable is not None and kept:
            os.write(durable, b"\n".join(kept) + b"\n")
            os.fdatasync(durable)
        for run, seq in acks.items():
            writer.write(b'{"v":1,"type":"ack","run_id":"%s","seq":%d}\n' % (run.encode(), seq))
    writer.close()


async def main(path):
    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(serve, path=path, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--durable":
        durable = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    elif len(sys.argv) != 2:
        sys.exit("usage: peer_server.py SOCKET [--durable FILE]")
    asyncio.run(main(sys.argv[1]))
