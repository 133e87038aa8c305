"""Chaos (issue 17): 20 phones, each a mobile-core client through the Python
bindings, report with photos, offline first and then online, while the
server is killed with SIGKILL at random moments, and once PostgreSQL under it
is stopped in immediate mode (a crash: it recovers from its WAL). Afterwards
every report a phone holds as sent is on the server exactly once, every photo
is there with the digest the phone computed, and the counts the werkgroep
reads (rollup) equal the reports that exist.

Push is not part of it here: its outbox survives a killed sender in
`tests/tests/it/push.rs` (SIGKILL of the sender, every message delivered)."""

import hashlib
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
            d = helpers.draft(lat=52.2455 + rng.random() * 0.008, lon=6.1555 + rng.random() * 0.008,
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
    with tempfile.TemporaryDirectory(prefix="kvo-chaos-") as tmp:
        os.chmod(tmp, 0o755)
        port = free_port()
        server = Server(tmp, port=port)
        area = server.new_area("Chaos")
        code = server.kvo("invite", "create", "--area", area, "--role", "ondernemer", "--uses", str(PHONES)).split()[0]
        werkgroep = server.kvo("invite", "create", "--area", area, "--role", "werkgroep").split()[0]
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

        redeem = urllib.request.Request(server.url + "/api/v1/devices/redeem", method="POST",
                                        data=json.dumps({"code": werkgroep}).encode(),
                                        headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(redeem, timeout=30) as r:
            wg = json.loads(r.read())["token"]

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
        server.stop()
