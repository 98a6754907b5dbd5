"""A loopback TCP proxy that can partition its clients from the database.

A "host" that reaches PostgreSQL through the proxy sees what a network partition would show it:

- `forward`: bytes flow both ways (new connections are accepted and connected upstream).
- `stall`:   nothing is forwarded and nothing is closed: bytes already read are held, the kernel's
             buffers fill, a new connection is accepted but never connected upstream (a black
             hole: the client's next read just waits). Back to `forward`, the held bytes flow on,
             as TCP retransmission would deliver them after a partition heals.
- `close`:   every connection is closed (both sides) and the listening socket too, so a new
             connection is refused. Back to `forward`, the proxy listens on the same port again.

As a library (the chaos run):   p = TcpProxy(upstream_port); p.start(); p.port; p.set_mode("stall")
As a process (the Swift tests): python3 tcp_proxy.py --upstream PORT [--listen PORT]
    prints `PROXY_PORT <port>`, then reads `forward` / `stall` / `close` lines on stdin and answers
    `MODE <mode>` once the mode is in effect (for `close`: every connection closed). It exits at the
    end of its stdin or on SIGTERM.

Threads, one per direction per connection: each reads, then forwards only while the mode is
`forward` (waiting on a condition otherwise), so a stall holds at most one read per direction.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading

MODES = ("forward", "stall", "close")


class TcpProxy:
    def __init__(self, upstream_port: int, listen_port: int = 0, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = listen_port
        self.mode = "forward"
        self.cond = threading.Condition()
        self.conns: set[tuple[socket.socket, socket.socket | None]] = set()
        self.listener: socket.socket | None = None
        self.accept_thread: threading.Thread | None = None
        self.stopped = False
        # Figures for a report: connections accepted, closed by `close`, bytes forwarded.
        self.accepted = 0
        self.closed_by_mode = 0
        self.bytes_forwarded = 0

    # -- control
    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def set_mode(self, mode: str) -> None:
        """Switches mode; returns once it is in effect (for `close`, every connection is closed)."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r} (one of {', '.join(MODES)})")
        with self.cond:
            previous, self.mode = self.mode, mode
            conns = list(self.conns) if mode == "close" else []
            self.cond.notify_all()
        if mode == "close":
            self._close_listener()
            for client, upstream in conns:
                self._shut(client)
                self._shut(upstream)
            with self.cond:
                self.closed_by_mode += len(conns)
                # In effect once every connection's threads have seen the close.
                self.cond.wait_for(lambda: not self.conns, timeout=5)
        elif previous == "close":
            self._listen()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            conns = list(self.conns)
            self.cond.notify_all()
        self._close_listener()
        for client, upstream in conns:
            self._shut(client)
            self._shut(upstream)

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        with self.cond:
            return len(self.conns)

    # -- internals
    def _listen(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self.listener = s
        self.accept_thread = threading.Thread(target=self._accept_loop, args=(s,), daemon=True)
        self.accept_thread.start()

    def _close_listener(self) -> None:
        s, self.listener = self.listener, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            s.close()
        t, self.accept_thread = self.accept_thread, None
        if t is not None and t is not threading.current_thread():
            t.join(5)

    @staticmethod
    def _shut(s: socket.socket | None) -> None:
        if s is None:
            return
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.cond:
                self.accepted += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _wait_forward(self, conn) -> bool:
        """Waits while stalled; False when the connection must end (closed, stopped)."""
        with self.cond:
            while self.mode == "stall" and not self.stopped and (conn is None or conn in self.conns):
                self.cond.wait()
            return self.mode == "forward" and not self.stopped and (conn is None or conn in self.conns)

    def _connect(self, client: socket.socket) -> None:
        # A connection accepted while stalled is connected upstream only once forwarding resumes.
        with self.cond:
            pending = (client, None)
            self.conns.add(pending)
        if not self._wait_forward(pending):
            self._end(pending)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            self._end(pending)
            return
        conn = (client, upstream)
        with self.cond:
            self.conns.discard(pending)
            self.cond.notify_all()
            if self.mode == "close" or self.stopped:
                self._shut(client)
                self._shut(upstream)
                client.close()
                upstream.close()
                return
            self.conns.add(conn)
        threading.Thread(target=self._pump, args=(conn, client, upstream), daemon=True).start()
        self._pump(conn, upstream, client)

    def _pump(self, conn, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data or not self._wait_forward(conn):
                break
            try:
                dst.sendall(data)
            except OSError:
                break
            with self.cond:
                self.bytes_forwarded += len(data)
        self._end(conn)

    def _end(self, conn) -> None:
        with self.cond:
            present = conn in self.conns
            self.conns.discard(conn)
            self.cond.notify_all()
        for s in conn:
            self._shut(s)
        if present:
            for s in conn:
                if s is not None:
                    s.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", type=int, required=True, help="the database's loopback port")
    ap.add_argument("--listen", type=int, default=0, help="the proxy's port (default: a free one)")
    args = ap.parse_args()
    proxy = TcpProxy(args.upstream, args.listen).start()
    signal.signal(signal.SIGTERM, lambda *_: (proxy.stop(), sys.exit(0)))
    print(f"PROXY_PORT {proxy.port}", flush=True)
    for line in sys.stdin:
        mode = line.strip()
        if not mode:
            continue
        try:
            proxy.set_mode(mode)
            print(f"MODE {mode}", flush=True)
        except (ValueError, OSError) as e:
            print(f"ERROR {e}", flush=True)
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
