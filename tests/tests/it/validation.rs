use kvo_api::{Role, wire::Problem};
use kvo_tests::{TestApp, report};
use serde_json::json;

async fn problem(res: reqwest::Response) -> (u16, Problem) {
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/problem+json", "status {status}");
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn every_bad_report_gets_its_own_problem() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    kvo_tests::set_category(
        &app.pool,
        area,
        "cyberincident",
        kvo_api::admin::CategoryChange { enabled: Some(false), ..Default::default() },
    )
    .await;
    let dev = app.device(area, Role::Ondernemer).await;
    let now = chrono::Utc::now();

    let mut cases: Vec<(&str, serde_json::Value, u16, &str, &str)> = vec![];
    let mut base = serde_json::to_value(report(area)).unwrap();
    let mut with = |f: &dyn Fn(&mut serde_json::Value)| {
        base["id"] = json!(uuid::Uuid::new_v4());
        let mut v = base.clone();
        f(&mut v);
        v
    };
    cases.push((
        "latitude",
        with(&|v| v["location"]["lat"] = json!(200.0)),
        422,
        "coordinates-out-of-range",
        "location.lat",
    ));
    cases.push((
        "longitude",
        with(&|v| v["location"]["lon"] = json!(-190.0)),
        422,
        "coordinates-out-of-range",
        "location.lon",
    ));
    cases.push(("outside", with(&|v| v["location"]["lat"] = json!(52.26)), 422, "outside-area", "location"));
    cases.push((
        "future",
        with(&|v| v["occurred_at"] = json!(now + chrono::Duration::hours(3))),
        422,
        "occurred-in-future",
        "occurred_at",
    ));
    cases.push((
        "old",
        with(&|v| v["occurred_at"] = json!(now - chrono::Duration::days(400))),
        422,
        "occurred-too-long-ago",
        "occurred_at",
    ));
    cases.push((
        "long text",
        with(&|v| v["description"] = json!("x".repeat(2001))),
        422,
        "description-too-long",
        "description",
    ));
    cases.push((
        "disabled category",
        with(&|v| v["category"] = json!("cyberincident")),
        422,
        "category-not-enabled",
        "category",
    ));
    cases.push((
        "unknown category",
        with(&|v| v["category"] = json!("ufo")),
        422,
        "category-not-enabled",
        "category",
    ));
    cases.push((
        "unknown field",
        with(&|v| v["prioriteit"] = json!("hoog")),
        400,
        "unknown-field",
        "prioriteit",
    ));
    cases.push(("wrong type", with(&|v| v["location"]["lat"] = json!("noord")), 400, "bad-request", ""));

    for (name, body, status, slug, field) in cases {
        let (got, p) = problem(app.post(&dev.token, "/api/v1/incidents", &body).await).await;
        assert_eq!(got, status, "{name}: {p:?}");
        assert!(p.type_.ends_with(slug), "{name}: {p:?}");
        if !field.is_empty() {
            assert_eq!(p.field.as_deref(), Some(field), "{name}");
        }
        assert!(!p.detail.is_empty());
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0, "nothing invalid was stored");
}

#[tokio::test]
async fn the_margin_outside_the_area_is_stated_and_applied() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let mut r = report(area);
    r.location.lat = 52.2553; // about 33 m north of the boundary: within the 50 m margin
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    let mut far = report(area);
    far.location.lat = 52.2560; // about 111 m north
    let (_, p) = problem(app.post(&dev.token, "/api/v1/incidents", &far).await).await;
    assert!(p.detail.contains("111 m buiten het gebied") && p.detail.contains("marge 50 m"), "{}", p.detail);
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let url = app.url("/api/v1/incidents");
    let res = app
        .client
        .post(&url)
        .bearer_auth(&dev.token)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    let (s, p) = problem(res).await;
    assert_eq!((s, p.type_.ends_with("malformed-json")), (400, true), "{p:?}");
    let res = app.client.post(&url).bearer_auth(&dev.token).body("id=1").send().await.unwrap();
    assert_eq!(problem(res).await.0, 400);
}

/// Found by schemathesis (issue 17): a sign-in with the NUL character in the
/// e-mail address was a 500 (PostgreSQL cannot store or compare it). Any
/// JSON text with it is now refused at the edge, for every body.
#[tokio::test]
async fn text_with_the_nul_character_is_refused_not_a_server_error() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "a\u{0}b@example.nl", "password": "x"}))
        .send()
        .await
        .unwrap();
    let (s, p) = problem(res).await;
    assert_eq!(s, 422, "{p:?}");
    assert!(p.detail.contains("NUL"), "{p:?}");
    let res = app
        .post(
            &beheerder.token,
            &format!("/api/v1/areas/{area}/checkpoints"),
            &json!({"name": "Poort\u{0}", "lat": 52.25, "lon": 6.16}),
        )
        .await;
    assert_eq!(problem(res).await.0, 422);
    let mut r = report(area);
    r.description = Some("Ruit\u{0}ingegooid".into());
    assert_eq!(problem(app.post(&beheerder.token, "/api/v1/incidents", &r).await).await.0, 422);
}

#[tokio::test]
async fn problems_speak_english_on_request() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let mut r = report(area);
    r.location.lat = 95.0;
    let nl = problem(app.post(&dev.token, "/api/v1/incidents", &r).await).await.1;
    assert_eq!(nl.title, "Ongeldige invoer");
    assert!(nl.detail.contains("breedtegraad"));
    let res = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&dev.token)
        .header("accept-language", "en-GB,en;q=0.9,nl;q=0.5")
        .json(&r)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "en");
    let en = problem(res).await.1;
    assert_eq!(en.title, "Invalid input");
    assert!(en.detail.contains("latitude 95"), "{}", en.detail);
}

#[tokio::test]
async fn framework_errors_are_problems_too() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/v1/bestaat-niet")).send().await.unwrap();
    assert_eq!(problem(res).await.0, 404);
    let res = app.client.get(app.url("/api/v1/incidents")).send().await.unwrap();
    let (s, p) = problem(res).await;
    assert_eq!((s, p.title.as_str()), (401, "Niet aangemeld"));
    let res = app.client.get(app.url("/api/v1/incidents")).bearer_auth("kvod_forged").send().await.unwrap();
    assert_eq!(problem(res).await.0, 401);
    // With a valid credential, so that it is the query that is refused.
    let area = app.area("Centrum", kvo_tests::DEVENTER).await;
    let device = app.device(area, kvo_api::Role::Werkgroep).await;
    let res = app.get(&device.token, "/api/v1/incidents?limit=zeven").await;
    let (s, p) = problem(res).await;
    assert_eq!((s, p.field.as_deref()), (400, Some("limit")), "{p:?}");
}

#[tokio::test]
async fn a_slow_upload_times_out_with_a_problem() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.upload_timeout_secs = 1).await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/incidents/{}/photos/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 1000000\r\n\r\n",
        r.id,
        uuid::Uuid::new_v4(),
        dev.token
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[0xFF, 0xD8, 0xFF, 0xE0]).await.unwrap();
    let start = std::time::Instant::now();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("server answered")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_timeout_gets_408_and_the_connection_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.upload_timeout_secs = 1).await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    let s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut rx, mut tx) = s.into_split();
    let head = format!(
        "PUT /api/v1/incidents/{}/photos/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100000\r\n\r\n",
        r.id,
        uuid::Uuid::new_v4(),
        dev.token
    );
    tx.write_all(head.as_bytes()).await.unwrap();
    // One byte every 100 ms: never idle for long, always too slow.
    let trickle = tokio::spawn(async move {
        let mut sent = 0usize;
        while tx.write_all(&[0xFF]).await.is_ok() && sent < 1_000 {
            sent += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        sent
    });
    let start = std::time::Instant::now();
    let mut answer = vec![];
    let mut buf = vec![0; 4096];
    // The answer, then the end of the connection: the server lets go of it.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"));
    assert!(closed.is_ok(), "the server closed the connection after the 408 ({:?})", start.elapsed());
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    let sent = tokio::time::timeout(std::time::Duration::from_secs(10), trickle).await.unwrap().unwrap();
    assert!(sent < 100, "writing failed soon after the close ({sent} bytes trickled)");
    // Nothing was stored, and the server still answers.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM photos").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, 0);
    assert_eq!(app.get(&dev.token, &format!("/api/v1/incidents/{}", r.id)).await.status(), 200);
}
