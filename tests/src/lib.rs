//! Test support: one private PostgreSQL + PostGIS cluster per test process, a
//! fresh database per test (copied from a migrated template, which is fast),
//! and the server running in-process on a random loopback port.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

pub mod push;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use chrono::Utc;
use kvo_api::{
    Role,
    wire::{AreaKind, DeviceSession, NewIncident, WireLocation},
};
use kvo_server::{
    AppState, areas,
    config::Config,
    db::{self, EmbeddedPostgres},
};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// A small part of Deventer's binnenstad (about 680 m × 1,100 m).
pub const DEVENTER: &str = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.245],[6.165,52.255],[6.155,52.255],[6.155,52.245]]]}"#;
/// Its south-western quarter, a zone.
pub const BRINK_ZONE: &str = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.160,52.245],[6.160,52.250],[6.155,52.250],[6.155,52.245]]]}"#;
/// A stretch of Lage Weide, Utrecht.
pub const LAGE_WEIDE: &str = r#"{"type":"Polygon","coordinates":[[[5.06,52.10],[5.09,52.10],[5.09,52.115],[5.06,52.115],[5.06,52.10]]]}"#;

struct Cluster {
    pg: EmbeddedPostgres,
    _dir: PathBuf,
}

static CLUSTER: OnceCell<Cluster> = OnceCell::const_new();
const TEMPLATE: &str = "kvo_template";

async fn cluster() -> &'static Cluster {
    CLUSTER
        .get_or_init(|| async {
            let dir = std::env::temp_dir().join(format!("kvo-test-pg-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let pg = EmbeddedPostgres::start(&dir).await.expect("starting the private test cluster");
            pg.stop_when_process_exits(std::process::id(), Some(&dir)).expect("cluster watchdog");
            db::ensure_database(&pg, TEMPLATE).await.expect("template database");
            let pool = db::connect(pg.connect_options(TEMPLATE), 2).await.expect("connect template");
            db::MIGRATOR.run(&pool).await.expect("migrating the template");
            pool.close().await;
            Cluster { pg, _dir: dir }
        })
        .await
}

/// A fresh, migrated database of its own.
pub async fn fresh_database() -> PgPool {
    let c = cluster().await;
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = c.pg.connect_options("postgres").connect().await.expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    db::connect(c.pg.connect_options(&name), 8).await.expect("connect test database")
}

/// A new, empty database (no extensions, no tables) and its URL, to restore into.
pub async fn empty_database() -> (PgPool, String) {
    let c = cluster().await;
    let name = format!("e_{}", Uuid::new_v4().simple());
    db::ensure_database(&c.pg, &name).await.expect("create empty database");
    (db::connect(c.pg.connect_options(&name), 4).await.expect("connect empty database"), c.pg.url(&name))
}

/// The server, running in-process on 127.0.0.1 with its own database and data directory.
pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub config: Config,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// Starts the server with the default configuration.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Starts the server after `tweak` has adjusted its configuration.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let pool = fresh_database().await;
        let data_dir = tempfile::tempdir().expect("temp data dir");
        // Tests drive credentials flat out; the limits' own test switches them on.
        let mut config =
            Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() }.without_rate_limits();
        tweak(&mut config);
        TestApp::start(pool, data_dir, config).await
    }

    /// Starts the server on an existing database and data directory.
    pub async fn start(pool: PgPool, data_dir: tempfile::TempDir, config: Config) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(pool.clone(), config.clone()).expect("state");
        let serving = state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            kvo_server::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        TestApp { addr, pool, client, data_dir, config, state, shutdown: Some(tx), task: Some(task) }
    }

    /// Stops the server and starts a new one on the same database and data directory.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        TestApp::start(self.pool.clone(), data_dir, self.config.clone()).await
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Starts the background workers (rollup compactor, push sender), as
    /// `kvo serve` does; they stop with the test's runtime.
    pub fn start_workers(&self) {
        kvo_server::spawn_workers(&self.state);
    }

    /// A connection URL of this test's database, for a child process.
    pub async fn database_url(&self) -> String {
        let name: String =
            sqlx::query_scalar("SELECT current_database()").fetch_one(&self.pool).await.unwrap();
        cluster().await.pg.url(&name)
    }

    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates an area (with the default categories).
    pub async fn area(&self, name: &str, geojson: &str) -> Uuid {
        let mp = areas::parse_polygon_geojson(geojson).expect("test polygon");
        kvo_server::admin::on_server::area(&self.pool, name, AreaKind::KvoW, Some("Deventer"), &mp)
            .await
            .expect("area")
    }

    /// Redeems a fresh invite through the API; returns the device session.
    /// The tests use bearer tokens for every role, so a beheerder (whom no
    /// phone invite makes) is a werkgroep invite promoted in the database.
    pub async fn device(&self, area_id: Uuid, role: Role) -> DeviceSession {
        if !kvo_api::admin::grantable(role, kvo_api::admin::Grant::Invite) {
            let mut d = Box::pin(self.device(area_id, Role::Werkgroep)).await;
            sqlx::query("UPDATE memberships SET role = $3 WHERE area_id = $1 AND person_id = $2")
                .bind(area_id)
                .bind(d.person_id)
                .bind(role.code())
                .execute(&self.pool)
                .await
                .unwrap();
            d.role = role;
            return d;
        }
        let invite = kvo_server::admin::on_server::invite(&self.pool, area_id, role).await.unwrap();
        let res = self
            .client
            .post(self.url("/api/v1/devices/redeem"))
            .json(&serde_json::json!({"code": invite, "display_name": format!("test {role}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "redeem");
        res.json().await.unwrap()
    }

    /// Signs a web user in; returns the session cookie (`name=value`) to send.
    pub async fn web_session(&self, email: &str, password: &str) -> String {
        let res = self
            .client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign in as {email}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// POSTs a JSON body with a bearer token.
    pub async fn post(&self, token: &str, path: &str, body: &impl serde::Serialize) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    /// GETs with a bearer token.
    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// PUTs a JSON body with a bearer token.
    pub async fn put(&self, token: &str, path: &str, body: &impl serde::Serialize) -> reqwest::Response {
        self.client.put(self.url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    /// PUTs raw bytes with a bearer token.
    pub async fn put_bytes(&self, token: &str, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client.put(self.url(path)).bearer_auth(token).body(body).send().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A valid report in the Deventer test area, happening now.
pub fn report(area_id: Uuid) -> NewIncident {
    NewIncident {
        id: Uuid::new_v4(),
        area_id,
        category: "diefstal".into(),
        location: WireLocation { lat: 52.247, lon: 6.157, accuracy_m: Some(8.0) },
        occurred_at: Utc::now() - chrono::Duration::minutes(5),
        description: Some("Winkeldiefstal, dader weggerend".into()),
        patrol_id: None,
        answers: Default::default(),
        anonymous: false,
        asset_id: None,
    }
}

/// A JPEG of `w` × `h` pixels with a gradient.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    kvo_server::photos::process::encode_jpeg(&img, 90).unwrap()
}

/// Changes a category's settings as the `kvo` tool would.
pub async fn set_category(pool: &PgPool, area_id: Uuid, code: &str, change: kvo_api::admin::CategoryChange) {
    kvo_server::admin::Admin::server(pool, "")
        .change_category(area_id, code, change)
        .await
        .expect("category change");
}
