//! The area is the unit of trust: a person of area A gets 404 for anything of area B.

use kvo_api::{
    Role,
    wire::{IncidentPage, Photo},
};
use kvo_tests::{TestApp, jpeg, report};
use uuid::Uuid;

#[tokio::test]
async fn nobody_sees_another_areas_incidents_photos_or_thumbnails() {
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad Deventer", kvo_tests::DEVENTER).await;
    let b = app.area("Lage Weide", kvo_tests::LAGE_WEIDE).await;
    let in_a = app.device(a, Role::Beveiliger).await;
    let in_b = app.device(b, Role::Beveiliger).await;
    let r = report(a);
    assert_eq!(app.post(&in_a.token, "/api/v1/incidents", &r).await.status(), 201);
    let photo: Photo = app
        .put_bytes(
            &in_a.token,
            &format!("/api/v1/incidents/{}/photos/{}", r.id, Uuid::new_v4()),
            jpeg(400, 300),
        )
        .await
        .json()
        .await
        .unwrap();

    for path in [
        format!("/api/v1/incidents/{}", r.id),
        photo.url.clone(),
        photo.thumbnail_url.clone(),
        format!("/api/v1/areas/{a}"),
        format!("/api/v1/areas/{a}/categories"),
        format!("/api/v1/incidents?area_id={a}"),
    ] {
        assert_eq!(app.get(&in_a.token, &path).await.status(), 200, "owner reads {path}");
        let res = app.get(&in_b.token, &path).await;
        assert_eq!(res.status(), 404, "outsider reads {path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains(&r.id.to_string()) && !body.contains("Winkeldiefstal"), "{body}");
    }
    // Without an area filter, B's list is simply empty.
    let page: IncidentPage = app.get(&in_b.token, "/api/v1/incidents").await.json().await.unwrap();
    assert!(page.items.is_empty());
    // B can neither report into A nor add a photo to A's incident.
    let mut into_a = report(a);
    into_a.id = Uuid::new_v4();
    assert_eq!(app.post(&in_b.token, "/api/v1/incidents", &into_a).await.status(), 404);
    let res = app
        .put_bytes(
            &in_b.token,
            &format!("/api/v1/incidents/{}/photos/{}", r.id, Uuid::new_v4()),
            jpeg(10, 10),
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn an_ondernemer_sees_only_their_own_reports() {
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad Deventer", kvo_tests::DEVENTER).await;
    let shop1 = app.device(a, Role::Ondernemer).await;
    let shop2 = app.device(a, Role::Ondernemer).await;
    let guard = app.device(a, Role::Beveiliger).await;
    let r1 = report(a);
    let r2 = report(a);
    assert_eq!(app.post(&shop1.token, "/api/v1/incidents", &r1).await.status(), 201);
    assert_eq!(app.post(&shop2.token, "/api/v1/incidents", &r2).await.status(), 201);
    let mine: IncidentPage = app.get(&shop1.token, "/api/v1/incidents").await.json().await.unwrap();
    assert_eq!(mine.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![r1.id]);
    assert_eq!(app.get(&shop1.token, &format!("/api/v1/incidents/{}", r2.id)).await.status(), 404);
    let all: IncidentPage = app.get(&guard.token, "/api/v1/incidents").await.json().await.unwrap();
    assert_eq!(all.items.len(), 2);
    let guard_mine: IncidentPage =
        app.get(&guard.token, "/api/v1/incidents?mine=true").await.json().await.unwrap();
    assert!(guard_mine.items.is_empty());
}

#[tokio::test]
async fn listing_filters_and_keyset_pages() {
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad Deventer", kvo_tests::DEVENTER).await;
    let guard = app.device(a, Role::Beveiliger).await;
    let mut ids = vec![];
    for i in 0..7 {
        let mut r = report(a);
        r.occurred_at -= chrono::Duration::hours(i);
        r.category = if i % 2 == 0 { "diefstal" } else { "graffiti" }.into();
        assert_eq!(app.post(&guard.token, "/api/v1/incidents", &r).await.status(), 201);
        ids.push(r.id);
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page: IncidentPage =
            app.get(&guard.token, &format!("/api/v1/incidents?limit=3{q}")).await.json().await.unwrap();
        seen.extend(page.items.iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids, "newest first, every incident once");
    let graffiti: IncidentPage =
        app.get(&guard.token, "/api/v1/incidents?category=graffiti").await.json().await.unwrap();
    assert_eq!(graffiti.items.len(), 3);
    let bbox: IncidentPage =
        app.get(&guard.token, "/api/v1/incidents?bbox=6.0,52.0,6.1,52.1").await.json().await.unwrap();
    assert!(bbox.items.is_empty());
    assert_eq!(app.get(&guard.token, "/api/v1/incidents?status=weg").await.status(), 400);
    assert_eq!(app.get(&guard.token, "/api/v1/incidents?limit=100000").await.status(), 422);
}

/// A fingerprint of everything a write could change in area `area`: the row
/// counts of every table a write touches, and the fields a write may set.
async fn state_of(pool: &sqlx::PgPool, area: Uuid) -> (Vec<i64>, String, String) {
    let mut counts = vec![];
    for table in [
        "incidents",
        "incident_status_history",
        "incident_comments",
        "incident_confirmations",
        "photos",
        "patrols",
        "patrol_points",
        "push_subscriptions",
        "push_preferences",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE area_id = $1"
        )))
        .bind(area)
        .fetch_one(pool)
        .await
        .unwrap();
        counts.push(n);
    }
    let incidents: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(concat_ws('|', id, status, assigned_to, due_date, aangifte, damage_cents,
                merged_into), ',' ORDER BY id), '')
           FROM incidents WHERE area_id = $1",
    )
    .bind(area)
    .fetch_one(pool)
    .await
    .unwrap();
    let patrols: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(concat_ws('|', id, ended_at), ',' ORDER BY id), '') FROM patrols WHERE area_id = $1",
    )
    .bind(area)
    .fetch_one(pool)
    .await
    .unwrap();
    (counts, incidents, patrols)
}

/// Issue 18: every mutating endpoint, by every role of another area, against
/// area A's incident, photo, patrol and push settings: 404 (never 403, which
/// would confirm the object exists), and nothing in A or B changed.
#[tokio::test]
async fn no_role_of_another_area_can_change_anything() {
    use serde_json::json;
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad Deventer", kvo_tests::DEVENTER).await;
    let b = app.area("Lage Weide", kvo_tests::LAGE_WEIDE).await;
    let guard_a = app.device(a, Role::Beveiliger).await;
    let (target, other) = (report(a), report(a));
    for r in [&target, &other] {
        assert_eq!(app.post(&guard_a.token, "/api/v1/incidents", r).await.status(), 201);
    }
    let photo = format!("/api/v1/incidents/{}/photos/{}", target.id, Uuid::new_v4());
    assert_eq!(app.put_bytes(&guard_a.token, &photo, jpeg(64, 48)).await.status(), 201);
    let patrol = Uuid::new_v4();
    let started =
        json!({"id": patrol, "area_id": a, "started_at": chrono::Utc::now() - chrono::Duration::minutes(30)});
    assert_eq!(app.post(&guard_a.token, "/api/v1/patrols", &started).await.status(), 201);
    // B's own incident, for a merge across areas.
    let werkgroep_b = app.device(b, Role::Werkgroep).await;
    let mut in_b = report(b);
    (in_b.location.lat, in_b.location.lon) = (52.107, 5.075);
    assert_eq!(app.post(&werkgroep_b.token, "/api/v1/incidents", &in_b).await.status(), 201);

    let (before_a, before_b) = (state_of(&app.pool, a).await, state_of(&app.pool, b).await);
    let t = target.id;
    let now = chrono::Utc::now();
    let writes: Vec<(&str, String, serde_json::Value)> = vec![
        ("POST", format!("/api/v1/incidents/{t}/status"), json!({"status": "in_behandeling", "reason": "x"})),
        ("POST", format!("/api/v1/incidents/{t}/status"), json!({"status": "opgelost", "reason": "x"})),
        ("POST", format!("/api/v1/incidents/{t}/assignment"), json!({"organisation": "gemeente"})),
        ("POST", format!("/api/v1/incidents/{t}/comments"), json!({"body": "van buiten"})),
        ("PATCH", format!("/api/v1/incidents/{t}/facts"), json!({"aangifte": true, "damage_eur": 10.0})),
        ("POST", format!("/api/v1/incidents/{t}/merge"), json!({"into": other.id})),
        ("POST", format!("/api/v1/incidents/{}/merge", in_b.id), json!({"into": t})),
        ("POST", format!("/api/v1/incidents/{t}/confirmations"), json!({"id": Uuid::new_v4()})),
        ("PUT", format!("/api/v1/incidents/{t}/photos/{}", Uuid::new_v4()), json!(null)),
        ("POST", "/api/v1/incidents".to_string(), serde_json::to_value(report(a)).unwrap()),
        (
            "POST",
            format!("/api/v1/patrols/{patrol}/points"),
            json!({"points": [{"lat": 52.25, "lon": 6.16, "at": now}]}),
        ),
        ("POST", format!("/api/v1/patrols/{patrol}/end"), json!({"ended_at": now})),
        (
            "POST",
            "/api/v1/patrols".to_string(),
            json!({"id": Uuid::new_v4(), "area_id": a, "started_at": now}),
        ),
        (
            "PUT",
            format!("/api/v1/areas/{a}/push/preferences"),
            json!({"new_categories": [], "urgent": true, "own_status": true, "on_duty": true}),
        ),
        (
            "POST",
            "/api/v1/push/subscriptions".to_string(),
            json!({"area_id": a, "endpoint": "https://fcm.googleapis.com/fcm/send/x",
                   "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                            "auth": "tBHItJI5svbpez7KI4CCXg"}}),
        ),
    ];
    let mut checked = 0;
    for &role in Role::ALL {
        let outsider = app.device(b, role).await;
        for (method, path, body) in &writes {
            let req = match *method {
                "POST" => app.client.post(app.url(path)).json(body),
                "PATCH" => app.client.patch(app.url(path)).json(body),
                _ if body.is_null() => app.client.put(app.url(path)).body(jpeg(64, 48)),
                _ => app.client.put(app.url(path)).json(body),
            };
            let res = req.bearer_auth(&outsider.token).send().await.unwrap();
            // Merging B's report into A's: only the werkgroep may merge at all. Roles that see
            // B's report get 403 about it (which tells nothing of A), an ondernemer 404 (not
            // theirs); for the werkgroep, A's report is not found.
            let cross_merge = path.contains(&in_b.id.to_string());
            let expected =
                if cross_merge && role.sees_all_incidents() && role != Role::Werkgroep { 403 } else { 404 };
            assert_eq!(res.status(), expected, "{role:?} of B: {method} {path}");
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * writes.len());
    assert_eq!(state_of(&app.pool, a).await, before_a, "nothing in A changed");
    assert_eq!(state_of(&app.pool, b).await, before_b, "nothing in B changed");
}
