"""mobile-core through its Python bindings against a real `kvo serve`: thin
binding tests. The sync engine's decisions (backoff, 429 pauses, wedges and
their dependants, resuming) are tested in Rust against a scripted transport
(`mobile-core/tests/sync.rs`); here only what a fake cannot show: the records,
enums, errors and callbacks across the FFI, and the real server storing a
queue exactly once across a SIGKILLed process."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from conftest import BINDINGS, device_token
import helpers
import mobile_core as mc


def signed_in_device(server, proxy, area=None, role="ondernemer"):
    area = area or server.new_area(f"Gebied {time.time_ns()}")
    data = tempfile.mkdtemp(prefix="kvo-device-")
    client = mc.KvoClient.open_for_tests(data, proxy.url)
    client.set_backoff(50, 1000)
    session = client.redeem_invite(server.invite(area, role), "Bakkerij Test", "pytest")
    assert session.area_id == area and session.role == mc.Role[role.upper()]
    assert client.refresh_categories() is True
    assert client.refresh_categories() is False, "unchanged: 304 with the cached ETag"
    assert any(c.code == "diefstal" for c in client.categories())
    return client, data, area


def server_incidents(server, data):
    token = device_token(data)
    items, cursor = [], None
    while True:
        page = server.get(token, "/api/v1/incidents?mine=true&limit=500" + (f"&cursor={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_fifty_reports_offline_then_killed_mid_sync_arrive_exactly_once(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy)
    proxy.stop()  # the server is now unreachable for the device
    prepared = {}
    for i in range(50):
        r = client.create_report(helpers.draft(description=f"Melding {i}"))
        p = client.attach_photo(r.id, helpers.photo(640, 480))
        prepared[r.id] = p.photo.sha256
    assert client.queue_state().pending == 100
    state = client.sync(300, None)
    assert state.sent == 0 and state.pending == 100, "nothing leaves while the server is down"
    del client

    proxy.start()
    proxy.delay = 0.03
    env = dict(os.environ)
    child = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "sync_child.py"), data, proxy.url,
                              str(BINDINGS)], env=env, stdout=subprocess.PIPE)
    deadline = time.time() + 60
    while proxy.forwarded_ok < 40 and time.time() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    sent_before_kill = proxy.forwarded_ok
    assert 0 < sent_before_kill < 100, f"killed mid-sync ({sent_before_kill} requests got through)"

    proxy.delay = 0
    second = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "sync_child.py"), data, proxy.url,
                             str(BINDINGS)], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    sent, pending, wedged = map(int, second.stdout.split())
    assert (sent, pending, wedged) == (100, 0, 0)

    incidents = server_incidents(server, data)
    assert len(incidents) == 50
    assert {i["id"] for i in incidents} == set(prepared)
    for inc in incidents:
        assert [p["upload_sha256"] for p in inc["photos"]] == [prepared[inc["id"]]]


def test_progress_reaches_a_python_observer_and_the_servers_status_comes_back(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy)
    ids = []
    for i in range(3):
        r = client.create_report(helpers.draft(description=f"Melding {i}"))
        client.attach_photo(r.id, helpers.photo(320, 240))
        ids.append(r.id)
    seen = []

    class Observer(mc.SyncObserver):
        def on_progress(self, state):
            seen.append(state)

    state = client.sync(60_000, Observer())
    assert (state.sent, state.pending, state.wedged) == (6, 0, 0)
    assert seen and seen[-1].sent == 6 and seen[-1].bytes_sent == seen[-1].bytes_total > 0
    incidents = server_incidents(server, data)
    assert sorted(i["id"] for i in incidents) == sorted(ids)
    mine = client.refresh_my_reports()
    assert {r.server_status for r in mine} == {mc.IncidentStatus.NIEUW}
    # A photo may follow a report that was sent long ago.
    late = client.attach_photo(ids[0], helpers.photo(300, 200))
    assert client.sync(30_000, None).sent == 7
    first = [i for i in server_incidents(server, data) if i["id"] == ids[0]][0]
    assert [p["upload_sha256"] for p in first["photos"]][-1] == late.photo.sha256


def test_the_servers_refusal_arrives_as_a_wedged_report_with_its_dutch_reason(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy)
    outside = client.create_report(helpers.draft(lat=52.37, lon=4.89, description="Amsterdam, buiten het gebied"))
    good = client.create_report(helpers.draft(description="Binnen"))
    state = client.sync(30_000, None)
    assert (state.sent, state.wedged) == (1, 1)
    wedged = client.report(outside.id)
    assert wedged.state == mc.ItemState.WEDGED and "buiten het gebied" in wedged.reason
    # Corrected, the wedged report goes out after all.
    fixed = client.update_report(outside.id, helpers.draft(description="Toch binnen het gebied"))
    assert fixed.state == mc.ItemState.PENDING
    assert client.sync(30_000, None).wedged == 0
    assert {i["id"] for i in server_incidents(server, data)} == {good.id, outside.id}


def test_no_exif_or_gps_leaves_the_device_and_a_geotagged_photo_supplies_the_location(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy)
    r = client.create_report(helpers.draft(lat=None, description="Zonder locatie"))
    assert r.location is None
    original = helpers.photo(1200, 900, exif=helpers.gps_exif(52.2493, 6.1587, orientation=6))
    assert b"Exif" in original
    attached = client.attach_photo(r.id, original)
    loc = attached.suggested_location
    assert abs(loc.lat - 52.2493) < 1e-6 and abs(loc.lon - 6.1587) < 1e-6
    assert (attached.photo.width, attached.photo.height) == (900, 1200), "EXIF orientation applied"
    assert client.sync(5_000, None).sent == 0, "a report without location waits"
    client.set_location(r.id, loc)
    state = client.sync(30_000, None)
    assert state.sent == 2

    uploads = [b for (m, p, b) in proxy.bodies if m == "PUT" and "/photos/" in p]
    assert len(uploads) == 1
    sent = uploads[0]
    assert hashlib.sha256(sent).hexdigest() == attached.photo.sha256
    for needle in (b"Exif", b"GPS", b"http://ns.adobe.com"):
        assert needle not in sent
    assert sent[:2] == b"\xff\xd8" and b"\xff\xe1" not in sent[:200]
    inc = server_incidents(server, data)[0]
    assert abs(inc["location"]["lat"] - 52.2493) < 1e-6


def test_a_corrupt_or_60_megapixel_image_is_a_clear_error(server, proxy):
    proxy.start()
    client, _, _ = signed_in_device(server, proxy)
    r = client.create_report(helpers.draft())
    with pytest.raises(mc.ApiError.Photo) as e:
        client.attach_photo(r.id, b"\xff\xd8\xff\xe0 dit is geen foto")
    assert "corrupt" in str(e.value)
    with pytest.raises(mc.ApiError.Photo):
        client.attach_photo(r.id, b"GIF89a....")
    big = helpers.Image.new("RGB", (10_000, 6_000), (90, 90, 90))
    buf = helpers.io.BytesIO()
    big.save(buf, "JPEG", quality=50)
    with pytest.raises(mc.ApiError.Photo) as e:
        client.attach_photo(r.id, buf.getvalue())
    assert "60 megapixels" in str(e.value)
    # The client is fine afterwards.
    assert client.attach_photo(r.id, helpers.photo(100, 100)).photo.width == 100


def test_bad_drafts_name_their_field(server, proxy):
    proxy.start()
    client, _, _ = signed_in_device(server, proxy)
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.create_report(helpers.draft(lat=200.0))
    assert e.value.field == "location.lat"
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.create_report(helpers.draft(category="ufo"))
    assert e.value.field == "category"
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.create_report(helpers.draft(description="x" * 2001))
    assert e.value.field == "description"
    poor = client.create_report(helpers.draft(accuracy=350.0))
    assert poor.poor_location is True


def test_a_patrol_uploads_its_route_and_its_findings(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy, role="beveiliger")
    patrol = client.start_patrol()
    start = helpers.now()
    for i in range(30):
        client.add_route_point(52.246 + i * 0.0001, 6.156, start + helpers.datetime.timedelta(seconds=5 * i))
    finding = client.create_report(helpers.draft(category="vandalisme", description="Ruit ingegooid"))
    assert finding.patrol_id == patrol
    client.end_patrol()
    state = client.sync(30_000, None)
    assert (state.sent, state.wedged) == (3, 0)
    route = server.get(device_token(data), f"/api/v1/patrols/{patrol}")
    assert route["point_count"] == 30 and route["ended_at"] is not None
    assert route["route"]["type"] == "LineString"


def test_status_changes_of_my_reports_reach_the_device(server, proxy):
    proxy.start()
    client, data, area = signed_in_device(server, proxy)
    report = client.create_report(helpers.draft())
    assert client.sync(30_000, None).sent == 1
    assert client.status_changes() == [], "nieuw was known from the 201"
    _, werkgroep_data, _ = signed_in_device(server, proxy, area, role="werkgroep")
    werkgroep = device_token(werkgroep_data)
    body = {"status": "in_behandeling", "reason": "gemeente ingelicht"}
    assert server.post(werkgroep, f"/api/v1/incidents/{report.id}/status", body) == 200

    changes = client.status_changes()
    S = mc.IncidentStatus
    assert [(c.report_id, c.previous, c.status) for c in changes] == [(report.id, S.NIEUW, S.IN_BEHANDELING)]
    assert changes[0].message == "Uw melding is nu: in behandeling"
    assert changes[0].category == "diefstal"
    assert client.status_changes() == [], "told once"
    assert client.report(report.id).server_status == S.IN_BEHANDELING

    # A push carrying the next status (as the server's worker sends it).
    push = {"id": "a-1", "reason": "status", "area_id": area, "incident_id": report.id, "category": "diefstal",
            "status": "opgelost", "title": "Uw melding is nu: opgelost", "body": "Diefstal", "url": "/"}
    change = client.handle_push(json.dumps(push))
    assert (change.previous, change.status) == (S.IN_BEHANDELING, S.OPGELOST)
    assert client.handle_push(json.dumps(push)) is None, "a repeated delivery tells nothing new"
    assert client.handle_push(json.dumps(dict(push, reason="urgent"))) is None
    assert client.handle_push(json.dumps(dict(push, incident_id=str(uuid.uuid4())))) is None, "not my report"
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.handle_push("{niet json")
    assert e.value.field == "payload"
    assert client.report(report.id).server_status == S.OPGELOST


def test_answers_anonymity_nearby_and_a_confirmation_reach_the_server(server, proxy):
    proxy.start()
    client, data, area = signed_in_device(server, proxy)
    theft = next(c for c in client.categories() if c.code == "diefstal")
    assert {q.code for q in theft.questions} >= {"aangifte", "schade_euro"}
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.create_report(helpers.draft(answers={"aangifte": mc.Answer.TEXT("ja")}))
    assert e.value.field == "answers.aangifte"
    mine = client.create_report(helpers.draft(
        answers={"aangifte": mc.Answer.YES_NO(True), "schade_euro": mc.Answer.NUMBER(120.5)}, anonymous=True))
    assert client.sync(30_000, None).sent == 1
    [stored] = server_incidents(server, data)
    assert stored["answers"] == {"aangifte": True, "schade_euro": 120.5} and stored["anonymous"] is True

    # Another ondernemer nearby sees it and confirms instead of reporting again.
    other = mc.KvoClient.open_for_tests(tempfile.mkdtemp(prefix="kvo-device-"), proxy.url)
    other.redeem_invite(server.invite(area), "Slager", "pytest")
    near = other.nearby("diefstal", mc.GeoFix(lat=52.2471, lon=6.1571, accuracy_m=10.0))
    assert [n.id for n in near] == [mine.id] and near[0].distance_m < 50
    other.confirm_same(mine.id)
    other.confirm_same(mine.id)
    assert other.sync(30_000, None).sent == 1
    [stored] = server_incidents(server, data)
    assert stored["confirmations"] == 1


def test_a_python_secret_store_holds_the_token_not_the_sqlite_file(server, proxy):
    proxy.start()

    class Keychain(mc.SecretStore):
        def __init__(self):
            self.secrets = {}

        def load(self, key):
            return self.secrets.get(key)

        def save(self, key, value):
            if value is None:
                self.secrets.pop(key, None)
            else:
                self.secrets[key] = value
            return True

    keychain = Keychain()
    data = tempfile.mkdtemp(prefix="kvo-device-")
    client = mc.KvoClient.open(data, proxy.url, keychain)
    client.redeem_invite(server.invite(server.new_area(f"Gebied {time.time_ns()}")), "Kapper", "pytest")
    token = keychain.secrets["kvo.device_token"]
    assert token.startswith("kvod_") and device_token(data) is None
    client.create_report(helpers.draft())
    assert client.sync(30_000, None).sent == 1
    client.sign_out()
    assert keychain.secrets == {}


def test_checkpoint_scans_made_offline_reach_the_server_once_with_their_flags(server, proxy):
    proxy.start()
    client, data, area = signed_in_device(server, proxy, role="beveiliger")
    near_tag, near_id = server.kvo("checkpoint", "add", "--area", area, "--name", "Brink", "--lat", "52.2470",
                                   "--lon", "6.1570").split()
    far_tag, far_id = server.kvo("checkpoint", "add", "--area", area, "--name", "Kerk", "--lat", "52.2500",
                                 "--lon", "6.1600").split()
    proxy.stop()  # no signal on the round
    patrol = client.start_patrol()
    here = mc.GeoFix(lat=52.2471, lon=6.1570, accuracy_m=5.0)
    scans = [client.scan_checkpoint(near_tag.lower(), here), client.scan_checkpoint(far_tag, here)]
    client.end_patrol()
    with pytest.raises(mc.ApiError.InvalidInput):
        client.scan_checkpoint("", here)
    assert client.sync(300, None).sent == 0
    proxy.start()
    state = client.sync(30_000, None)
    assert (state.sent, state.pending, state.wedged) == (4, 0, 0), state
    assert client.sync(5_000, None).sent == 4, "a second run sends nothing new"
    report = server.get(device_token(data), f"/api/v1/patrols/{patrol}/report")
    got = {s["id"]: s for s in report["scans"]}
    assert sorted(got) == sorted(str(s) for s in scans), "each scan stored exactly once"
    assert [got[str(s)]["checkpoint_id"] for s in scans] == [near_id, far_id]
    assert [got[str(s)]["far"] for s in scans] == [False, True], "the scan 400 m away is flagged"
    assert not any(s["outside_patrol"] for s in got.values())
    assert [c["id"] for c in report["checkpoints_hit"]] == [near_id]


def test_aangifte_and_damage_recorded_offline_reach_the_follow_up(server, proxy):
    proxy.start()
    client, data, _ = signed_in_device(server, proxy)
    proxy.stop()
    report = client.create_report(helpers.draft(description="Inbraak, deur geforceerd"))
    client.set_facts(report.id, True, None)
    shown = client.set_facts(report.id, None, 1250.5)
    assert (shown.aangifte, shown.damage_eur) == (True, 1250.5)
    with pytest.raises(mc.ApiError.InvalidInput):
        client.set_facts(report.id, None, -3.0)
    proxy.start()
    state = client.sync(30_000, None)
    assert (state.sent, state.pending, state.wedged) == (3, 0, 0), state
    follow_up = server.get(device_token(data), f"/api/v1/incidents/{report.id}/follow-up")
    assert (follow_up["aangifte"], follow_up["damage_eur"]) == (True, 1250.5)
    facts = [(h["action"], h["detail"]) for h in follow_up["history"] if h["action"] in ("aangifte", "damage")]
    assert facts == [("aangifte", "ja"), ("damage", "€ 1250,50")]


def test_the_nearest_lamp_post_is_offered_and_linked_to_a_lighting_report(server, proxy):
    proxy.start()
    client, data, area = signed_in_device(server, proxy)
    register = server.dir / f"lichtmasten-{area}.csv"
    register.write_text("nummer;naam;lat;lon\n0412;Brink;52,2470;6,1580\n0413;;52,2500;6,1600\n")
    server.kvo("register", "import", "--area", area, "--kind", "lichtmast", str(register))
    here = mc.GeoFix(lat=52.24705, lon=6.15805, accuracy_m=6.0)
    offered = client.nearest_assets("kapotte_verlichting", here)
    assert [(a.external_id, a.kind, a.label_nl) for a in offered] == [("0412", "lichtmast", "lichtmast 0412")]
    assert 3 < offered[0].distance_m < 10
    assert client.nearest_assets("diefstal", here) == [], "theft is about no asset"
    with pytest.raises(mc.ApiError.InvalidInput) as e:
        client.create_report(helpers.draft(asset_id=offered[0].id))
    assert e.value.field == "asset_id", "checked on the device with the server's rule"
    r = client.create_report(helpers.draft(category="kapotte_verlichting", lat=52.24705, lon=6.15805,
                                           asset_id=offered[0].id))
    assert r.asset_id == offered[0].id
    assert client.sync(30_000, None).sent == 1
    [stored] = server_incidents(server, data)
    assert stored["asset"] == {"id": offered[0].id, "kind": "lichtmast", "external_id": "0412"}
    # Without the network the app reports without the link.
    proxy.stop()
    with pytest.raises(mc.ApiError.Network):
        client.nearest_assets("kapotte_verlichting", here)
