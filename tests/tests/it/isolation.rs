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
    assert_eq!(app.get(&guard.token, "/api/v1/incidents?limit=100000").await.status(), 400);
}
