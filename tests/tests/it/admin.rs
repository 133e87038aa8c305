//! The beheerder's console through the API (issue 15): the authorization
//! matrix of every admin endpoint × role × own/other area, every bad input
//! the issue names, zones that carry their counts along, the audit log, and
//! a person setting their own password.

use kvo_api::{
    Role,
    admin::{
        AuditPage, CreatedAccount, CreatedInvite, InviteInfo, InviteState, MemberInfo, NewInviteRequest,
    },
    analysis::Analysis,
    wire::{Area, Problem, Zone},
};
use kvo_server::admin::Admin;
use kvo_tests::{BRINK_ZONE, DEVENTER, TestApp, report};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Sends `method path` with a bearer token and an optional JSON body.
async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&app.pool).await.unwrap()
}

/// A zone in the north-east quarter of DEVENTER (BRINK_ZONE is the south-west one).
const NOORD_ZONE: &str = r#"{"type":"Polygon","coordinates":[[[6.160,52.250],[6.165,52.250],[6.165,52.255],[6.160,52.255],[6.160,52.250]]]}"#;

#[tokio::test]
async fn every_admin_endpoint_checks_the_role_in_its_own_area() {
    let app = TestApp::spawn_with(|c| c.open311_hosts = vec!["127.0.0.1".into()]).await;
    let own = app.area("Binnenstad", DEVENTER).await;
    let other = app.area("Elders", DEVENTER).await;
    let admin = Admin::server(&app.pool, "http://test");
    // What the endpoints act on, in both areas.
    let mut targets = vec![];
    for area in [own, other] {
        let zone = kvo_server::admin::on_server::zone(
            &app.pool,
            area,
            "Brink",
            &kvo_server::areas::parse_polygon_geojson(BRINK_ZONE).unwrap(),
        )
        .await
        .unwrap();
        let invite = admin
            .create_invite(area, NewInviteRequest { role: Role::Ondernemer, uses: 1, days: 1 })
            .await
            .unwrap();
        let member = app.device(area, Role::Ondernemer).await;
        let device: Uuid = sqlx::query_scalar("SELECT id FROM device_tokens WHERE person_id = $1")
            .bind(member.person_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        targets.push((area, zone, invite.invite.id, member.person_id, device));
    }
    let endpoints = |(area, zone, invite, person, device): (Uuid, Uuid, Uuid, Uuid, Uuid)| {
        let a = format!("/api/v1/areas/{area}");
        vec![
            (Method::GET, format!("{a}/category-settings"), None, 200),
            (Method::PATCH, format!("{a}/categories/graffiti"), Some(json!({"urgent": true})), 200),
            (
                Method::POST,
                format!("{a}/categories"),
                Some(json!({"code": "winkelwagens", "label_nl": "Winkelwagens", "label_en": "Trolleys",
                            "theme": "overlast", "dimension": "schoon"})),
                201,
            ),
            (Method::GET, format!("{a}/invites"), None, 200),
            (
                Method::POST,
                format!("{a}/invites"),
                Some(json!({"role": "ondernemer", "uses": 5, "days": 7})),
                201,
            ),
            (Method::DELETE, format!("{a}/invites/{invite}"), None, 204),
            (Method::GET, format!("{a}/members"), None, 200),
            (Method::PUT, format!("{a}/members/{person}/role"), Some(json!({"role": "beveiliger"})), 204),
            (
                Method::POST,
                format!("{a}/accounts"),
                Some(json!({"email": "politie@example.org", "display_name": "Wijkagent", "role": "politie"})),
                201,
            ),
            (
                Method::POST,
                format!("{a}/open311-keys"),
                Some(json!({"name": "Buitendienst", "organisation": "gemeente"})),
                201,
            ),
            (
                Method::PUT,
                format!("{a}/open311-endpoint"),
                Some(json!({"url": "http://127.0.0.1:9/open311/v2", "api_key": "k",
                            "service_codes": {"kapotte_verlichting": "LAMP"}})),
                200,
            ),
            (Method::GET, format!("{a}/open311-endpoint"), None, 200),
            (Method::GET, format!("{a}/retention"), None, 200),
            (Method::PUT, format!("{a}/retention"), Some(json!({"months": 12})), 200),
            (Method::GET, format!("{a}/public-view"), None, 200),
            (Method::PUT, format!("{a}/public-view"), Some(json!({"enabled": true})), 200),
            (Method::DELETE, format!("{a}/devices/{device}"), None, 204),
            (Method::DELETE, format!("{a}/members/{person}"), None, 204),
            (
                Method::POST,
                format!("{a}/zones"),
                Some(
                    json!({"name": "Noord", "geometry": serde_json::from_str::<Value>(NOORD_ZONE).unwrap()}),
                ),
                201,
            ),
            (Method::PATCH, format!("{a}/zones/{zone}"), Some(json!({"name": "Brink en Markt"})), 200),
            (Method::DELETE, format!("{a}/zones/{zone}"), None, 204),
            (Method::PATCH, a.clone(), Some(json!({"municipality": "Gemeente Deventer"})), 200),
            (Method::GET, format!("{a}/audit-log"), None, 200),
            (
                Method::PUT,
                format!("{a}/registers/lichtmast"),
                Some(json!({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "0412",
                    "geometry": {"type": "Point", "coordinates": [6.158, 52.247]}, "properties": {}}]})),
                200,
            ),
            (
                Method::PUT,
                format!("{a}/streets"),
                Some(json!({"type": "FeatureCollection", "features": [{"type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [[6.156, 52.247], [6.164, 52.247]]},
                    "properties": {"straatnaam": "Brink"}}]})),
                200,
            ),
            (Method::POST, format!("{a}/archive"), None, 200),
        ]
    };
    let mut checked = 0;
    for &role in Role::ALL {
        let who = app.device(own, role).await;
        for (area_no, expect_own) in [(1, false), (0, true)] {
            for (method, path, body, ok) in endpoints(targets[area_no]) {
                let before = audit_rows(&app).await;
                let res = call(&app, &who.token, method.clone(), &path, body.as_ref()).await;
                let status = res.status().as_u16();
                let expected = match (expect_own, role) {
                    (false, _) => 404,
                    (true, Role::Beheerder) => ok,
                    (true, _) => 403,
                };
                let text = res.text().await.unwrap();
                assert_eq!(status, expected, "{role:?} {method} {path}: {text}");
                let written = audit_rows(&app).await - before;
                let changes = method != Method::GET && expected < 300;
                assert_eq!(written, i64::from(changes), "{role:?} {method} {path}: audit entries");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, Role::ALL.len() * 2 * 26);
    // Creating an area: only a beheerder (of some area).
    let new_area = json!({"name": "Nieuw", "kind": "buitengebied", "boundary": serde_json::from_str::<Value>(DEVENTER).unwrap()});
    for &role in Role::ALL {
        let who = app.device(other, role).await;
        let res = call(&app, &who.token, Method::POST, "/api/v1/areas", Some(&new_area)).await;
        assert_eq!(res.status(), if role == Role::Beheerder { 201 } else { 403 }, "{role:?}");
    }
}

/// A web user signs in; returns the cookie pair.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// As a web user (cookie and CSRF header).
async fn web(
    app: &TestApp,
    cookie: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req =
        app.client.request(method, app.url(path)).header("cookie", cookie).header("x-kvo-csrf", "1");
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

async fn problem(res: reqwest::Response, status: u16) -> Problem {
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let t = &beheerder.token;
    let before = audit_rows(&app).await;
    let shape = |s: &str| serde_json::from_str::<Value>(s).unwrap();

    // A self-intersecting boundary (a bow tie): what, and where.
    let bow_tie = json!({"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.255],[6.165,52.245],[6.155,52.255],[6.155,52.245]]]});
    let res =
        call(&app, t, Method::PATCH, &format!("/api/v1/areas/{area}"), Some(&json!({"boundary": bow_tie})))
            .await;
    let p = problem(res, 422).await;
    assert_eq!(p.field.as_deref(), Some("boundary"));
    assert!(p.detail.contains("snijdt zichzelf") && p.detail.contains("52.25"), "{}", p.detail);
    let [lon, lat] = p.at.expect("the spot, for the map");
    assert!((lon - 6.16).abs() < 1e-6 && (lat - 52.25).abs() < 1e-6, "{lon},{lat}: where the edges cross");
    let en = app
        .client
        .patch(app.url(&format!("/api/v1/areas/{area}")))
        .bearer_auth(t)
        .header("accept-language", "en")
        .json(&json!({"boundary": bow_tie}))
        .send()
        .await
        .unwrap();
    assert!(problem(en, 422).await.detail.contains("Self-intersection"));
    // Not closed, outside the Netherlands, RD coordinates, not a polygon, too small.
    for (boundary, words) in [
        (
            json!({"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.245],[6.165,52.255],[6.155,52.255]]]}),
            "niet gesloten",
        ),
        (
            json!({"type":"Polygon","coordinates":[[[2.3,48.8],[2.4,48.8],[2.4,48.9],[2.3,48.8]]]}),
            "buiten Nederland",
        ),
        (
            json!({"type":"Polygon","coordinates":[[[155000,463000],[156000,463000],[156000,464000],[155000,463000]]]}),
            "RD-coördinaten",
        ),
        (json!({"type":"LineString","coordinates":[[6.1,52.2],[6.2,52.3]]}), "LineString"),
        (
            json!({"type":"Polygon","coordinates":[[[6.155,52.245],[6.1551,52.245],[6.1551,52.2451],[6.155,52.245]]]}),
            "kleiner dan",
        ),
    ] {
        let res = call(
            &app,
            t,
            Method::POST,
            "/api/v1/areas",
            Some(&json!({"name": "X", "kind": "kvo_w", "boundary": boundary})),
        )
        .await;
        let p = problem(res, 422).await;
        assert!(p.detail.contains(words), "{words}: {}", p.detail);
    }
    // A zone outside its area, a zone over another one, a name taken.
    let zones = format!("/api/v1/areas/{area}/zones");
    let post_zone = |name: &str, geometry: Value| {
        let req = app
            .client
            .post(app.url(&zones))
            .bearer_auth(t)
            .json(&json!({"name": name, "geometry": geometry}));
        async move { req.send().await.unwrap() }
    };
    let outside = json!({"type":"Polygon","coordinates":[[[6.170,52.245],[6.175,52.245],[6.175,52.250],[6.170,52.250],[6.170,52.245]]]});
    let res = post_zone("Buiten", outside).await;
    assert!(problem(res, 422).await.detail.contains("100 % van de zone ligt buiten het gebied"));
    let ok = post_zone("Brink", shape(BRINK_ZONE)).await;
    assert_eq!(ok.status(), 201);
    let after_zone = audit_rows(&app).await;
    let overlapping = json!({"type":"Polygon","coordinates":[[[6.158,52.248],[6.162,52.248],[6.162,52.252],[6.158,52.252],[6.158,52.248]]]});
    let res = post_zone("Markt", overlapping).await;
    assert!(problem(res, 422).await.detail.contains("overlapt met zone ‘Brink’"));
    let res = post_zone("brink", shape(NOORD_ZONE)).await;
    assert_eq!(problem(res, 409).await.field.as_deref(), Some("name"));
    // An invite for a role the beheerder may not hand out on a phone, and out-of-range uses.
    let res = call(
        &app,
        t,
        Method::POST,
        &format!("/api/v1/areas/{area}/invites"),
        Some(&json!({"role": "beheerder"})),
    )
    .await;
    assert!(problem(res, 403).await.detail.contains("webaccount"));
    let res = call(
        &app,
        t,
        Method::POST,
        &format!("/api/v1/areas/{area}/invites"),
        Some(&json!({"role": "ondernemer", "uses": 0})),
    )
    .await;
    assert_eq!(problem(res, 422).await.field.as_deref(), Some("uses"));
    // The last beheerder cannot leave or step down.
    let res =
        call(&app, t, Method::DELETE, &format!("/api/v1/areas/{area}/members/{}", beheerder.person_id), None)
            .await;
    assert!(problem(res, 409).await.detail.contains("laatste beheerder"));
    let res = call(
        &app,
        t,
        Method::PUT,
        &format!("/api/v1/areas/{area}/members/{}/role", beheerder.person_id),
        Some(&json!({"role": "werkgroep"})),
    )
    .await;
    assert_eq!(res.status(), 409);
    // Bad category settings and questions.
    let res = call(
        &app,
        t,
        Method::PATCH,
        &format!("/api/v1/areas/{area}/categories/graffiti"),
        Some(&json!({"duplicate_radius_m": 9000})),
    )
    .await;
    assert_eq!(problem(res, 422).await.field.as_deref(), Some("duplicate_radius_m"));
    let bad_q = json!({"questions": [{"code": "A B", "kind": "text", "label_nl": "x", "label_en": "x"}]});
    let res =
        call(&app, t, Method::PATCH, &format!("/api/v1/areas/{area}/categories/graffiti"), Some(&bad_q))
            .await;
    assert_eq!(problem(res, 422).await.field.as_deref(), Some("questions"));
    let res = call(&app, t, Method::POST, &format!("/api/v1/areas/{area}/categories"),
        Some(&json!({"code": "graffiti", "label_nl": "G", "label_en": "G", "theme": "overlast", "dimension": "schoon"}))).await;
    assert_eq!(problem(res, 409).await.field.as_deref(), Some("code"));
    assert_eq!(audit_rows(&app).await, after_zone, "refused changes leave no trace");
    assert_eq!(after_zone, before + 1);
    let zones: i64 = sqlx::query_scalar("SELECT count(*) FROM zones WHERE area_id = $1")
        .bind(area)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(zones, 1, "nothing partly stored");
}

#[tokio::test]
async fn zones_carry_their_counts_and_a_deleted_zone_counts_as_zonder_zone() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let shop = app.device(area, Role::Ondernemer).await;
    // Reports in the south-west (the Brink) and north-east quarters, before any zone exists.
    for (lat, lon) in [(52.2465, 6.1565), (52.2470, 6.1570), (52.2535, 6.1635)] {
        let mut r = report(area);
        r.location.lat = lat;
        r.location.lon = lon;
        assert_eq!(app.post(&shop.token, "/api/v1/incidents", &r).await.status(), 201);
    }
    let today = chrono::Utc::now().date_naive();
    let analysis = format!(
        "/api/v1/areas/{area}/analysis?from={}&to={}",
        today - chrono::Days::new(30),
        today + chrono::Days::new(1)
    );
    let zone_counts = || async {
        let res = app.get(&beheerder.token, &analysis).await;
        assert_eq!(res.status(), 200);
        let a: Analysis = res.json().await.unwrap();
        let mut z = std::collections::BTreeMap::<Option<String>, i64>::new();
        for row in a.by_zone {
            *z.entry(row.zone_name).or_default() += row.counts.current.unwrap_or(0);
        }
        z.into_iter().filter(|(_, n)| *n > 0).collect::<Vec<_>>()
    };
    let app = &app;
    let brute = |name: &'static str| async move {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM incidents i LEFT JOIN zones z ON z.area_id = i.area_id AND z.id = i.zone_id
              WHERE i.area_id = $1 AND coalesce(z.name, '') = $2",
        )
        .bind(area)
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        n as u64
    };
    let res = call(
        app,
        &beheerder.token,
        Method::POST,
        &format!("/api/v1/areas/{area}/zones"),
        Some(&json!({"name": "Brink", "geometry": serde_json::from_str::<Value>(BRINK_ZONE).unwrap()})),
    )
    .await;
    let brink: Zone = res.json().await.unwrap();
    assert_eq!((brute("Brink").await, brute("").await), (2, 1), "the zone took in the reports inside it");
    assert_eq!(zone_counts().await, vec![(None, 1), (Some("Brink".into()), 2)]);
    // Redrawn to the north-east: the reports follow the line.
    let res = call(
        app,
        &beheerder.token,
        Method::PATCH,
        &format!("/api/v1/areas/{area}/zones/{}", brink.id),
        Some(&json!({"geometry": serde_json::from_str::<Value>(NOORD_ZONE).unwrap()})),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!((brute("Brink").await, brute("").await), (1, 2));
    assert_eq!(zone_counts().await, vec![(None, 2), (Some("Brink".into()), 1)]);
    // Deleted: every report counts as "zonder zone", the name is free again, and a new zone gets a new number.
    let res = call(
        app,
        &beheerder.token,
        Method::DELETE,
        &format!("/api/v1/areas/{area}/zones/{}", brink.id),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(zone_counts().await, vec![(None, 3)]);
    let area_now: Area =
        app.get(&beheerder.token, &format!("/api/v1/areas/{area}")).await.json().await.unwrap();
    assert!(area_now.zones.is_empty());
    kvo_server::analytics::rollup::compact(&app.pool).await.unwrap();
    assert_eq!(zone_counts().await, vec![(None, 3)], "the same after compaction");
    let res = call(
        app,
        &beheerder.token,
        Method::POST,
        &format!("/api/v1/areas/{area}/zones"),
        Some(&json!({"name": "Brink", "geometry": serde_json::from_str::<Value>(BRINK_ZONE).unwrap()})),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        zone_counts().await,
        vec![(None, 1), (Some("Brink".into()), 2)],
        "a new zone starts from its reports, not the old counts"
    );
    let nums: Vec<i32> = sqlx::query_scalar("SELECT num FROM zones WHERE area_id = $1 ORDER BY num")
        .bind(area)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(nums, [1, 2], "a deleted zone's number is never reused");
    // The audit log has each change, with before and after, newest first.
    let log: AuditPage =
        app.get(&beheerder.token, &format!("/api/v1/areas/{area}/audit-log")).await.json().await.unwrap();
    let actions: Vec<&str> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(&actions[..4], ["zone.create", "zone.delete", "zone.update", "zone.create"]);
    let update = &log.entries[2];
    assert_eq!(update.actor, format!("test {}", Role::Werkgroep), "the beheerder's name");
    assert_ne!(update.before.as_ref().unwrap()["geometry"], update.after.as_ref().unwrap()["geometry"]);
    // Append-only, enforced by the database.
    for sql in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
        let err = sqlx::query(sql).execute(&app.pool).await.unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn people_invites_devices_and_a_password_set_by_its_owner() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    kvo_server::admin::people::upsert_web_user(
        &app.pool,
        "beheer@example.org",
        "Beheer",
        "beheer-wachtwoord",
        area,
        Role::Beheerder,
    )
    .await
    .unwrap();
    let cookie = app.web_session("beheer@example.org", "beheer-wachtwoord").await;
    let a = format!("/api/v1/areas/{area}");
    // An invite for three phones, with its QR code; the phone redeems the link's code.
    let res = web(
        &app,
        &cookie,
        Method::POST,
        &format!("{a}/invites"),
        Some(&json!({"role": "ondernemer", "uses": 3, "days": 14})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let inv: CreatedInvite = res.json().await.unwrap();
    assert!(inv.link.ends_with(&format!("/melden/#code={}", inv.code)) && inv.qr_svg.contains("<svg"));
    let app = &app;
    let redeem = |code: String| async move {
        app.client
            .post(app.url("/api/v1/devices/redeem"))
            .json(&json!({"code": code, "display_name": "Bakkerij"}))
            .send()
            .await
            .unwrap()
    };
    let phone: kvo_api::wire::DeviceSession = redeem(inv.code.clone()).await.json().await.unwrap();
    let list: Vec<InviteInfo> =
        web(app, &cookie, Method::GET, &format!("{a}/invites"), None).await.json().await.unwrap();
    assert_eq!((list[0].uses, list[0].state), (1, InviteState::Open));
    // Revoked: the next phone is refused.
    assert_eq!(
        web(app, &cookie, Method::DELETE, &format!("{a}/invites/{}", inv.invite.id), None).await.status(),
        204
    );
    assert_eq!(redeem(inv.code.clone()).await.status(), 422);
    let list: Vec<InviteInfo> =
        web(app, &cookie, Method::GET, &format!("{a}/invites"), None).await.json().await.unwrap();
    assert_eq!(list[0].state, InviteState::Revoked);
    // A lost phone: revoked, and its very next request is refused.
    assert_eq!(app.get(&phone.token, "/api/v1/me").await.status(), 200);
    let members: Vec<MemberInfo> =
        web(app, &cookie, Method::GET, &format!("{a}/members"), None).await.json().await.unwrap();
    let baker = members.iter().find(|m| m.person_id == phone.person_id).unwrap();
    let device = baker.devices[0].id;
    assert_eq!(web(app, &cookie, Method::DELETE, &format!("{a}/devices/{device}"), None).await.status(), 204);
    assert_eq!(app.get(&phone.token, "/api/v1/me").await.status(), 401);
    assert_eq!(app.post(&phone.token, "/api/v1/incidents", &report(area)).await.status(), 401);

    // A web account for the wijkagent: the beheerder gets a link, never the password.
    let res = web(
        app,
        &cookie,
        Method::POST,
        &format!("{a}/accounts"),
        Some(&json!({"email": "wijkagent@politie.example", "display_name": "Wijkagent", "role": "politie"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let account: CreatedAccount = res.json().await.unwrap();
    let link = account.password_link.expect("a new person gets a link");
    let token = link.link.split("#token=").nth(1).unwrap().to_string();
    assert_eq!(
        sign_in(app, "wijkagent@politie.example", "anything-at-all").await.status(),
        401,
        "no password yet"
    );
    let set = |password: &'static str, token: String| async move {
        app.client
            .post(app.url("/api/v1/password"))
            .json(&json!({"token": token, "password": password}))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(problem(set("kort", token.clone()).await, 422).await.field.as_deref(), Some("password"));
    assert_eq!(set("mijn eigen wachtwoord", token.clone()).await.status(), 204);
    assert_eq!(sign_in(app, "wijkagent@politie.example", "mijn eigen wachtwoord").await.status(), 200);
    let p = problem(set("nog een wachtwoord", token.clone()).await, 422).await;
    assert!(p.detail.contains("al gebruikt"), "a link works once: {}", p.detail);
    // The same e-mail again: already a member.
    let res = web(
        app,
        &cookie,
        Method::POST,
        &format!("{a}/accounts"),
        Some(&json!({"email": "Wijkagent@politie.example", "display_name": "W", "role": "gemeente"})),
    )
    .await;
    assert_eq!(res.status(), 409);
    // A reset link replaces the password and ends the old sessions.
    let old = app.web_session("wijkagent@politie.example", "mijn eigen wachtwoord").await;
    let res =
        web(app, &cookie, Method::POST, &format!("{a}/members/{}/password-link", account.person_id), None)
            .await;
    assert_eq!(res.status(), 201);
    let reset: kvo_api::admin::PasswordLink = res.json().await.unwrap();
    assert_eq!(
        set("een nieuw wachtwoord", reset.link.split("#token=").nth(1).unwrap().to_string()).await.status(),
        204
    );
    assert_eq!(web(app, &old, Method::GET, "/api/v1/me", None).await.status(), 401, "signed out everywhere");
    // Removed from the area: the person's credentials no longer reach it.
    let wijkagent = app.web_session("wijkagent@politie.example", "een nieuw wachtwoord").await;
    assert_eq!(web(app, &wijkagent, Method::GET, &a, None).await.status(), 200);
    assert_eq!(
        web(app, &cookie, Method::DELETE, &format!("{a}/members/{}", account.person_id), None).await.status(),
        204
    );
    assert_eq!(web(app, &wijkagent, Method::GET, &a, None).await.status(), 404);
    let log: AuditPage =
        web(app, &cookie, Method::GET, &format!("{a}/audit-log?limit=3"), None).await.json().await.unwrap();
    assert_eq!(
        log.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["member.remove", "account.reset_link", "account.create"]
    );
    assert!(log.next.is_some());
    let older: AuditPage =
        web(app, &cookie, Method::GET, &format!("{a}/audit-log?before={}", log.next.unwrap()), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(
        older.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["device.revoke", "invite.revoke", "invite.create", "account.set_on_server", "area.create"]
    );
    assert_eq!(older.entries[0].actor, "Beheer");
    assert_eq!(older.entries.last().unwrap().actor, "kvo");
}

#[tokio::test]
async fn an_archived_area_keeps_its_data_and_accepts_nothing_new() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let shop = app.device(area, Role::Ondernemer).await;
    let kept = report(area);
    assert_eq!(app.post(&shop.token, "/api/v1/incidents", &kept).await.status(), 201);
    let open = Admin::server(&app.pool, "")
        .create_invite(area, NewInviteRequest { role: Role::Ondernemer, uses: 5, days: 5 })
        .await
        .unwrap();
    let res =
        call(&app, &beheerder.token, Method::POST, &format!("/api/v1/areas/{area}/archive"), None).await;
    let archived: Area = res.json().await.unwrap();
    assert!(archived.archived_at.is_some());
    let p: Problem = app.post(&shop.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
    assert!(p.detail.contains("gearchiveerd"), "{}", p.detail);
    assert_eq!(
        app.get(&shop.token, &format!("/api/v1/incidents/{}", kept.id)).await.status(),
        200,
        "data kept"
    );
    let res = app
        .client
        .post(app.url("/api/v1/devices/redeem"))
        .json(&json!({"code": open.code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "its invites no longer work");
    let res = call(
        &app,
        &beheerder.token,
        Method::POST,
        &format!("/api/v1/areas/{area}/zones"),
        Some(&json!({"name": "Brink", "geometry": serde_json::from_str::<Value>(BRINK_ZONE).unwrap()})),
    )
    .await;
    assert_eq!(res.status(), 409);
}

/// A change made by any process (here: plain SQL, as the `kvo` tool would)
/// reaches a server's area cache through `areas.index_version`: an unchanged
/// area keeps its index (and the coverage computed on it), a changed one is
/// read again; several areas are revalidated and loaded together, in order.
#[tokio::test]
async fn area_indexes_are_revalidated_by_version() {
    use kvo_server::areas::AreaCache;
    use std::{sync::Arc, time::Duration};
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad", DEVENTER).await;
    let b = app.area("Bedrijvenpark", DEVENTER).await;
    // Every read revalidates.
    let cache = AreaCache::with_ttl(Duration::ZERO);
    let first = cache.get(&app.pool, a).await.unwrap();
    let again = cache.get(&app.pool, a).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "unchanged: the same index");
    let sql = |q: &'static str| {
        let pool = app.pool.clone();
        async move { sqlx::query(q).bind(a).execute(&pool).await.unwrap() }
    };
    sql("UPDATE areas SET name = 'Centrum', retention_months = 12 WHERE id = $1").await;
    assert!(Arc::ptr_eq(&first, &cache.get(&app.pool, a).await.unwrap()), "a name is not in the index");

    let mut last = first;
    let mut changed = async |what: &str, q: &'static str| {
        sql(q).await;
        let now = cache.get(&app.pool, a).await.unwrap();
        assert!(!Arc::ptr_eq(&last, &now), "{what}: read again");
        last = now.clone();
        now
    };
    let zone = format!(
        "INSERT INTO zones (area_id, id, name, geom, num) VALUES ($1, gen_random_uuid(), 'Noord', \
         ST_Multi(ST_GeomFromGeoJSON('{NOORD_ZONE}'))::geometry(MultiPolygon, 4326), 99)"
    );
    let now = changed("a new zone", zone.leak()).await;
    assert!(now.zones().any(|(_, name)| name == "Noord"));
    let now = changed("a zone deleted", "UPDATE zones SET deleted_at = now() WHERE area_id = $1").await;
    assert_eq!(now.zones().count(), 0);
    assert!(now.is_enabled("diefstal"));
    let now = changed(
        "a category off",
        "UPDATE categories SET enabled = false WHERE area_id = $1 AND code = 'diefstal'",
    )
    .await;
    assert!(!now.is_enabled("diefstal"));
    let now = changed(
        "the nul-meting",
        "UPDATE areas SET baseline_from = '2025-01-01', baseline_to = '2025-03-31' WHERE id = $1",
    )
    .await;
    assert!(now.baseline().is_some());
    let now = changed("archived", "UPDATE areas SET archived_at = now() WHERE id = $1").await;
    assert!(now.place("graffiti", 52.247, 6.157, 50.0).is_err());

    let many = cache.get_many(&app.pool, &[b, a, b]).await.unwrap();
    assert_eq!(many.iter().map(|i| i.id()).collect::<Vec<_>>(), [b, a, b]);
    assert!(Arc::ptr_eq(&many[1], &last), "a is unchanged since");
    let err = cache.get_many(&app.pool, &[a, Uuid::new_v4()]).await;
    assert!(matches!(err, Err(kvo_server::error::Error::NotFound)), "{err:?}");
}
