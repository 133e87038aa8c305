//! Backup and restore (issue 18): a backup taken while reports keep arriving
//! restores into a fresh installation with every acknowledged report, every
//! photo (by digest), the same rollup counts and the push subscriptions.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use kvo_api::Role;
use kvo_server::config::Config;
use kvo_tests::{DEVENTER, TestApp, empty_database, jpeg, report};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[tokio::test]
async fn a_backup_taken_while_reports_arrive_restores_everything_acknowledged() {
    let app = TestApp::spawn().await;
    let area = app.area("Centrum", DEVENTER).await;
    let device = app.device(area, Role::Beveiliger).await;
    let mut before = vec![];
    for i in 0..12 {
        let r = report(area);
        assert_eq!(app.post(&device.token, "/api/v1/incidents", &r).await.status(), 201);
        let photo = format!("/api/v1/incidents/{}/photos/{}", r.id, Uuid::new_v4());
        assert_eq!(app.put_bytes(&device.token, &photo, jpeg(200 + i, 150)).await.status(), 201);
        before.push(r.id);
    }
    sqlx::query(
        "INSERT INTO push_subscriptions (area_id, id, person_id, endpoint, p256dh, auth)
         VALUES ($1, $2, $3, 'https://fcm.googleapis.com/fcm/send/x', repeat('B', 87), repeat('a', 22))",
    )
    .bind(area)
    .bind(Uuid::new_v4())
    .bind(device.person_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let vapid = std::fs::read(app.data_dir.path().join("vapid-private.key")).unwrap();

    // Reports keep arriving during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, url, token, stop) =
            (app.client.clone(), app.url("/api/v1/incidents"), device.token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acked = vec![];
            while !stop.load(Ordering::Relaxed) {
                let r = report(area);
                let res = client.post(&url).bearer_auth(&token).json(&r).send().await.unwrap();
                if res.status() == 201 {
                    acked.push(r.id);
                }
            }
            acked
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let during: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM incidents").fetch_all(&app.pool).await.unwrap();
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().join("backup");
    let manifest =
        kvo_server::backup::backup(&app.pool, &app.database_url().await, app.data_dir.path(), &dir)
            .await
            .unwrap();
    stop.store(true, Ordering::Relaxed);
    let after = writer.await.unwrap();
    assert!(manifest.incidents >= during.len() as i64, "{manifest:?}");
    assert!(!after.is_empty(), "reports did arrive during the backup");

    // A second backup into the same directory is refused.
    assert!(
        kvo_server::backup::backup(&app.pool, &app.database_url().await, app.data_dir.path(), &dir)
            .await
            .is_err()
    );

    // Restore into a fresh installation.
    let (pool, url) = empty_database().await;
    let data_dir = tempfile::tempdir().unwrap();
    kvo_server::backup::restore(&pool, &url, data_dir.path(), &dir).await.unwrap();
    assert!(
        kvo_server::backup::restore(&pool, &url, data_dir.path(), &dir).await.is_err(),
        "a database with data is not overwritten"
    );
    let restored: HashSet<Uuid> =
        sqlx::query_scalar("SELECT id FROM incidents").fetch_all(&pool).await.unwrap().into_iter().collect();
    let acked: HashSet<Uuid> = before.iter().chain(&during).chain(&after).copied().collect();
    assert!(during.iter().all(|id| restored.contains(id)), "every report acknowledged before the backup");
    assert!(restored.is_subset(&acked), "nothing that was never acknowledged");

    // Every photo's files are there, with the content their digest names.
    let photos: Vec<(String, String)> =
        sqlx::query_as("SELECT encode(sha256, 'hex'), encode(thumb_sha256, 'hex') FROM photos")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(photos.len(), 12);
    for key in photos.iter().flat_map(|(a, b)| [a, b]) {
        let path = data_dir.path().join("photos").join(&key[..2]).join(&key[2..4]).join(key);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), key);
    }
    let subs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM push_subscriptions").fetch_one(&pool).await.unwrap();
    assert_eq!(subs, 1);
    assert_eq!(std::fs::read(data_dir.path().join("vapid-private.key")).unwrap(), vapid, "the same push key");

    // The restored installation answers: its heatmap counts every restored report.
    let config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
    let restored_app = TestApp::start(pool, data_dir, config).await;
    let heat: serde_json::Value = restored_app
        .get(&device.token, &format!("/api/v1/areas/{area}/heatmap?resolution=11"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(heat["total"].as_i64(), Some(restored.len() as i64), "{heat}");
}
