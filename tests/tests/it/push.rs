//! Web Push end to end: a receiver on 127.0.0.1 that holds the subscriptions'
//! private keys decrypts every message and verifies every VAPID token; the
//! rules per person; 404, 410, 429 and 5xx back-off; TTL expiry; and a sender
//! killed with SIGKILL while the outbox holds messages.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use kvo_api::{
    Role,
    push::{PushKey, PushPreferences, PushReason, Subscription},
    wire::{DeviceSession, IncidentStatus, NewIncident, NewPatrol},
};
use kvo_tests::{
    DEVENTER, TestApp,
    push::{PushReceiver, Reply},
    report,
};
use serde_json::json;
use uuid::Uuid;

async fn app_and_receiver(lease_secs: u64) -> (TestApp, PushReceiver) {
    let app = TestApp::spawn_with(|c| {
        c.push_hosts = vec!["127.0.0.1".into()];
        c.push_lease_secs = lease_secs;
    })
    .await;
    let receiver = PushReceiver::start().await;
    let key: PushKey =
        app.client.get(app.url("/api/v1/push/key")).send().await.unwrap().json().await.unwrap();
    receiver.expect_server_key(&key.public_key);
    (app, receiver)
}

/// Subscribes a new browser of `who`; returns the receiver's token for it.
async fn subscribe(app: &TestApp, receiver: &PushReceiver, area: Uuid, who: &DeviceSession) -> String {
    let sub = receiver.subscription(area);
    let res = app.post(&who.token, "/api/v1/push/subscriptions", &sub).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    PushReceiver::token(&sub)
}

async fn prefer(app: &TestApp, area: Uuid, who: &DeviceSession, p: &PushPreferences) {
    let res = app.put(&who.token, &format!("/api/v1/areas/{area}/push/preferences"), p).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn reported(app: &TestApp, who: &DeviceSession, area: Uuid, category: &str) -> Uuid {
    let r = NewIncident { category: category.into(), ..report(area) };
    let res = app.post(&who.token, "/api/v1/incidents", &r).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    r.id
}

async fn outbox(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM push_events), (SELECT count(*) FROM push_deliveries)")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Waits until the outbox is empty (every event expanded, every delivery done).
async fn drained(app: &TestApp, timeout: Duration) {
    let start = Instant::now();
    while outbox(app).await != (0, 0) {
        assert!(
            start.elapsed() < timeout,
            "the outbox still holds {:?} after {timeout:?}",
            outbox(app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_right_people_get_small_encrypted_signed_messages() {
    let (app, receiver) = app_and_receiver(120).await;
    app.start_workers();
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let guard = app.device(area, Role::Beveiliger).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let neighbour = app.device(area, Role::Ondernemer).await;
    let off_duty = app.device(area, Role::Werkgroep).await;
    let guard_sub = subscribe(&app, &receiver, area, &guard).await;
    let werkgroep_sub = subscribe(&app, &receiver, area, &werkgroep).await;
    let reporter_sub = subscribe(&app, &receiver, area, &reporter).await;
    let neighbour_sub = subscribe(&app, &receiver, area, &neighbour).await;
    let off_duty_sub = subscribe(&app, &receiver, area, &off_duty).await;

    // The guard follows vandalism and is on patrol; the werkgroep member is on duty.
    prefer(
        &app,
        area,
        &guard,
        &PushPreferences { new_categories: vec!["vandalisme".into()], ..Default::default() },
    )
    .await;
    prefer(&app, area, &werkgroep, &PushPreferences { on_duty: true, ..Default::default() }).await;
    let patrol = NewPatrol { id: Uuid::new_v4(), area_id: area, started_at: chrono::Utc::now() };
    assert_eq!(app.post(&guard.token, "/api/v1/patrols", &patrol).await.status(), 201);
    // An ondernemer cannot ask for every new report.
    let res = app
        .put(
            &neighbour.token,
            &format!("/api/v1/areas/{area}/push/preferences"),
            &PushPreferences { new_categories: vec!["vandalisme".into()], ..Default::default() },
        )
        .await;
    assert_eq!(res.status(), 403, "{}", res.text().await.unwrap());

    let vandalism = reported(&app, &reporter, area, "vandalisme").await;
    let robbery = reported(&app, &reporter, area, "overval").await;
    let _litter = reported(&app, &reporter, area, "zwerfvuil").await;
    // The werkgroep takes the vandalism in hand: its reporter hears of it.
    let res = app
        .post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{vandalism}/status"),
            &json!({"status": "in_behandeling", "reason": "gemeente ingelicht"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    receiver.wait_for(Duration::from_secs(30), "four messages", |r| r.len() >= 4).await;
    drained(&app, Duration::from_secs(30)).await;
    assert!(receiver.failures().is_empty(), "{:?}", receiver.failures());

    let got: BTreeSet<(String, PushReason, Uuid)> = receiver
        .received()
        .iter()
        .map(|r| (r.token.clone(), r.message.reason, r.message.incident_id))
        .collect();
    let want = BTreeSet::from([
        (guard_sub.clone(), PushReason::New, vandalism),
        (guard_sub.clone(), PushReason::Urgent, robbery),
        (werkgroep_sub.clone(), PushReason::Urgent, robbery),
        (reporter_sub.clone(), PushReason::Status, vandalism),
    ]);
    assert_eq!(got, want, "nobody else (not {neighbour_sub}, not {off_duty_sub}) got anything");
    assert_eq!(receiver.received().len(), 4, "each once");

    for r in receiver.received() {
        assert!(r.body_len < 4096, "{} bytes", r.body_len);
        let text = serde_json::to_string(&r.message).unwrap();
        assert!(
            !text.contains("Winkeldiefstal") && !text.contains("52.247"),
            "no description or place: {text}"
        );
        assert!(!text.contains("test ondernemer"), "no names: {text}");
        match r.message.reason {
            PushReason::Urgent => {
                assert_eq!((r.ttl, r.urgency.as_deref()), (3_600, Some("high")));
                assert_eq!(r.message.title, "Spoed: Overval");
            }
            PushReason::New => assert_eq!((r.ttl, r.urgency.as_deref()), (86_400, Some("normal"))),
            PushReason::Status => {
                assert_eq!(r.ttl, 3 * 86_400);
                assert_eq!(r.topic.as_deref(), Some(vandalism.simple().to_string().as_str()));
                assert_eq!(r.message.status, IncidentStatus::InBehandeling);
                assert_eq!(r.message.title, "Uw melding is nu: in behandeling");
            }
        }
    }

    // Unsubscribed: nothing more arrives there.
    let subs: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, endpoint FROM push_subscriptions WHERE area_id = $1")
            .bind(area)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let (guard_id, _) = subs.iter().find(|(_, e)| e.ends_with(&guard_sub)).unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/push/subscriptions/{guard_id}")))
        .bearer_auth(&werkgroep.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "not someone else's subscription");
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/push/subscriptions/{guard_id}")))
        .bearer_auth(&guard.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    reported(&app, &reporter, area, "agressie").await;
    receiver.wait_for(Duration::from_secs(30), "the werkgroep's message", |r| r.len() >= 5).await;
    drained(&app, Duration::from_secs(30)).await;
    assert!(receiver.received().iter().skip(4).all(|r| r.token == werkgroep_sub));
}

#[tokio::test]
async fn a_410_removes_the_subscription_and_a_429_backs_off() {
    let (app, receiver) = app_and_receiver(120).await;
    app.start_workers();
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let gone = app.device(area, Role::Werkgroep).await;
    let busy = app.device(area, Role::Werkgroep).await;
    for who in [&gone, &busy] {
        prefer(&app, area, who, &PushPreferences { on_duty: true, ..Default::default() }).await;
    }
    let gone_sub = subscribe(&app, &receiver, area, &gone).await;
    let busy_sub = subscribe(&app, &receiver, area, &busy).await;
    receiver.script(&gone_sub, [Reply::Status(410)]);
    receiver.script(&busy_sub, [Reply::TooMany { retry_after: Some(2) }]);

    reported(&app, &reporter, area, "overval").await;
    receiver.wait_for(Duration::from_secs(30), "the retried message", |r| !r.is_empty()).await;
    drained(&app, Duration::from_secs(30)).await;

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].token, busy_sub);
    let refused = receiver.refused();
    let (_, status, at) = refused.iter().find(|(t, ..)| *t == busy_sub).expect("the 429");
    assert_eq!(*status, 429);
    let waited = received[0].at - *at;
    assert!(waited >= Duration::from_millis(1_900), "Retry-After of 2 s honoured, waited {waited:?}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM push_subscriptions WHERE area_id = $1 AND person_id = $2")
            .bind(area)
            .bind(gone.person_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(left, 0, "the 410 removed the subscription");
    // And nothing more goes there.
    reported(&app, &reporter, area, "brandgevaar").await;
    receiver.wait_for(Duration::from_secs(30), "the second message", |r| r.len() >= 2).await;
    drained(&app, Duration::from_secs(30)).await;
    assert_eq!(receiver.refused().iter().filter(|(t, ..)| *t == gone_sub).count(), 1);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn subscriptions_to_unknown_push_services_or_with_bad_keys_are_refused() {
    let (app, receiver) = app_and_receiver(120).await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let me = app.device(area, Role::Ondernemer).await;
    let good = receiver.subscription(area);
    let cases = [
        ("endpoint", {
            let mut s = good.clone();
            s.endpoint = "http://10.0.0.8/push/x".into();
            s
        }),
        ("keys.p256dh", {
            let mut s = good.clone();
            s.keys.p256dh = "AAAA".into();
            s
        }),
        ("keys.auth", {
            let mut s = good.clone();
            s.keys.auth = "c2hvcnQ".into();
            s
        }),
    ];
    for (field, sub) in cases {
        let res = app.post(&me.token, "/api/v1/push/subscriptions", &sub).await;
        assert_eq!(res.status(), 422, "{field}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    // Another area than mine.
    let other = app.area("Elders", kvo_tests::LAGE_WEIDE).await;
    let res = app.post(&me.token, "/api/v1/push/subscriptions", &receiver.subscription(other)).await;
    assert_eq!(res.status(), 404);
    // The same browser twice: one subscription.
    let first: Subscription =
        app.post(&me.token, "/api/v1/push/subscriptions", &good).await.json().await.unwrap();
    let res = app.post(&me.token, "/api/v1/push/subscriptions", &good).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Subscription>().await.unwrap().id, first.id);
}

fn start_sender(app: &TestApp, url: &str) -> std::process::Child {
    let log = std::fs::File::create(app.data_dir.path().join("sender.log")).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_push-sender"))
        .env("DATABASE_URL", url)
        .env("KVO_DATA_DIR", app.data_dir.path())
        .env("KVO_PUSH_HOSTS", "127.0.0.1")
        .env("KVO_PUSH_LEASE_SECS", app.config.push_lease_secs.to_string())
        .env("KVO_DB_POOL", "4")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn push_messages_survive_a_sigkill_of_the_sender() {
    // A two-second lease: what a killed sender had claimed is due again soon.
    let (app, receiver) = app_and_receiver(2).await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let duty = app.device(area, Role::Werkgroep).await;
    prefer(&app, area, &duty, &PushPreferences { on_duty: true, ..Default::default() }).await;
    let mut tokens = vec![];
    for _ in 0..40 {
        tokens.push(subscribe(&app, &receiver, area, &duty).await);
    }
    let mut incidents = vec![];
    for _ in 0..5 {
        incidents.push(reported(&app, &reporter, area, "overval").await);
    }
    // A slow push service: the outbox is still full when the sender dies.
    receiver.set_delay(Duration::from_millis(400));
    let url = app.database_url().await;
    let mut child = start_sender(&app, &url);
    receiver.wait_for(Duration::from_secs(60), "the first messages", |r| r.len() >= 20).await;
    // SIGKILL: no shutdown code runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let before = receiver.received().len();
    let (events, deliveries) = outbox(&app).await;
    assert!(deliveries > 0, "the outbox held messages when the sender died");
    println!("killed after {before} messages; the outbox held {events} events and {deliveries} deliveries");
    // Reports made while no sender runs wait in the outbox too.
    for _ in 0..2 {
        incidents.push(reported(&app, &reporter, area, "agressie").await);
    }

    receiver.set_delay(Duration::ZERO);
    let mut child = start_sender(&app, &url);
    let expected = tokens.len() * incidents.len();
    let pairs = |r: &[kvo_tests::push::Received]| {
        r.iter().map(|r| (r.token.clone(), r.message.incident_id)).collect::<BTreeSet<_>>().len()
    };
    receiver.wait_for(Duration::from_secs(60), "every message", |r| pairs(r) >= expected).await;
    drained(&app, Duration::from_secs(60)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let received = receiver.received();
    let all: BTreeSet<(String, Uuid)> =
        tokens.iter().flat_map(|t| incidents.iter().map(move |i| (t.clone(), *i))).collect();
    let got: BTreeSet<(String, Uuid)> =
        received.iter().map(|r| (r.token.clone(), r.message.incident_id)).collect();
    assert_eq!(got, all, "every message arrived");
    // At least once: a repeat is the same message, with the same id.
    let mut by_pair: BTreeMap<(String, Uuid), BTreeSet<String>> = BTreeMap::new();
    for r in &received {
        by_pair.entry((r.token.clone(), r.message.incident_id)).or_default().insert(r.message.id.clone());
    }
    assert!(by_pair.values().all(|ids| ids.len() == 1), "a repeat carries the first message's id");
    let ids: BTreeSet<&String> = received.iter().map(|r| &r.message.id).collect();
    assert_eq!(ids.len(), expected, "one id per message");
    println!("{} deliveries for {expected} messages ({} repeats)", received.len(), received.len() - expected);
}

/// The attempts and seconds until the next attempt of the area's one delivery.
async fn delivery(app: &TestApp, area: Uuid) -> Option<(i32, f64)> {
    sqlx::query_as(
        "SELECT attempts, EXTRACT(EPOCH FROM next_attempt_at - now())::float8
           FROM push_deliveries WHERE area_id = $1",
    )
    .bind(area)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

/// Waits until the area's delivery has had `attempts` and is waiting out a
/// back-off (not the claim's lease of 120 s); returns the wait in seconds.
async fn backing_off(app: &TestApp, area: Uuid, attempts: i32) -> f64 {
    let start = Instant::now();
    loop {
        if let Some((n, wait)) = delivery(app, area).await
            && n == attempts
            && wait < 60.0
        {
            return wait;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "attempt {attempts}: {:?}",
            delivery(app, area).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_404_removes_the_subscription_and_5xx_backs_off_exponentially() {
    let (app, receiver) = app_and_receiver(120).await;
    app.start_workers();
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let flaky = app.device(area, Role::Werkgroep).await;
    prefer(&app, area, &flaky, &PushPreferences { on_duty: true, ..Default::default() }).await;
    let flaky_sub = subscribe(&app, &receiver, area, &flaky).await;
    receiver.script(&flaky_sub, [Reply::Status(503), Reply::Status(500)]);

    reported(&app, &reporter, area, "overval").await;
    // 10 s after the first failure, 20 s after the second (10 × 2^(n-1)).
    let first = backing_off(&app, area, 1).await;
    assert!((8.0..=10.5).contains(&first), "first back-off {first:.1} s");
    sqlx::query("UPDATE push_deliveries SET next_attempt_at = now() WHERE area_id = $1")
        .bind(area)
        .execute(&app.pool)
        .await
        .unwrap();
    let second = backing_off(&app, area, 2).await;
    assert!((18.0..=20.5).contains(&second), "second back-off {second:.1} s");
    sqlx::query("UPDATE push_deliveries SET next_attempt_at = now() WHERE area_id = $1")
        .bind(area)
        .execute(&app.pool)
        .await
        .unwrap();
    receiver.wait_for(Duration::from_secs(30), "the third attempt", |r| !r.is_empty()).await;
    drained(&app, Duration::from_secs(30)).await;
    assert_eq!(receiver.received().len(), 1, "delivered once, after two refusals");
    assert_eq!(receiver.refused().len(), 2);

    // A 404 (like a 410) means the browser dropped the subscription.
    receiver.script(&flaky_sub, [Reply::Status(404)]);
    reported(&app, &reporter, area, "brandgevaar").await;
    drained(&app, Duration::from_secs(30)).await;
    assert_eq!(receiver.refused().len(), 3);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM push_subscriptions WHERE area_id = $1")
        .bind(area)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the 404 removed the subscription");
}

#[tokio::test]
async fn a_message_older_than_its_ttl_is_dropped_unsent() {
    let (app, receiver) = app_and_receiver(120).await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    prefer(&app, area, &werkgroep, &PushPreferences { on_duty: true, ..Default::default() }).await;
    subscribe(&app, &receiver, area, &werkgroep).await;
    reported(&app, &reporter, area, "overval").await;
    reported(&app, &reporter, area, "brandgevaar").await;
    // Expanded while no sender runs (the push service was unreachable for a
    // while): an urgent message lives an hour; one of them is older.
    kvo_server::push::worker::expand(&app.pool).await.unwrap();
    assert_eq!(outbox(&app).await, (0, 2));
    sqlx::query(
        "UPDATE push_deliveries SET created_at = now() - interval '61 minutes'
          WHERE area_id = $1 AND incident_id = (SELECT id FROM incidents WHERE area_id = $1 AND category = 'overval')",
    )
    .bind(area)
    .execute(&app.pool)
    .await
    .unwrap();

    app.start_workers();
    receiver.wait_for(Duration::from_secs(30), "the fresh message", |r| !r.is_empty()).await;
    drained(&app, Duration::from_secs(30)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the expired message was never sent");
    assert_eq!((received[0].message.category.as_str(), received[0].ttl), ("brandgevaar", 3_600));
    assert!(receiver.refused().is_empty());
}

#[tokio::test]
async fn two_senders_at_once_deliver_every_message_exactly_once() {
    let (app, receiver) = app_and_receiver(120).await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let duty = app.device(area, Role::Werkgroep).await;
    prefer(&app, area, &duty, &PushPreferences { on_duty: true, ..Default::default() }).await;
    let mut tokens = vec![];
    for _ in 0..40 {
        tokens.push(subscribe(&app, &receiver, area, &duty).await);
    }
    for _ in 0..15 {
        reported(&app, &reporter, area, "overval").await;
    }
    // 600 deliveries, more than one sender claims in a round (500): both
    // senders have work from the start, and their claims overlap in time.
    kvo_server::push::worker::expand(&app.pool).await.unwrap();
    assert_eq!(outbox(&app).await, (0, 600));
    receiver.set_delay(Duration::from_millis(20));
    let url = app.database_url().await;
    let mut senders = [start_sender(&app, &url), start_sender(&app, &url)];

    receiver.wait_for(Duration::from_secs(90), "every message", |r| r.len() >= 600).await;
    drained(&app, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // anything sent twice would arrive by now
    for s in &mut senders {
        s.kill().unwrap();
        s.wait().unwrap();
    }
    let received = receiver.received();
    let distinct: BTreeSet<(String, String)> =
        received.iter().map(|r| (r.token.clone(), r.message.id.clone())).collect();
    assert_eq!((received.len(), distinct.len()), (600, 600), "each delivery claimed and sent once");
}

/// Issue 17: an urgent report's push leaves on the commit's notification
/// (LISTEN/NOTIFY), not on the sender's next poll. The poll is set to a
/// minute here, so only the notification can bring the messages within
/// seconds; three reports in a row show that it keeps listening.
#[tokio::test]
async fn an_urgent_push_leaves_when_the_report_commits_not_on_the_next_poll() {
    let app = TestApp::spawn_with(|c| {
        c.push_hosts = vec!["127.0.0.1".into()];
        c.push_poll_ms = 60_000;
    })
    .await;
    let receiver = PushReceiver::start().await;
    let key: PushKey =
        app.client.get(app.url("/api/v1/push/key")).send().await.unwrap().json().await.unwrap();
    receiver.expect_server_key(&key.public_key);
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let duty = app.device(area, Role::Werkgroep).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    subscribe(&app, &receiver, area, &duty).await;
    prefer(&app, area, &duty, &PushPreferences { on_duty: true, ..Default::default() }).await;
    app.start_workers();
    // Let the sender go idle (its first round finds nothing) before reporting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 1..=3 {
        let started = Instant::now();
        reported(&app, &reporter, area, "overval").await;
        receiver.wait_for(Duration::from_secs(10), "the urgent push", |r| r.len() >= n).await;
        println!("urgent push {n} received {} ms after the report's answer", started.elapsed().as_millis());
    }
    assert!(receiver.failures().is_empty(), "{:?}", receiver.failures());
}
