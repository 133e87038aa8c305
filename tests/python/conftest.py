"""End-to-end tests of mobile-core through its generated Python bindings,
against the real server (`kvo serve`) on its private PostgreSQL + PostGIS.

A fault-injecting proxy sits between the device and the server: it can be
down, slow, answer 500/429 for a while, and it records what leaves the device.
"""

import http.client
import http.server
import json
import os
import pathlib
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINDINGS = ROOT / "build" / "bindings" / "python"
KVO = ROOT / "target" / "debug" / "kvo"
sys.path.insert(0, str(BINDINGS))

DEVENTER = {
    "type": "Polygon",
    "coordinates": [[[6.155, 52.245], [6.165, 52.245], [6.165, 52.255], [6.155, 52.255], [6.155, 52.245]]],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`kvo serve` on a private data directory (and so a private cluster)."""

    def __init__(self, tmp, port=None):
        self.dir = pathlib.Path(tmp)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Many phones join from this one address: no per-address limits (tested in Rust).
        self.env = dict(os.environ, KVO_DATA_DIR=str(self.dir / "data"), KVO_LISTEN=f"127.0.0.1:{self.port}",
                        RUST_LOG="warn", KVO_RATE_SIGNIN_PER_MINUTE="0", KVO_RATE_REDEEM_PER_MINUTE="0")
        self.proc = subprocess.Popen([str(KVO), "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "server.log", "wb"))
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not become ready: " + (self.dir / "server.log").read_text())

    def kvo(self, *args):
        out = subprocess.run([str(KVO), *args], env=self.env, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def new_area(self, name):
        path = self.dir / f"{name}.geojson"
        path.write_text(json.dumps(DEVENTER))
        return self.kvo("area", "create", "--name", name, "--kind", "kvo-w", "--boundary", str(path))

    def invite(self, area, role="ondernemer"):
        return self.kvo("invite", "create", "--area", area, "--role", role, "--uses", "5").split()[0]

    def get(self, token, path):
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def post(self, token, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="kvo-py-") as tmp:
        os.chmod(tmp, 0o755)
        s = Server(tmp)
        yield s
        s.stop()


class Proxy:
    """Forwards to the server; can be down, slow down, and records request bodies.

    Scripted failures (5xx, 429, lost answers) are the Rust sync tests' work
    (`mobile-core/tests/sync.rs`); here the real server answers."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay = 0.0
        self.bodies = []            # (method, path, body) of everything forwarded
        self.forwarded_ok = 0
        self.lock = threading.Lock()
        self.httpd = None
        self.sockets = []

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with proxy.lock:
                    proxy.sockets.append(self.connection)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.delay:
                    time.sleep(proxy.delay)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                res = conn.getresponse()
                data = res.read()
                with proxy.lock:
                    proxy.bodies.append((self.command, self.path, body))
                    if res.status < 300:
                        proxy.forwarded_ok += 1
                self.send_response(res.status)
                for k, v in res.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """Down: no new connections, and the open (keep-alive) ones are cut."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets.clear()


@pytest.fixture
def proxy(server):
    p = Proxy(server.port)
    yield p
    p.stop()


def device_token(data_dir):
    """The device token of a client opened for tests (`open_for_tests` keeps it
    in the device's own store), for checks on the server; None when absent."""
    with sqlite3.connect(os.path.join(data_dir, "kvo.sqlite3")) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'token'").fetchone()
        return row[0] if row else None
