//! Checkpoints, scans, agreed rounds, compliance and the round report,
//! through the HTTP API against a real database.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use kvo_api::{
    Role,
    rounds::{Checkpoint, Compliance, PatrolReport, RoundAgreement, RoundStatus, Scan},
    wire::{DeviceSession, Incident},
};
use kvo_tests::{TestApp, report};
use serde_json::{Value, json};
use uuid::Uuid;

/// Checkpoints A, B and C of the Deventer test area, 100 m apart.
const SPOTS: [(&str, f64, f64); 3] =
    [("A Brink", 52.2470, 6.1570), ("B Lamme", 52.2479, 6.1570), ("C Kerk", 52.2488, 6.1570)];

struct Setup {
    app: TestApp,
    area: Uuid,
    beheerder: DeviceSession,
    guard: DeviceSession,
    checkpoints: Vec<Checkpoint>,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let guard = app.device(area, Role::Beveiliger).await;
    let mut checkpoints = vec![];
    for (name, lat, lon) in SPOTS {
        let res = app
            .post(
                &beheerder.token,
                &format!("/api/v1/areas/{area}/checkpoints"),
                &json!({"name": name, "lat": lat, "lon": lon}),
            )
            .await;
        assert_eq!(res.status(), 201);
        checkpoints.push(res.json::<Checkpoint>().await.unwrap());
    }
    Setup { app, area, beheerder, guard, checkpoints }
}

/// A Dutch wall-clock time in winter (UTC+1) as an instant.
fn winter(date: NaiveDate, hm: &str) -> DateTime<Utc> {
    let t = NaiveDateTime::parse_from_str(&format!("{date} {hm}"), "%Y-%m-%d %H:%M").unwrap().and_utc()
        - Duration::hours(1);
    assert_eq!(kvo_server::nl_time::offset_hours(t), 1, "the test week lies in winter time");
    t
}

impl Setup {
    fn tag(&self, i: usize) -> &str {
        &self.checkpoints[i].tag
    }

    async fn scan(
        &self,
        patrol: Option<Uuid>,
        tag: &str,
        at: DateTime<Utc>,
        lat: f64,
        lon: f64,
    ) -> reqwest::Response {
        let body = json!({"id": Uuid::new_v4(), "area_id": self.area, "tag": tag, "scanned_at": at,
                          "position": {"lat": lat, "lon": lon, "accuracy_m": 10.0}, "patrol_id": patrol});
        self.app.post(&self.guard.token, "/api/v1/checkpoint-scans", &body).await
    }

    /// A patrol that scans `(checkpoint index, time)` at the checkpoints, then ends.
    async fn round(&self, scans: &[(usize, DateTime<Utc>)]) -> Uuid {
        let id = Uuid::new_v4();
        let start = scans[0].1 - Duration::minutes(5);
        let res = self
            .app
            .post(
                &self.guard.token,
                "/api/v1/patrols",
                &json!({"id": id, "area_id": self.area, "started_at": start}),
            )
            .await;
        assert_eq!(res.status(), 201);
        for &(i, at) in scans {
            let (_, lat, lon) = SPOTS[i];
            let res = self.scan(Some(id), self.tag(i), at, lat + 0.0001, lon).await;
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
        let end = scans.last().unwrap().1 + Duration::minutes(5);
        let res = self
            .app
            .post(&self.guard.token, &format!("/api/v1/patrols/{id}/end"), &json!({"ended_at": end}))
            .await;
        assert_eq!(res.status(), 200);
        id
    }

    async fn agree(&self, body: Value) -> reqwest::Response {
        self.app
            .post(&self.beheerder.token, &format!("/api/v1/areas/{}/round-agreements", self.area), &body)
            .await
    }
}

/// The Monday of a week in winter, at least two weeks back.
fn test_monday() -> NaiveDate {
    let mut d = kvo_server::nl_time::today() - Duration::days(14);
    while d.weekday() != chrono::Weekday::Mon {
        d -= Duration::days(1);
    }
    // Stay in winter time (November to February) whatever the date of the run.
    if !matches!(d.month(), 11 | 12 | 1 | 2) {
        d = NaiveDate::from_isoywd_opt(d.year() - i32::from(d.month() < 11), 48, chrono::Weekday::Mon)
            .unwrap();
    }
    d
}

#[tokio::test]
async fn a_week_of_rounds_is_measured_against_a_hand_made_answer() {
    let s = setup().await;
    let ids: Vec<Uuid> = s.checkpoints.iter().map(|c| c.id).collect();
    let res = s
        .agree(json!({"name": "Nachtrondes", "window_start": "22:00", "window_end": "06:00", "rounds": 2,
                      "min_gap_minutes": 60, "max_round_minutes": 45, "checkpoints": ids}))
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mon = test_monday();
    let day = |n: i64| mon + Duration::days(n);
    let (a, b, c) = (0, 1, 2);
    let walk = |d: NaiveDate, h: &str, m0: i64| -> Vec<(usize, DateTime<Utc>)> {
        let t = winter(d, h);
        vec![(a, t), (b, t + Duration::minutes(m0)), (c, t + Duration::minutes(2 * m0))]
    };
    // Monday night: two complete rounds, one after midnight.
    s.round(&walk(day(0), "22:30", 10)).await;
    s.round(&walk(day(1), "02:00", 10)).await;
    // Tuesday: one complete, one missing C (short).
    s.round(&walk(day(1), "23:00", 10)).await;
    s.round(&[(a, winter(day(2), "03:00")), (b, winter(day(2), "03:10"))]).await;
    // Wednesday: one complete, one that finishes after 06:00 (late).
    s.round(&walk(day(2), "22:15", 10)).await;
    s.round(&walk(day(3), "05:50", 10)).await;
    // Thursday: one in the afternoon (outside the window), one complete.
    let afternoon = s.round(&walk(day(3), "15:00", 10)).await;
    s.round(&walk(day(4), "01:00", 10)).await;
    // Friday: B scanned from 300 m away: flagged far, so B is missed (short).
    let friday = winter(day(4), "23:00");
    let id = Uuid::new_v4();
    s.app
        .post(&s.guard.token, "/api/v1/patrols", &json!({"id": id, "area_id": s.area, "started_at": friday}))
        .await;
    for (i, lat) in [(a, SPOTS[0].1), (b, SPOTS[1].1 + 0.0027), (c, SPOTS[2].1)] {
        let res =
            s.scan(Some(id), s.tag(i), friday + Duration::minutes(10 * i as i64 + 1), lat, SPOTS[i].2).await;
        let scan: Scan = res.json().await.unwrap();
        assert_eq!(scan.far, i == b, "{scan:?}");
        assert!(!scan.outside_patrol);
    }
    // Saturday: a complete set of scans, but no patrol: flagged, not counted.
    for i in [a, b, c] {
        let res = s
            .scan(
                None,
                s.tag(i),
                winter(day(5), "23:00") + Duration::minutes(i as i64),
                SPOTS[i].1,
                SPOTS[i].2,
            )
            .await;
        assert!(res.json::<Scan>().await.unwrap().outside_patrol);
    }

    let path = format!("/api/v1/areas/{}/rounds/compliance?from={}&to={}", s.area, day(0), day(6));
    let res = s.app.get(&s.beheerder.token, &path).await;
    assert_eq!(res.status(), 200);
    let c: Compliance = res.json().await.unwrap();
    let ac = &c.agreements[0];
    let nights: Vec<(u32, u32, u32, bool)> =
        ac.nights.iter().map(|n| (n.walked, n.short, n.late, n.met)).collect();
    assert_eq!(
        nights,
        vec![
            (2, 0, 0, true),
            (1, 1, 0, false),
            (1, 0, 1, false),
            (1, 0, 0, false),
            (0, 1, 0, false),
            (0, 0, 0, false),
            (0, 0, 0, false)
        ]
    );
    assert_eq!(
        ac.nights[1].rounds.iter().find(|r| r.status == RoundStatus::Short).unwrap().checkpoints_missed,
        vec![ids[2]]
    );
    assert_eq!(ac.nights[4].checkpoints_never_hit, vec![ids[1]]);
    assert_eq!(ac.outside_window.iter().map(|r| r.patrol_id).collect::<Vec<_>>(), vec![afternoon]);
    assert_eq!(ac.weeks.len(), 1);
    let w = &ac.weeks[0];
    assert_eq!(
        (w.nights, w.nights_met, w.rounds_required, w.rounds_walked, w.rounds_short, w.rounds_late),
        (7, 1, 14, 5, 2, 1)
    );
    assert!((w.compliance - 5.0 / 14.0).abs() < 1e-9);

    // The werkgroep reads it too; an ondernemer does not.
    let werkgroep = s.app.device(s.area, Role::Werkgroep).await;
    assert_eq!(s.app.get(&werkgroep.token, &path).await.status(), 200);
    let shop = s.app.device(s.area, Role::Ondernemer).await;
    assert_eq!(s.app.get(&shop.token, &path).await.status(), 403);
}

#[tokio::test]
async fn bad_scans_and_agreements_are_refused_and_nothing_is_half_stored() {
    let s = setup().await;
    let other_area = s.app.area("Lage Weide", kvo_tests::LAGE_WEIDE).await;
    let other_beheerder = s.app.device(other_area, Role::Beheerder).await;
    let foreign: Checkpoint = s
        .app
        .post(
            &other_beheerder.token,
            &format!("/api/v1/areas/{other_area}/checkpoints"),
            &json!({"name": "Poort", "lat": 52.105, "lon": 5.07}),
        )
        .await
        .json()
        .await
        .unwrap();
    let now = Utc::now() - Duration::minutes(1);
    let (_, lat, lon) = SPOTS[0];
    let problem = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        (status, v["field"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(problem(s.scan(None, "CP-ZZZZ-ZZZZ", now, lat, lon).await).await, (422, "tag".into()));
    assert_eq!(problem(s.scan(None, &foreign.tag, now, lat, lon).await).await, (422, "tag".into()));
    let future = Utc::now() + Duration::hours(2);
    assert_eq!(problem(s.scan(None, s.tag(0), future, lat, lon).await).await, (422, "scanned_at".into()));
    assert_eq!(
        problem(s.scan(Some(Uuid::new_v4()), s.tag(0), now, lat, lon).await).await,
        (422, "patrol_id".into())
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM checkpoint_scans").fetch_one(&s.app.pool).await.unwrap();
    assert_eq!(stored, 0, "nothing stored of a refused scan");

    // A lower-case tag, typed, is the same tag; the same scan again is one scan.
    let body = json!({"id": Uuid::new_v4(), "area_id": s.area, "tag": s.tag(0).to_lowercase(), "scanned_at": now,
                      "position": {"lat": lat, "lon": lon}});
    assert_eq!(s.app.post(&s.guard.token, "/api/v1/checkpoint-scans", &body).await.status(), 201);
    assert_eq!(s.app.post(&s.guard.token, "/api/v1/checkpoint-scans", &body).await.status(), 200);
    let mut other = body.clone();
    other["tag"] = json!(s.tag(1));
    assert_eq!(s.app.post(&s.guard.token, "/api/v1/checkpoint-scans", &other).await.status(), 409);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM checkpoint_scans").fetch_one(&s.app.pool).await.unwrap();
    assert_eq!(stored, 1);

    // A checkpoint outside the area; a guard registering one.
    let cps = format!("/api/v1/areas/{}/checkpoints", s.area);
    let res =
        s.app.post(&s.beheerder.token, &cps, &json!({"name": "Ver weg", "lat": 52.105, "lon": 5.07})).await;
    assert_eq!(problem(res).await, (422, "location".into()));
    let res = s.app.post(&s.guard.token, &cps, &json!({"name": "Eigen", "lat": lat, "lon": lon})).await;
    assert_eq!(res.status(), 403);

    // Agreements: impossible, overlapping, another area's checkpoint.
    let ids: Vec<Uuid> = s.checkpoints.iter().map(|c| c.id).collect();
    let terms = |start: &str, end: &str, rounds: u32, cps: &[Uuid]| json!({"name": "Ronde", "window_start": start, "window_end": end, "rounds": rounds, "checkpoints": cps});
    let res = s.agree(terms("22:00", "00:00", 3, &ids)).await;
    let (status, field) = problem(res).await;
    assert_eq!((status, field.as_str()), (422, "rounds"));
    assert_eq!(
        problem(s.agree(terms("22:00", "06:00", 1, &[foreign.id])).await).await,
        (422, "checkpoints".into())
    );
    assert_eq!(s.agree(terms("22:00", "06:00", 3, &ids)).await.status(), 201);
    assert_eq!(problem(s.agree(terms("05:00", "07:00", 1, &ids)).await).await, (409, "window_start".into()));
    assert_eq!(
        s.agree(terms("06:00", "07:00", 1, &ids)).await.status(),
        201,
        "touching windows do not overlap"
    );
    let list: Vec<RoundAgreement> = s
        .app
        .get(&s.guard.token, &format!("/api/v1/areas/{}/round-agreements", s.area))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2, "the refused agreements left nothing behind");

    // Area isolation: another area's beheerder sees none of it.
    for path in [
        cps.clone(),
        format!("{cps}/sheet"),
        format!("/api/v1/areas/{}/round-agreements", s.area),
        format!("/api/v1/areas/{}/rounds/compliance", s.area),
        format!("/api/v1/areas/{}/coverage", s.area),
        format!("/api/v1/areas/{}/patrols", s.area),
        format!("{cps}/hits"),
    ] {
        assert_eq!(s.app.get(&other_beheerder.token, &path).await.status(), 404, "{path}");
    }
    let res = s
        .app
        .client
        .delete(s.app.url(&format!("{cps}/{}", ids[0])))
        .bearer_auth(&other_beheerder.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // An archived checkpoint takes no new scans, and leaves the sheet.
    let res = s
        .app
        .client
        .delete(s.app.url(&format!("{cps}/{}", ids[0])))
        .bearer_auth(&s.beheerder.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(problem(s.scan(None, s.tag(0), now, lat, lon).await).await, (422, "tag".into()));
    let sheet = s.app.get(&s.beheerder.token, &format!("{cps}/sheet")).await;
    assert!(sheet.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = sheet.text().await.unwrap();
    assert!(!html.contains(s.tag(0)) && html.contains(s.tag(1)) && html.contains(s.tag(2)), "{html}");
    assert_eq!(html.matches("<svg").count(), 2);
}

#[tokio::test]
async fn the_round_report_has_the_route_the_checkpoints_and_the_findings() {
    let s = setup().await;
    let ids: Vec<Uuid> = s.checkpoints.iter().map(|c| c.id).collect();
    // A window around now, so the patrol below falls in it.
    let now_local = kvo_server::nl_time::local(Utc::now());
    let hm = |d: Duration| (now_local + d).format("%H:%M").to_string();
    let res = s
        .agree(json!({"name": "Nu", "window_start": hm(-Duration::hours(2)), "window_end": hm(Duration::hours(2)),
                      "rounds": 1, "checkpoints": ids}))
        .await;
    assert_eq!(res.status(), 201);

    let start = Utc::now() - Duration::minutes(40);
    let id = Uuid::new_v4();
    s.app
        .post(&s.guard.token, "/api/v1/patrols", &json!({"id": id, "area_id": s.area, "started_at": start}))
        .await;
    let points: Vec<_> = (0..10)
        .map(|i| json!({"lat": 52.2470 + f64::from(i) * 0.0002, "lon": 6.1570, "at": start + Duration::minutes(i64::from(i))}))
        .collect();
    s.app.post(&s.guard.token, &format!("/api/v1/patrols/{id}/points"), &json!({"points": points})).await;
    for i in [0, 1] {
        let res = s
            .scan(Some(id), s.tag(i), start + Duration::minutes(5 * i as i64 + 1), SPOTS[i].1, SPOTS[i].2)
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut finding = report(s.area);
    finding.patrol_id = Some(id);
    let incident: Incident =
        s.app.post(&s.guard.token, "/api/v1/incidents", &finding).await.json().await.unwrap();
    let photo = Uuid::new_v4();
    let res = s
        .app
        .put_bytes(
            &s.guard.token,
            &format!("/api/v1/incidents/{}/photos/{photo}", incident.id),
            kvo_tests::jpeg(64, 48),
        )
        .await;
    assert!(res.status().is_success());
    s.app
        .post(
            &s.guard.token,
            &format!("/api/v1/patrols/{id}/end"),
            &json!({"ended_at": start + Duration::minutes(30)}),
        )
        .await;

    let werkgroep = s.app.device(s.area, Role::Werkgroep).await;
    let res = s.app.get(&werkgroep.token, &format!("/api/v1/patrols/{id}/report")).await;
    assert_eq!(res.status(), 200);
    let r: PatrolReport = res.json().await.unwrap();
    assert_eq!(r.duration_s, 30 * 60);
    // Nine steps of 0.0002° latitude: about 200 m.
    assert!((r.distance_m - 200.2).abs() < 2.0, "{}", r.distance_m);
    assert_eq!(r.agreement.map(|a| a.terms.name), Some("Nu".into()));
    assert_eq!(r.checkpoints_hit.iter().map(|c| c.id).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(r.checkpoints_missed.iter().map(|c| c.id).collect::<Vec<_>>(), ids[2..]);
    assert_eq!(r.scans.len(), 2);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].photo_ids, vec![photo]);

    let shop = s.app.device(s.area, Role::Ondernemer).await;
    assert_eq!(s.app.get(&shop.token, &format!("/api/v1/patrols/{id}/report")).await.status(), 403);
    assert_eq!(s.app.get(&shop.token, &format!("/api/v1/patrols/{id}")).await.status(), 403, "nor its route");
    let other_area = s.app.area("Lage Weide", kvo_tests::LAGE_WEIDE).await;
    let stranger = s.app.device(other_area, Role::Werkgroep).await;
    assert_eq!(s.app.get(&stranger.token, &format!("/api/v1/patrols/{id}/report")).await.status(), 404);
}

/// The coverage cell of a point, computed here with h3o (not by the server's
/// SQL): the resolution-10 parent of its resolution-11 cell, as for every
/// coarser level of the rollup (H3 children do not tile their parent exactly).
fn coverage_cell(lat: f64, lon: f64) -> String {
    let fine = h3o::LatLng::new(lat, lon).unwrap().to_cell(h3o::Resolution::Eleven);
    fine.parent(h3o::Resolution::Ten).unwrap().to_string()
}

/// The Dutch hour band (0–3) and day of an instant.
fn band_and_day(at: DateTime<Utc>) -> (u32, NaiveDate) {
    let local = kvo_server::nl_time::local(at);
    (chrono::Timelike::hour(&local) / 6, local.date())
}

#[tokio::test]
async fn coverage_cells_equal_a_brute_force_count_of_incidents_and_passes() {
    use std::collections::{BTreeMap, BTreeSet};
    let s = setup().await;
    let reporter = s.app.device(s.area, Role::Ondernemer).await;
    let now = Utc::now();
    // 40 incidents over the last 20 days, spread over the area and the day.
    let mut incidents = vec![];
    for i in 0..40u32 {
        let mut r = report(s.area);
        r.location.lat = 52.2455 + f64::from(i % 8) * 0.0011;
        r.location.lon = 6.1555 + f64::from(i % 5) * 0.0019;
        r.occurred_at = now - Duration::hours(i64::from(i) * 11 + 1);
        let res = s.app.post(&reporter.token, "/api/v1/incidents", &r).await;
        assert_eq!(res.status(), 201);
        incidents.push((r.location.lat, r.location.lon, r.occurred_at));
    }
    // Four patrols walking north through the area at different hours; two cross the same cells.
    let mut points = vec![];
    for (k, (hours_ago, lon)) in
        [(30, 6.1575), (75, 6.1575), (130, 6.1612), (200, 6.1631)].into_iter().enumerate()
    {
        let id = Uuid::new_v4();
        let start = now - Duration::hours(hours_ago);
        s.app
            .post(
                &s.guard.token,
                "/api/v1/patrols",
                &json!({"id": id, "area_id": s.area, "started_at": start}),
            )
            .await;
        let pts: Vec<(f64, f64, DateTime<Utc>)> = (0..60)
            .map(|i| {
                (
                    52.2452 + f64::from(i) * 0.00015,
                    lon,
                    start + Duration::seconds(20 * i64::from(i) + k as i64),
                )
            })
            .collect();
        let body = json!({"points": pts.iter().map(|(lat, lon, at)| json!({"lat": lat, "lon": lon, "at": at})).collect::<Vec<_>>()});
        assert_eq!(
            s.app.post(&s.guard.token, &format!("/api/v1/patrols/{id}/points"), &body).await.status(),
            200
        );
        let end = json!({"ended_at": start + Duration::minutes(25)});
        assert_eq!(
            s.app.post(&s.guard.token, &format!("/api/v1/patrols/{id}/end"), &end).await.status(),
            200
        );
        // Ending again counts nothing twice.
        assert_eq!(
            s.app.post(&s.guard.token, &format!("/api/v1/patrols/{id}/end"), &end).await.status(),
            200
        );
        points.extend(pts.into_iter().map(|p| (id, p)));
    }

    let from = kvo_server::nl_time::today() - Duration::days(20);
    let to = kvo_server::nl_time::today();
    let expected = |band: Option<u32>| {
        let mut cells: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for &(lat, lon, at) in &incidents {
            let (b, day) = band_and_day(at);
            if band.is_none_or(|x| x == b) && day >= from {
                cells.entry(coverage_cell(lat, lon)).or_default().0 += 1;
            }
        }
        let passes: BTreeSet<(String, NaiveDate, u32, Uuid)> = points
            .iter()
            .filter_map(|&(patrol, (lat, lon, at))| {
                let (b, day) = band_and_day(at);
                band.is_none_or(|x| x == b).then(|| (coverage_cell(lat, lon), day, b, patrol))
            })
            .collect();
        for (cell, ..) in passes {
            cells.entry(cell).or_default().1 += 1;
        }
        cells
    };
    let served = |band: Option<&'static str>| {
        let s = &s;
        async move {
            let q = band.map(|b| format!("&band={b}")).unwrap_or_default();
            let res = s
                .app
                .get(&s.beheerder.token, &format!("/api/v1/areas/{}/coverage?from={from}&to={to}{q}", s.area))
                .await;
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-type"], "application/geo+json");
            let fc: Value = res.json().await.unwrap();
            fc["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let p = &f["properties"];
                    (
                        p["cell"].as_str().unwrap().to_string(),
                        (p["incidents"].as_i64().unwrap(), p["passes"].as_i64().unwrap()),
                    )
                })
                .collect::<BTreeMap<_, _>>()
        }
    };
    let bands = [(None, None), (Some(0), Some("nacht")), (Some(2), Some("middag")), (Some(3), Some("avond"))];
    // Before the compactor ran (pending deltas), after it, and after a rebuild.
    for stage in ["pending", "compacted", "rebuilt"] {
        match stage {
            "compacted" => {
                kvo_server::analytics::rollup::compact_all(&s.app.pool).await.unwrap();
            }
            "rebuilt" => kvo_server::analytics::rollup::rebuild(&s.app.pool).await.unwrap(),
            _ => {}
        }
        for (band, code) in bands {
            let want = expected(band);
            assert!(!want.is_empty(), "the test data has something in band {code:?}");
            assert_eq!(served(code).await, want, "{stage}, band {code:?}");
        }
    }
    let all = served(None).await;
    assert!(all.values().any(|&(n, p)| n > 0 && p > 0), "the test data has covered incidents");
    assert!(all.values().any(|&(n, p)| n > 0 && p == 0), "and incidents no patrol reached");
    assert!(all.values().any(|&(_, p)| p == 2), "two patrols through one cell count twice");

    // The routes of the period, and the ondernemer sees neither layer.
    let routes: Value = s
        .app
        .get(&s.beheerder.token, &format!("/api/v1/areas/{}/patrols?from={from}&to={to}", s.area))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(routes["features"].as_array().unwrap().len(), 4);
    assert_eq!(routes["features"][0]["geometry"]["type"], "LineString");
    for path in ["coverage", "patrols", "checkpoints/hits"] {
        let res = s.app.get(&reporter.token, &format!("/api/v1/areas/{}/{path}", s.area)).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    let res = s
        .app
        .get(&s.beheerder.token, &format!("/api/v1/areas/{}/patrols?from=2026-01-01&to=2026-03-01", s.area))
        .await;
    assert_eq!(res.status(), 422, "routes of more than 31 days at once");
}
