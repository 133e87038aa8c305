use kvo_api::{Role, wire::Incident};
use kvo_tests::{TestApp, report};

async fn rows(app: &TestApp, id: uuid::Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM incidents WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn same_id_same_body_returns_the_stored_incident() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);

    let first = app.post(&dev.token, "/api/v1/incidents", &r).await;
    assert_eq!(first.status(), 201);
    let first: Incident = first.json().await.unwrap();
    let again = app.post(&dev.token, "/api/v1/incidents", &r).await;
    assert_eq!(again.status(), 200);
    let again: Incident = again.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(rows(&app, r.id).await, 1);
    let history: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incident_status_history WHERE incident_id = $1")
            .bind(r.id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(history, 1, "one 'nieuw' entry, not one per retry");
}

#[tokio::test]
async fn same_id_different_body_is_a_conflict() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    let mut changed = r.clone();
    changed.description = Some("Iets anders".into());
    let res = app.post(&dev.token, "/api/v1/incidents", &changed).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // Another person replaying the same body is not the same request either.
    let other = app.device(area, Role::Ondernemer).await;
    assert_eq!(app.post(&other.token, "/api/v1/incidents", &r).await.status(), 409);
    assert_eq!(rows(&app, r.id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_posts_leave_one_row() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    let mut tasks = vec![];
    for _ in 0..20 {
        let (client, url, token, body) =
            (app.client.clone(), app.url("/api/v1/incidents"), dev.token.clone(), r.clone());
        tasks.push(tokio::spawn(async move {
            client.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 19, "{statuses:?}");
    assert_eq!(rows(&app, r.id).await, 1);
}
