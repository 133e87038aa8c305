//! The embedded default: a private cluster under the data directory that is
//! found again, with its data, after a stop.

use kvo_server::{config::Config, db::Database};
use uuid::Uuid;

#[tokio::test]
async fn the_embedded_cluster_keeps_its_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config { data_dir: dir.path().to_path_buf(), db_pool: 2, ..Config::default() };

    let db = Database::open(&cfg).await.unwrap();
    let pg = db.embedded.as_ref().expect("no DATABASE_URL: embedded");
    assert!(pg.started_here());
    let preloaded: String =
        sqlx::query_scalar("SHOW shared_preload_libraries").fetch_one(&db.pool).await.unwrap();
    assert_eq!(preloaded, kvo_server::db::POSTGIS_LIBRARY, "PostGIS is loaded once, not per connection");
    pg.stop_when_process_exits(std::process::id(), None).unwrap();
    let mp = kvo_server::areas::parse_polygon_geojson(kvo_tests::DEVENTER).unwrap();
    let area =
        kvo_server::admin::on_server::area(&db.pool, "Binnenstad", kvo_api::wire::AreaKind::KvoW, None, &mp)
            .await
            .unwrap();
    db.close().await.unwrap();
    assert!(!dir.path().join("postgres/data/postmaster.pid").exists(), "the cluster stopped");

    let db = Database::open(&cfg).await.unwrap();
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM areas WHERE name = 'Binnenstad'")
        .fetch_optional(&db.pool)
        .await
        .unwrap();
    assert_eq!(found, Some(area));
    let categories: i64 = sqlx::query_scalar("SELECT count(*) FROM categories WHERE area_id = $1")
        .bind(area)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(categories, 19);
    db.close().await.unwrap();
}

#[tokio::test]
async fn incidents_survive_a_server_restart() {
    let app = kvo_tests::TestApp::spawn().await;
    let a = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(a, kvo_api::Role::Ondernemer).await;
    let r = kvo_tests::report(a);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    let app = app.restart().await;
    let res = app.get(&dev.token, &format!("/api/v1/incidents/{}", r.id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 200, "still idempotent");
}
