use chrono::{Duration, Utc};
use kvo_api::{
    Role,
    wire::{Incident, Patrol},
};
use kvo_tests::{TestApp, report};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_patrol_records_its_route_and_its_findings() {
    let app = TestApp::spawn().await;
    let area = app.area("Lage Weide", kvo_tests::DEVENTER).await;
    let guard = app.device(area, Role::Beveiliger).await;
    let start = Utc::now() - Duration::minutes(30);
    let id = Uuid::new_v4();
    let body = json!({"id": id, "area_id": area, "started_at": start});
    assert_eq!(app.post(&guard.token, "/api/v1/patrols", &body).await.status(), 201);
    assert_eq!(app.post(&guard.token, "/api/v1/patrols", &body).await.status(), 200, "idempotent start");

    let points: Vec<_> = (0..5)
        .map(|i| json!({"lat": 52.246 + f64::from(i) * 0.001, "lon": 6.156, "at": start + Duration::minutes(i64::from(i))}))
        .collect();
    let path = format!("/api/v1/patrols/{id}/points");
    let p: Patrol =
        app.post(&guard.token, &path, &json!({"points": &points[..3]})).await.json().await.unwrap();
    assert_eq!(p.point_count, 3);
    // A retry that overlaps the first batch adds only the new points.
    let p: Patrol =
        app.post(&guard.token, &path, &json!({"points": &points[1..]})).await.json().await.unwrap();
    assert_eq!(p.point_count, 5);

    let mut finding = report(area);
    finding.patrol_id = Some(id);
    let stored: Incident = app.post(&guard.token, "/api/v1/incidents", &finding).await.json().await.unwrap();
    assert_eq!(stored.patrol_id, Some(id));
    let mut bogus = report(area);
    bogus.patrol_id = Some(Uuid::new_v4());
    assert_eq!(app.post(&guard.token, "/api/v1/incidents", &bogus).await.status(), 422);

    let ended: Patrol = app
        .post(&guard.token, &format!("/api/v1/patrols/{id}/end"), &json!({"ended_at": Utc::now()}))
        .await
        .json()
        .await
        .unwrap();
    assert!(ended.ended_at.is_some());
    let route = ended.route.expect("a route line");
    assert_eq!(route["type"], "LineString");
    assert_eq!(route["coordinates"].as_array().unwrap().len(), 5);
    assert_eq!(app.post(&guard.token, &path, &json!({"points": &points[..1]})).await.status(), 409, "ended");
}

#[tokio::test]
async fn an_ondernemer_does_not_patrol() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let shop = app.device(area, Role::Ondernemer).await;
    let res = app
        .post(
            &shop.token,
            "/api/v1/patrols",
            &json!({"id": Uuid::new_v4(), "area_id": area, "started_at": Utc::now()}),
        )
        .await;
    assert_eq!(res.status(), 403);
}
