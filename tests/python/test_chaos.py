"""Chaos (issue 17): 20 phones, each a mobile-core client through the Python
bindings, report with photos, offline first and then online, while the
server is killed with SIGKILL at random moments, and once PostgreSQL under it
is stopped in immediate mode (a crash: it recovers from its WAL). Afterwards
every report a phone holds as sent is on the server exactly once, every photo
is there with the digest the phone computed, the counts the werkgroep
reads (rollup) equal the reports that exist, and a werkgroep member on duty
got a push for every urgent report (at least once: a sender killed between
sending and recording sends again)."""

import base64
import hashlib
import hmac as hmac_module
import http.server
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import mobile_core as mc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import Server, free_port
import helpers

PHONES = 20
REPORTS_PER_PHONE = 5
KILLS = 4


def stop_postgres_immediately(tmp):
    data = os.path.join(tmp, "data", "postgres", "data")
    pg_ctl = sorted(p for p in os.listdir("/usr/lib/postgresql"))[-1]
    cmd = [f"/usr/lib/postgresql/{pg_ctl}/bin/pg_ctl", "-D", data, "-m", "immediate", "stop"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)


class PushService:
    """A push service on 127.0.0.1 holding the browser's keys: it accepts every
    message, decrypts it (RFC 8291, aes128gcm) and keeps the incident it is about."""

    def __init__(self):
        self.incidents = set()
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                message = json.loads(outer.decrypt(body))
                outer.incidents.add(message["incident_id"])
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/push/werkgroep"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def public(self):
        return self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)

    def decrypt(self, body):
        hmac = lambda key, data: hmac_sha256(key, data)
        salt, idlen = body[:16], body[20]
        sender = body[21:21 + idlen]
        secret = self.key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender))
        ikm = hmac(hmac(self.auth, secret), b"WebPush: info\x00" + self.public() + sender + b"\x01")
        prk = hmac(salt, ikm)
        cek = hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        padded = AESGCM(cek).decrypt(nonce, body[21 + idlen:], None)
        return padded.rstrip(b"\x00")[:-1]  # the last record ends with 0x02

    def subscription(self, area):
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        return {"area_id": area, "endpoint": self.url, "keys": {"p256dh": b64(self.public()), "auth": b64(self.auth)}}


def hmac_sha256(key, data):
    return hmac_module.new(key, data, hashlib.sha256).digest()


def put(url, token, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


class Phone(threading.Thread):
    """Reports offline, then syncs until everything is sent, whatever the server does."""

    def __init__(self, n, url, code, rng):
        super().__init__(daemon=True)
        self.data = tempfile.mkdtemp(prefix=f"kvo-phone{n}-")
        self.client = mc.KvoClient.open_for_tests(self.data, url)
        self.client.set_backoff(100, 1500)
        for attempt in range(100):
            try:
                self.client.redeem_invite(code, f"Winkel {n}", "chaos")
                break
            except mc.ApiError.Network:
                time.sleep(0.3)
        self.client.refresh_categories()
        self.photos = {}  # report id -> sha256 of the prepared photo
        for i in range(REPORTS_PER_PHONE):
            # Every third report is a robbery: urgent, pushed to whoever is on duty.
            d = helpers.draft(category="overval" if (n + i) % 3 == 0 else "diefstal",
                              lat=52.2455 + rng.random() * 0.008, lon=6.1555 + rng.random() * 0.008,
                              description=f"Telefoon {n}, melding {i}")
            r = self.client.create_report(d)
            self.photos[r.id] = self.client.attach_photo(r.id, helpers.photo(400, 300)).photo.sha256
        self.done = threading.Event()
        self.errors = []

    def run(self):
        deadline = time.time() + 240
        while time.time() < deadline:
            try:
                q = self.client.sync(5_000, None)
                if q.pending == 0 and q.sending == 0:
                    break
            except mc.ApiError.Network:
                pass
            except Exception as e:  # anything else is a finding
                self.errors.append(repr(e))
            time.sleep(0.2)
        self.done.set()


def test_twenty_phones_through_kills_and_a_postgres_crash_lose_nothing_and_store_nothing_twice():
    rng = random.Random(20261130)
    push = PushService()
    # Every server of the run sends to the local push service, and a sender
    # killed with messages claimed gives them up after two seconds.
    os.environ.update(KVO_PUSH_HOSTS="127.0.0.1", KVO_PUSH_LEASE_SECS="2")
    with tempfile.TemporaryDirectory(prefix="kvo-chaos-") as tmp:
        os.chmod(tmp, 0o755)
        port = free_port()
        server = Server(tmp, port=port)
        area = server.new_area("Chaos")
        code = server.kvo("invite", "create", "--area", area, "--role", "ondernemer", "--uses", str(PHONES)).split()[0]
        werkgroep = server.kvo("invite", "create", "--area", area, "--role", "werkgroep").split()[0]
        redeem = urllib.request.Request(server.url + "/api/v1/devices/redeem", method="POST",
                                        data=json.dumps({"code": werkgroep}).encode(),
                                        headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(redeem, timeout=30) as r:
            wg = json.loads(r.read())["token"]
        assert server.post(wg, "/api/v1/push/subscriptions", push.subscription(area)) == 201
        prefs = {"new_categories": [], "urgent": True, "own_status": True, "on_duty": True}
        assert put(server.url + f"/api/v1/areas/{area}/push/preferences", wg, prefs) == 200
        phones = [Phone(n, server.url, code, rng) for n in range(PHONES)]
        # Offline: the server is down when the phones start sending.
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        for p in phones:
            p.start()
        time.sleep(1)

        def sent():
            return sum(p.client.queue_state().sent for p in phones)

        total = PHONES * REPORTS_PER_PHONE * 2
        kills = []
        for k in range(KILLS):
            server = Server(tmp, port=port)
            # Kill in the middle of the rush: after some more items got through.
            target = sent() + rng.randint(10, total // (KILLS + 1))
            deadline = time.time() + 60
            while sent() < target and time.time() < deadline:
                time.sleep(0.01)
            if k == KILLS // 2:
                stop_postgres_immediately(tmp)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
            kills.append(sent())
            time.sleep(rng.uniform(0.2, 1.0))
        assert kills[-1] < total, f"the last kill came after everything was sent ({kills})"
        server = Server(tmp, port=port)
        for p in phones:
            p.join(timeout=300)

        print(f"items acknowledged at each kill: {kills} of {total}")
        assert all(not p.errors for p in phones), [p.errors for p in phones if p.errors]
        for p in phones:
            q = p.client.queue_state()
            assert (q.pending, q.sending, q.wedged) == (0, 0, 0), f"phone {p.data}: {q}"

        incidents, cursor = [], None
        while True:
            page = server.get(wg, f"/api/v1/incidents?area_id={area}&limit=500" + (f"&cursor={cursor}" if cursor else ""))
            incidents += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        sent = {rid: sha for p in phones for rid, sha in p.photos.items()}
        ids = [i["id"] for i in incidents]
        assert len(ids) == len(set(ids)) == len(sent) == PHONES * REPORTS_PER_PHONE
        assert set(ids) == set(sent), "every acknowledged report exists, and nothing else"
        for inc in incidents:
            assert [ph["upload_sha256"] for ph in inc["photos"]] == [sent[inc["id"]]], "one photo, the phone's"
            req = urllib.request.Request(server.url + inc["photos"][0]["url"], headers={"Authorization": f"Bearer {wg}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                assert hashlib.sha256(r.read()).hexdigest() == inc["photos"][0]["sha256"]

        analysis = server.get(wg, f"/api/v1/areas/{area}/analysis")
        assert analysis["totals"]["current"] == len(sent), analysis["totals"]
        heat = server.get(wg, f"/api/v1/areas/{area}/heatmap?resolution=9")
        assert sum(f["properties"]["count"] for f in heat["features"]) == len(sent)

        # No push lost: a message for every urgent report reaches the member on duty.
        urgent = {i["id"] for i in incidents if i["category"] == "overval"}
        assert len(urgent) >= PHONES * REPORTS_PER_PHONE // 4
        deadline = time.time() + 60
        while not urgent <= push.incidents and time.time() < deadline:
            time.sleep(0.2)
        assert urgent <= push.incidents, f"{len(urgent - push.incidents)} of {len(urgent)} urgent reports got no push"
        assert push.incidents <= set(ids), "no push about a report that does not exist"
        server.stop()
    push.httpd.shutdown()
