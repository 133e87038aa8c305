//! Fan-out of one urgent report to 10,000 push subscriptions, sent by the
//! server's push worker to the local receiver, which verifies the VAPID token
//! of and decrypts every message. Next to it, the naive way on a sample: one
//! request at a time with a VAPID signature per message, as a server sending
//! on the request path would. Then the latency of one urgent push from the
//! report's commit: woken by NOTIFY, next to the sender's 500 ms poll alone.
//! `cargo bench -p kvo-tests --bench push`
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use kvo_api::{Role, wire::NewIncident};
use kvo_tests::{DEVENTER, TestApp, push::PushReceiver, report};
use uuid::Uuid;
use web_push::{ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder};

const SUBSCRIPTIONS: usize = 10_000;
const NAIVE_SAMPLE: usize = 500;
const LATENCY_SAMPLES: usize = 40;

#[tokio::main]
async fn main() {
    let app = TestApp::spawn_with(|c| c.push_hosts = vec!["127.0.0.1".into()]).await;
    app.start_workers();
    let receiver = PushReceiver::start().await;
    let key: kvo_api::push::PushKey =
        app.client.get(app.url("/api/v1/push/key")).send().await.unwrap().json().await.unwrap();
    receiver.expect_server_key(&key.public_key);
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;

    // 10,000 people on duty (werkgroep, partners, guards), one browser each.
    let t = Instant::now();
    let subs: Vec<_> = (0..SUBSCRIPTIONS).map(|_| receiver.subscription(area)).collect();
    let roles = ["werkgroep", "beveiliger", "gemeente", "politie", "brandweer"];
    let people: Vec<Uuid> = (0..SUBSCRIPTIONS).map(|_| Uuid::new_v4()).collect();
    let role: Vec<&str> = (0..SUBSCRIPTIONS).map(|i| roles[i % roles.len()]).collect();
    let endpoint: Vec<&str> = subs.iter().map(|s| s.endpoint.as_str()).collect();
    let p256dh: Vec<&str> = subs.iter().map(|s| s.keys.p256dh.as_str()).collect();
    let auth: Vec<&str> = subs.iter().map(|s| s.keys.auth.as_str()).collect();
    sqlx::query(
        "WITH p AS (
             INSERT INTO people (id, display_name) SELECT id, 'Dienst ' || n FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n)
             RETURNING id
         ), m AS (
             INSERT INTO memberships (area_id, person_id, role) SELECT $1, id, role FROM unnest($2::uuid[], $3::text[]) AS u(id, role)
             RETURNING person_id
         ), pref AS (
             INSERT INTO push_preferences (area_id, person_id, on_duty) SELECT $1, person_id, true FROM m
         )
         INSERT INTO push_subscriptions (area_id, id, person_id, endpoint, p256dh, auth)
         SELECT $1, gen_random_uuid(), person, e, k, a FROM unnest($2::uuid[], $4::text[], $5::text[], $6::text[]) AS u(person, e, k, a)",
    )
    .bind(area)
    .bind(&people)
    .bind(&role)
    .bind(&endpoint)
    .bind(&p256dh)
    .bind(&auth)
    .execute(&app.pool)
    .await
    .unwrap();
    println!("set up {SUBSCRIPTIONS} subscriptions of people on duty in {:.1} s", t.elapsed().as_secs_f64());

    // The fan-out: from the report until every message is decrypted.
    let r = NewIncident { category: "overval".into(), ..report(area) };
    let t = Instant::now();
    let res = app.post(&reporter.token, "/api/v1/incidents", &r).await;
    assert_eq!(res.status(), 201);
    let answered = t.elapsed();
    receiver.wait_for(Duration::from_secs(300), "the first message", |r| !r.is_empty()).await;
    let first = t.elapsed();
    receiver.wait_for(Duration::from_secs(300), "every message", |r| r.len() >= SUBSCRIPTIONS).await;
    let all = t.elapsed();
    let received = receiver.received();
    assert!(receiver.failures().is_empty(), "{:?}", receiver.failures());
    let tokens: std::collections::HashSet<&str> = received.iter().map(|r| r.token.as_str()).collect();
    assert_eq!(tokens.len(), SUBSCRIPTIONS, "every subscription once");
    assert!(received.iter().all(|m| m.message.incident_id == r.id));
    let largest = received.iter().map(|m| m.body_len).max().unwrap_or(0);
    println!(
        "report answered (201) in {:.1} ms; the sending is not on its path",
        answered.as_secs_f64() * 1e3
    );
    println!("first message decrypted after {:.0} ms", first.as_secs_f64() * 1e3);
    println!(
        "fan-out: {SUBSCRIPTIONS} messages delivered and decrypted in {:.2} s ({:.0}/s; target 10 s); largest body {largest} bytes",
        all.as_secs_f64(),
        SUBSCRIPTIONS as f64 / all.as_secs_f64()
    );

    // The naive way on a sample: one at a time, signing every message.
    let vapid_key = std::fs::read_to_string(app.data_dir.path().join("vapid-private.key")).unwrap();
    let client = reqwest::Client::new();
    let payload = serde_json::to_vec(&received[0].message).unwrap();
    let before = receiver.received().len();
    let t = Instant::now();
    for s in subs.iter().take(NAIVE_SAMPLE) {
        let info = SubscriptionInfo::new(&s.endpoint, &s.keys.p256dh, &s.keys.auth);
        let mut sig = VapidSignatureBuilder::from_base64(vapid_key.trim(), &info).unwrap();
        sig.add_claim("sub", "mailto:beheer@kvo-meldingen.invalid");
        let mut b = WebPushMessageBuilder::new(&info);
        b.set_payload(ContentEncoding::Aes128Gcm, &payload);
        b.set_vapid_signature(sig.build().unwrap());
        b.set_ttl(3_600);
        let (parts, body) =
            web_push::request_builder::build_request::<Vec<u8>>(b.build().unwrap()).into_parts();
        let mut req = client.post(parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            req = req.header(name.as_str(), value.as_bytes());
        }
        assert!(req.send().await.unwrap().status().is_success());
    }
    let naive = t.elapsed();
    assert_eq!(receiver.received().len() - before, NAIVE_SAMPLE);
    let naive_all = naive.as_secs_f64() * SUBSCRIPTIONS as f64 / NAIVE_SAMPLE as f64;
    println!(
        "naive (one at a time, a signature each): {NAIVE_SAMPLE} in {:.2} s, so about {naive_all:.1} s for {SUBSCRIPTIONS}: {:.1}× slower",
        naive.as_secs_f64(),
        naive_all / all.as_secs_f64()
    );

    // Latency of one urgent push, one person on duty in a quiet area.
    let quiet = app.area("Bedrijventerrein", DEVENTER).await;
    let duty = app.device(quiet, Role::Werkgroep).await;
    let reporter = app.device(quiet, Role::Ondernemer).await;
    let sub = receiver.subscription(quiet);
    assert_eq!(app.post(&duty.token, "/api/v1/push/subscriptions", &sub).await.status(), 201);
    let token = PushReceiver::token(&sub);
    let prefs = kvo_api::push::PushPreferences { on_duty: true, ..Default::default() };
    let res = app.put(&duty.token, &format!("/api/v1/areas/{quiet}/push/preferences"), &prefs).await;
    assert_eq!(res.status(), 200);
    let latency = |label: &'static str| {
        let (app, receiver, reporter, token) = (&app, &receiver, &reporter, token.clone());
        async move {
            let mut waits = vec![];
            for _ in 0..LATENCY_SAMPLES {
                // Idle first, as between real reports.
                tokio::time::sleep(Duration::from_millis(700)).await;
                let before = receiver.received().iter().filter(|r| r.token == token).count();
                let r = NewIncident { category: "overval".into(), ..report(quiet) };
                let res = app.post(&reporter.token, "/api/v1/incidents", &r).await;
                assert_eq!(res.status(), 201);
                let committed = Instant::now();
                receiver
                    .wait_for(Duration::from_secs(10), "the urgent push", |all| {
                        all.iter().filter(|m| m.token == token).count() > before
                    })
                    .await;
                let at = receiver.received().iter().filter(|m| m.token == token).map(|m| m.at).max().unwrap();
                waits.push(at.saturating_duration_since(committed));
            }
            waits.sort();
            let pct = |p: f64| {
                waits[((waits.len() as f64 * p).ceil() as usize).saturating_sub(1)].as_secs_f64() * 1e3
            };
            println!(
                "urgent push after the commit, {label}: p50 {:.1} ms, p99 {:.1} ms (target ≤ 100 ms)",
                pct(0.5),
                pct(0.99)
            );
            pct(0.99)
        }
    };
    let woken = latency("woken by NOTIFY").await;
    sqlx::query("DROP TRIGGER push_events_wake ON push_events").execute(&app.pool).await.unwrap();
    let polled = latency("the 500 ms poll alone").await;
    println!("poll / NOTIFY at p99: {:.1}×", polled / woken);
}
