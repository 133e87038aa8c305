use kvo_api::{
    Role,
    wire::{CategoryList, Me},
};
use kvo_tests::{TestApp, report};
use serde_json::json;

#[tokio::test]
async fn an_invite_is_redeemed_once_and_sign_out_revokes_the_token() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let invite = kvo_server::admin::on_server::invite(&app.pool, area, Role::Ondernemer).await.unwrap();
    // Typed in lower case with spaces: still accepted.
    let typed = invite.to_lowercase().replace('-', " ");
    let res = app
        .client
        .post(app.url("/api/v1/devices/redeem"))
        .json(&json!({"code": typed, "display_name": "Bakkerij"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let session: kvo_api::wire::DeviceSession = res.json().await.unwrap();
    assert_eq!((session.area_id, session.role), (area, Role::Ondernemer));
    let again = app
        .client
        .post(app.url("/api/v1/devices/redeem"))
        .json(&json!({"code": invite}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422, "used up");

    let me: Me = app.get(&session.token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me.display_name, "Bakkerij");
    assert_eq!(me.memberships.len(), 1);
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM device_tokens").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, kvo_server::auth::hash_secret(&session.token), "tokens are stored as their SHA-256");
    assert_eq!(stored.len(), 32);
    let raw: i64 =
        sqlx::query_scalar("SELECT count(*) FROM device_tokens WHERE position($1::bytea in token_hash) > 0")
            .bind(session.token.as_bytes())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(raw, 0, "the token itself is stored nowhere");

    let res = app
        .client
        .delete(app.url("/api/v1/devices/current"))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get(&session.token, "/api/v1/me").await.status(), 401);
}

#[tokio::test]
async fn web_sign_in_sets_a_protected_cookie_and_state_changes_need_the_csrf_header() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    kvo_server::admin::people::upsert_web_user(
        &app.pool,
        "gemeente@example.org",
        "Gemeente",
        "een lang wachtwoord",
        area,
        Role::Werkgroep,
    )
    .await
    .unwrap();
    let wrong = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "gemeente@example.org", "password": "fout"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "a wrong password is not signed in (401), not a malformed request");
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": "Gemeente@Example.org", "password": "een lang wachtwoord"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let me: Me = res.json().await.unwrap();
    assert_eq!(me.memberships[0].role, Role::Werkgroep);

    let r = report(area);
    let no_csrf =
        app.client.post(app.url("/api/v1/incidents")).header("cookie", &pair).json(&r).send().await.unwrap();
    assert_eq!(no_csrf.status(), 403);
    let ok = app
        .client
        .post(app.url("/api/v1/incidents"))
        .header("cookie", &pair)
        .header("x-kvo-csrf", "1")
        .json(&r)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let read = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{}", r.id)))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    // Regression (issue 17): a credential that does not hold is refused even
    // next to a valid session cookie.
    for authorization in ["Bearer kvod_forged", "Basic d2Vya2dyb2VwOnNlY3JldA==", "Bearer", "nonsense"] {
        let res = app
            .client
            .get(app.url(&format!("/api/v1/incidents/{}", r.id)))
            .header("cookie", &pair)
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{authorization}");
    }
    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("cookie", &pair)
        .header("x-kvo-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = app.client.get(app.url("/api/v1/me")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(after.status(), 401);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM people WHERE email = 'gemeente@example.org'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn categories_carry_an_etag_for_offline_caching() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let path = format!("/api/v1/areas/{area}/categories");
    let res = app.get(&dev.token, &path).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let list: CategoryList = res.json().await.unwrap();
    assert_eq!(list.categories.len(), 19);
    assert_eq!(list.categories[0].code, "vandalisme");
    let cached = app
        .client
        .get(app.url(&path))
        .bearer_auth(&dev.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    kvo_tests::set_category(
        &app.pool,
        area,
        "overval",
        kvo_api::admin::CategoryChange { enabled: Some(false), ..Default::default() },
    )
    .await;
    let changed = app
        .client
        .get(app.url(&path))
        .bearer_auth(&dev.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let list: CategoryList = changed.json().await.unwrap();
    assert_eq!(list.categories.len(), 18);
}
