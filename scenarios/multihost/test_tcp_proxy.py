"""The partition proxy (tcp_proxy.py): forward, stall (hold without closing), close (close all, refuse new)."""

import os
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import pg_cluster  # noqa: E402
import tcp_proxy  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def echo_port():
    """An echo server on loopback: every byte it reads, it sends back."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve(c):
        with c:
            while data := c.recv(65536):
                c.sendall(data)

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    srv.shutdown(socket.SHUT_RDWR)
    srv.close()


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def test_forward_carries_bytes_both_ways(echo_port):
    with tcp_proxy.TcpProxy(echo_port) as p:
        with connect(p.port) as s:
            s.sendall(b"ping")
            assert s.recv(100) == b"ping"
        assert p.accepted == 1


def test_stall_holds_bytes_without_closing_and_forward_delivers_them(echo_port):
    with tcp_proxy.TcpProxy(echo_port) as p:
        s = connect(p.port)
        s.sendall(b"a")
        assert s.recv(10) == b"a"
        p.set_mode("stall")
        s.sendall(b"held")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):  # nothing comes back, and the connection is not closed
            s.recv(10)
        # A new connection is accepted but goes nowhere.
        n = connect(p.port)
        n.sendall(b"new")
        n.settimeout(0.3)
        with pytest.raises(socket.timeout):
            n.recv(10)
        p.set_mode("forward")
        s.settimeout(5)
        n.settimeout(5)
        assert s.recv(10) == b"held"
        assert n.recv(10) == b"new"
        s.close()
        n.close()


def test_close_ends_every_connection_refuses_new_ones_and_forward_listens_again(echo_port):
    with tcp_proxy.TcpProxy(echo_port) as p:
        port = p.port
        a, b = connect(port), connect(port)
        for s in (a, b):
            s.sendall(b"x")
            assert s.recv(1) == b"x"
        p.set_mode("close")
        for s in (a, b):
            try:
                assert s.recv(10) == b""  # the end of the stream
            except ConnectionResetError:
                pass
        with pytest.raises(ConnectionRefusedError):
            connect(port)
        assert p.connections == 0 and p.closed_by_mode == 2
        p.set_mode("forward")
        assert p.port == port
        with connect(port) as c:
            c.sendall(b"back")
            assert c.recv(10) == b"back"


def test_close_while_stalled_ends_the_held_connections(echo_port):
    with tcp_proxy.TcpProxy(echo_port) as p:
        s = connect(p.port)
        p.set_mode("stall")
        s.sendall(b"held")
        p.set_mode("close")
        s.settimeout(5)
        try:
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
        s.close()


def test_an_unknown_mode_is_refused(echo_port):
    with tcp_proxy.TcpProxy(echo_port) as p:
        with pytest.raises(ValueError, match="unknown proxy mode 'drop'"):
            p.set_mode("drop")
        assert p.mode == "forward"


def test_the_process_form_answers_each_command_once_it_is_in_effect(echo_port):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "tcp_proxy.py"), "--upstream", str(echo_port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().split()
        assert first[0] == "PROXY_PORT"
        port = int(first[1])
        s = connect(port)
        s.sendall(b"1")
        assert s.recv(1) == b"1"
        for mode in ("stall", "close", "forward", "bogus"):
            proc.stdin.write(mode + "\n")
            proc.stdin.flush()
            answer = proc.stdout.readline().strip()
            assert answer == (f"MODE {mode}" if mode != "bogus" else "ERROR unknown proxy mode 'bogus' (one of forward, stall, close)")
        with connect(port) as c:
            c.sendall(b"2")
            assert c.recv(1) == b"2"
        s.close()
        proc.stdin.close()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not pg_cluster.installed(), reason="needs PostgreSQL 15 (scripts/setup)")
def test_postgres_through_the_proxy():
    with pg_cluster.PgCluster() as pg, tcp_proxy.TcpProxy(pg.port) as p:
        ok = pg.psql_over_tcp("SELECT 40 + 2", pg.password, port=p.port)
        assert ok.returncode == 0 and ok.stdout.strip() == "42", ok
        p.set_mode("stall")
        stalled = pg.psql_over_tcp("SELECT 1", pg.password, port=p.port, timeout=1)
        assert stalled.returncode != 0 and "timeout" in stalled.stderr, stalled
        p.set_mode("close")
        refused = pg.psql_over_tcp("SELECT 1", pg.password, port=p.port)
        assert refused.returncode != 0 and "refused" in refused.stderr, refused
        p.set_mode("forward")
        assert pg.psql_over_tcp("SELECT 1", pg.password, port=p.port).returncode == 0
