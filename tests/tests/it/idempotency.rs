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

/// Group commit (issue 17): 64 reports at once, among them ten sends of one
/// report, a report whose id another one reuses with a different body, and
/// one naming a patrol that does not exist. Each gets its own answer; every
/// new report is stored once, with one history row, and counted once.
#[tokio::test]
async fn reports_written_together_each_get_their_own_answer() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let repeated = report(area);
    let taken = report(area);
    let mut reused = report(area);
    reused.id = taken.id;
    reused.description = Some("Een ander verhaal".into());
    let mut bogus = report(area);
    bogus.patrol_id = Some(uuid::Uuid::new_v4());
    let mut sends: Vec<(&str, kvo_api::wire::NewIncident)> = (0..50).map(|_| ("new", report(area))).collect();
    sends.extend((0..10).map(|_| ("repeated", repeated.clone())));
    sends.push(("taken", taken.clone()));
    sends.push(("taken", reused));
    sends.push(("bogus", bogus.clone()));
    let mut set = tokio::task::JoinSet::new();
    for (kind, r) in sends {
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/incidents"), dev.token.clone());
        set.spawn(async move {
            (kind, client.post(url).bearer_auth(token).json(&r).send().await.unwrap().status().as_u16())
        });
    }
    let answers = set.join_all().await;
    let count = |kind: &str, status: u16| answers.iter().filter(|a| a.0 == kind && a.1 == status).count();
    assert_eq!(count("new", 201), 50, "{answers:?}");
    assert_eq!((count("repeated", 201), count("repeated", 200)), (1, 9), "{answers:?}");
    assert_eq!((count("taken", 201), count("taken", 409)), (1, 1), "{answers:?}");
    assert_eq!(count("bogus", 422), 1, "{answers:?}");
    let (incidents, history): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM incidents WHERE area_id = $1),
                (SELECT count(*) FROM incident_status_history WHERE area_id = $1)",
    )
    .bind(area)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((incidents, history), (52, 52));
    assert_eq!(rows(&app, bogus.id).await, 0);
}

/// A batch one of whose rows breaks a constraint fails as a whole, and nothing
/// of it is stored (the writer then inserts its rows one by one).
#[tokio::test]
async fn a_batch_with_a_broken_row_stores_nothing() {
    use kvo_server::incidents::batch::{Row, insert_many};
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let row = |patrol_id| Row {
        area_id: area,
        id: uuid::Uuid::new_v4(),
        category: "diefstal".into(),
        lon: 6.157,
        lat: 52.247,
        accuracy_m: Some(5.0),
        occurred_at: chrono::Utc::now(),
        description: None,
        reporter_id: dev.person_id,
        zone_id: None,
        patrol_id,
        request_hash: vec![0; 32],
        cell: None,
        answers: serde_json::json!({}),
        anonymous: false,
        asset_id: None,
    };
    let good = [row(None), row(None)];
    let broken = row(Some(uuid::Uuid::new_v4()));
    assert!(insert_many(&app.pool, &[&good[0], &broken, &good[1]]).await.is_err());
    assert_eq!(rows(&app, good[0].id).await + rows(&app, good[1].id).await, 0);
    let written = insert_many(&app.pool, &[&good[0], &good[1], &good[0]]).await.unwrap();
    let new: Vec<bool> = written.iter().map(|w| w.received_at.is_some()).collect();
    assert_eq!(new, [true, true, false], "a row twice in one batch is new the first time only");
    assert_eq!(rows(&app, good[0].id).await, 1);
    // The second report of a place is offered the first as a possible duplicate.
    let mut near = row(None);
    near.lat += 0.0001;
    let written = insert_many(&app.pool, &[&near]).await.unwrap();
    let offered: Vec<uuid::Uuid> = written[0].nearby.iter().map(|n| n.id).collect();
    assert!(offered.contains(&good[0].id) && offered.contains(&good[1].id), "{offered:?}");
    assert!(written[0].nearby.iter().all(|n| n.distance_m < 20.0));

    // Through the writers: on this single-threaded test runtime both sends are
    // queued before a writer runs, so they share a batch; only the first is new.
    let batcher = kvo_server::incidents::batch::Batcher::new(app.pool.clone());
    let twice = row(None);
    let (a, b) = tokio::join!(batcher.insert(twice.clone()), batcher.insert(twice.clone()));
    let new = [a.unwrap(), b.unwrap()].iter().filter(|x| x.received_at.is_some()).count();
    assert_eq!(new, 1, "one report sent twice into one batch is new once");
}
