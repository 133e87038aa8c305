//! Abuse limits (issue 16 §3): per phone or web session on reports and
//! photos, per address on signing in and redeeming invites (429 with
//! Retry-After, in Dutch and English, nothing stored), an account slowed
//! down after failed sign-ins, and the list of one's sessions with "sign out
//! everywhere".

use kvo_api::{
    Role,
    wire::{Problem, SignedIn},
};
use kvo_server::admin::{on_server, people};
use kvo_tests::{DEVENTER, TestApp, jpeg, report};
use serde_json::json;
use uuid::Uuid;

async fn too_many(res: reqwest::Response) -> u64 {
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Problem = res.json().await.unwrap();
    assert!(p.detail.contains("seconden"), "{}", p.detail);
    wait
}

async fn incidents(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn reports_photos_and_invites_are_limited_per_phone_and_per_address() {
    let app = TestApp::spawn_with(|c| {
        c.rate_reports_per_minute = 3;
        c.rate_photos_per_minute = 2;
        c.rate_redeem_per_minute = 4;
    })
    .await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let (one, two) = (app.device(area, Role::Ondernemer).await, app.device(area, Role::Ondernemer).await);

    // Three reports a minute for a phone, then a wait of about 20 s; nothing stored.
    for _ in 0..3 {
        assert_eq!(app.post(&one.token, "/api/v1/incidents", &report(area)).await.status(), 201);
    }
    let wait = too_many(app.post(&one.token, "/api/v1/incidents", &report(area)).await).await;
    assert!((15..=20).contains(&wait), "{wait}");
    assert_eq!(incidents(&app).await, 3);
    // Another phone at the same address has its own allowance.
    assert_eq!(app.post(&two.token, "/api/v1/incidents", &report(area)).await.status(), 201);

    // Two photos a minute.
    let id: Uuid = sqlx::query_scalar("SELECT id FROM incidents WHERE reporter_id = $1 LIMIT 1")
        .bind(one.person_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for _ in 0..2 {
        let path = format!("/api/v1/incidents/{id}/photos/{}", Uuid::new_v4());
        assert_eq!(app.put_bytes(&one.token, &path, jpeg(32, 32)).await.status(), 201);
    }
    let path = format!("/api/v1/incidents/{id}/photos/{}", Uuid::new_v4());
    too_many(app.put_bytes(&one.token, &path, jpeg(32, 32)).await).await;

    // Four invites a minute from this address: two were used above.
    let mut redeemed = 2;
    loop {
        let code = on_server::invite(&app.pool, area, Role::Ondernemer).await.unwrap();
        let res = app
            .client
            .post(app.url("/api/v1/devices/redeem"))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            too_many(res).await;
            break;
        }
        assert_eq!(res.status(), 201);
        redeemed += 1;
        assert!(redeemed <= 4, "the limit holds");
    }
    assert_eq!(redeemed, 4);
}

/// An area with a werkgroep member who signs in on the web.
async fn web_user(app: &TestApp) -> Uuid {
    let area = app.area("Binnenstad", DEVENTER).await;
    people::upsert_web_user(
        &app.pool,
        "werkgroep@example.org",
        "W",
        "het-goede-wachtwoord",
        area,
        Role::Werkgroep,
    )
    .await
    .unwrap();
    area
}

async fn sign_in(app: &TestApp, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "werkgroep@example.org", "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_ins_are_limited_per_address_and_an_account_slows_down_after_failures() {
    let app = TestApp::spawn_with(|c| c.rate_signin_per_minute = 3).await;
    web_user(&app).await;
    for _ in 0..3 {
        assert_eq!(sign_in(&app, "fout-wachtwoord").await.status(), 401);
    }
    too_many(sign_in(&app, "het-goede-wachtwoord").await).await;

    // Without the per-address limit: five failures are free, then the account waits.
    let app = TestApp::spawn().await;
    web_user(&app).await;
    for _ in 0..6 {
        assert_eq!(sign_in(&app, "fout-wachtwoord").await.status(), 401);
    }
    // Even the right password waits now.
    let wait = too_many(sign_in(&app, "het-goede-wachtwoord").await).await;
    assert_eq!(wait, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(sign_in(&app, "het-goede-wachtwoord").await.status(), 200);
    let failures: i32 =
        sqlx::query_scalar("SELECT signin_failures FROM people WHERE email = 'werkgroep@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(failures, 0, "a success starts again");
    // Failures past the free ones double the wait.
    for _ in 0..7 {
        sign_in(&app, "fout-wachtwoord").await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let blocked: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM signin_blocked_until - now())::float8 FROM people WHERE email = 'werkgroep@example.org'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        blocked > 0.0 && blocked <= 1.0,
        "the sixth failure waits 1 s; the seventh is refused unchecked: {blocked}"
    );
}

#[tokio::test]
async fn a_person_sees_where_they_are_signed_in_and_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let area = web_user(&app).await;
    let (laptop, office) = (
        app.web_session("werkgroep@example.org", "het-goede-wachtwoord").await,
        app.web_session("werkgroep@example.org", "het-goede-wachtwoord").await,
    );
    let get =
        |cookie: &str, path: &str| app.client.get(app.url(path)).header("cookie", cookie.to_string()).send();
    let list: Vec<SignedIn> = get(&laptop, "/api/v1/me/sessions").await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.kind == "web" && s.expires_at.is_some()));
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    // Someone else's phone is not in my list.
    let phone = app.device(area, Role::Ondernemer).await;
    let theirs: Vec<SignedIn> = app.get(&phone.token, "/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!((theirs.len(), theirs[0].kind.as_str(), theirs[0].current), (1, "phone", true));

    let res = app
        .client
        .post(app.url("/api/v1/me/sign-out-everywhere"))
        .header("cookie", &office)
        .header("x-kvo-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for cookie in [&laptop, &office] {
        assert_eq!(get(cookie, "/api/v1/me").await.unwrap().status(), 401);
    }
    assert_eq!(
        app.get(&phone.token, "/api/v1/me").await.status(),
        200,
        "another person's phone stays signed in"
    );
}
