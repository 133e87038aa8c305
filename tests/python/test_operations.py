"""Restart for real (issue 18): `kvo serve` killed with SIGKILL leaves its
private cluster running, and the next start adopts it; after the cluster was
killed too, the next start recovers it. Reports and photos are intact."""

import hashlib
import json
import os
import signal
import tempfile
import time
import urllib.request
import uuid

from conftest import Server
import helpers


def put_photo(server, token, incident, body):
    req = urllib.request.Request(f"{server.url}/api/v1/incidents/{incident}/photos/{uuid.uuid4()}", data=body,
                                 method="PUT", headers={"Authorization": f"Bearer {token}",
                                                        "Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 201
        return json.loads(r.read())


def redeem(server, code):
    req = urllib.request.Request(f"{server.url}/api/v1/devices/redeem", data=json.dumps({"code": code}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["token"]


def postmaster_pid(tmp):
    with open(os.path.join(tmp, "data", "postgres", "data", "postmaster.pid")) as f:
        return int(f.readline())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_sigkill_of_the_server_and_then_of_its_cluster_loses_nothing():
    with tempfile.TemporaryDirectory(prefix="kvo-kill-") as tmp:
        os.chmod(tmp, 0o755)
        first = Server(tmp)
        area = first.new_area("Herstart")
        token = redeem(first, first.invite(area))
        reports = []
        for i in range(5):
            r = {"id": str(uuid.uuid4()), "area_id": area, "category": "graffiti",
                 "location": {"lat": 52.247, "lon": 6.157}, "occurred_at": helpers.now().isoformat(),
                 "description": f"Voor de kill {i}"}
            assert first.post(token, "/api/v1/incidents", r) == 201
            photo = put_photo(first, token, r["id"], helpers.photo(320, 240))
            reports.append((r["id"], photo["sha256"]))

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        cluster = postmaster_pid(tmp)
        assert alive(cluster), "the cluster outlives a killed server"

        def intact(server):
            for incident, sha in reports:
                got = server.get(token, f"/api/v1/incidents/{incident}")
                assert [p["sha256"] for p in got["photos"]] == [sha]
                req = urllib.request.Request(server.url + got["photos"][0]["url"],
                                             headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=30) as r:
                    assert hashlib.sha256(r.read()).hexdigest() == sha

        second = Server(tmp)  # adopts the running cluster
        assert postmaster_pid(tmp) == cluster, "the same cluster, adopted"
        intact(second)

        # Now both die: the server, and the cluster under it.
        second.proc.send_signal(signal.SIGKILL)
        second.proc.wait()
        os.kill(cluster, signal.SIGKILL)
        deadline = time.time() + 30
        while alive(cluster) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # its backends notice and exit

        third = Server(tmp)  # starts the cluster again; PostgreSQL recovers from its WAL
        assert postmaster_pid(tmp) != cluster
        intact(third)
        third.stop()
