"""A live stack for the dashboard's browser tests: a watchdog (with its dashboard on a free
loopback port) and a supervisor running three markets' workers, from the debug build, in a fresh
folder under /tmp; and headless Debian chromium driven through chromedriver by selenium.

Every process started here is ended by pid at the end of its test (SIGTERM, then SIGKILL), and the
workers the supervisor started with them (their pids from the supervisor's status). The folder is
kept (its screenshot, logs, journals) and printed.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("ROBOT_BIN", ROOT / ".build" / "debug"))
MARKETS = {"ES": "MES", "NQ": "MNQ", "CL": "MCL"}


def wait_for(what, probe, timeout=10.0, interval=0.02):
    """Polls `probe` until it returns something truthy; fails naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = probe()
        except Exception as e:  # a stale element, a connection refused: seen, not fatal
            last = f"{type(e).__name__}: {e}"
            value = None
        else:
            value = last
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, folder):
        self.folder = folder
        self.config_path = os.path.join(folder, "robot.json")
        self.port = free_port()
        self.streams = {m: {f"{m}1": m} for m in MARKETS}
        self.feeds = {}
        self.dashboard = None
        self.extra = {}
        self.metrics_port = None
        self.watchdog = None
        self.supervisor = None
        self.started = []
        self.worker_pids = set()

    def write_config(self):
        markets = {}
        for m, e in MARKETS.items():
            spec = {"execution": e, "streams": {s: {"instrument": i} for s, i in self.streams[m].items()}}
            if m in self.feeds:
                spec["feed"] = self.feeds[m]
            markets[m] = spec
        config = {
            "instrument_map": {e: m for m, e in MARKETS.items()},
            "markets": markets,
            "timings": {"heartbeat_interval_seconds": 0.1, "invariants_interval_seconds": 60,
                        "heartbeat_late_intervals": 2, "heartbeat_lost_seconds": 1.0},
            "supervisor": {"watchdog_seconds": 2, "watchdog_kill_grace_seconds": 0.5, "start_timeout_seconds": 5,
                           "stop_timeout_seconds": 2, "min_uptime_seconds": 0.5, "backoff_initial_seconds": 0.1,
                           "backoff_max_seconds": 1, "max_restarts": 20, "restart_window_seconds": 60},
            "safety": {"market_data_stale_seconds": 0.6, "market_data_stalled_seconds": 1.5, "health_interval_seconds": 0.2},
            "dashboard": self.dashboard or {"enabled": True, "host": "127.0.0.1", "port": self.port},
        }
        config.update(self.extra)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(config, f, indent=1)
        os.replace(tmp, self.config_path)

    def _start(self, name, args):
        log = open(os.path.join(self.folder, f"{name}-{len(self.started)}.log"), "w")
        p = subprocess.Popen([str(BIN / name)] + args + ["--config", self.config_path, "--home", self.folder],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started.append(p)
        return p

    def start_watchdog(self, host="127.0.0.1", health=True):
        self.watchdog = self._start("watchdog", ["run"])
        if health:
            wait_for("the dashboard's /api/health", lambda: self.get("/api/health"), timeout=15)

    def start_supervisor(self):
        self.supervisor = self._start("supervisor", ["run"])

    def start(self):
        self.write_config()
        self.start_watchdog()
        self.start_supervisor()
        wait_for("three markets with a holder in /api/status", lambda: self.holders() if len(self.holders()) == 3 else None, timeout=30)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=2) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def status(self):
        return self.get("/api/status") or {}

    def holders(self):
        markets = self.status().get("markets", {})
        found = {m: (s["lock"]["pid"], s["lock"]["fence"]) for m, s in markets.items() if s.get("lock")}
        for pid, _ in found.values():
            self.worker_pids.add(pid)
        return found

    def stop_process(self, p, sig=signal.SIGTERM, timeout=10):
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def cleanup(self):
        try:
            self.holders()
        except Exception:
            pass
        self.stop_process(self.supervisor)
        for p in self.started:
            self.stop_process(p)
        for pid in self.worker_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def stack(request):
    folder = tempfile.mkdtemp(prefix="rt.dash.", dir="/tmp")
    s = Stack(folder)
    yield s
    s.cleanup()
    print(f"\n{request.node.name}: folder {folder}")


@pytest.fixture
def browser():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800",
              "--no-first-run", "--no-default-browser-check"]:
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
