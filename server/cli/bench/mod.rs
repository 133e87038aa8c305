//! Benchmarks. `kvo bench heatmap` is in [`heatmap`].
//!
//! `kvo bench ingest`: reports per second and latency through the real HTTP
//! server, next to the ceiling of the same rows inserted straight into
//! PostgreSQL, in one run on one machine.
//!
//! It runs on a throw-away private cluster (or `DATABASE_URL`), never on the
//! data directory of a running installation.

pub mod heatmap;
pub mod rounds;
pub mod soak;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::Utc;
use kvo_api::{
    Role,
    wire::{AreaKind, NewIncident, WireLocation},
};
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::{
    AppState,
    admin::on_server,
    areas, auth,
    config::Config,
    db::{self, EmbeddedPostgres},
    photos::process::encode_jpeg,
};

/// Settings of one benchmark run.
#[derive(Debug, Clone)]
pub struct IngestBench {
    pub clients: usize,
    pub seconds: u64,
    pub photo_seconds: u64,
}

/// Latencies of one phase, and how long it ran.
struct Phase {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default()
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<44} {:>9.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} errors)",
            self.rate(),
            self.pct(0.50).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
            self.latencies.len(),
            self.errors
        );
    }
}

const BENCH_AREA: &str = r#"{"type":"Polygon","coordinates":[[[6.1505,52.2520],[6.1530,52.2565],[6.1585,52.2580],[6.1650,52.2560],[6.1668,52.2510],[6.1640,52.2470],[6.1570,52.2458],[6.1520,52.2478],[6.1505,52.2520]]]}"#;

/// The benchmarks' area, with the default categories.
async fn bench_area(pool: &PgPool) -> anyhow::Result<Uuid> {
    let boundary = areas::parse_polygon_geojson(BENCH_AREA)?;
    Ok(on_server::area(pool, "Benchmark", AreaKind::KvoW, None, &boundary).await?)
}

/// Runs the ingest benchmark and prints its figures.
pub async fn ingest(cfg: &Config, b: IngestBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let (pool, pg) = database(cfg, tmp.path()).await?;
    let area = bench_area(&pool).await?;
    let mut tokens = vec![];
    for _ in 0..b.clients {
        let inv = on_server::invite(&pool, area, Role::Ondernemer).await?;
        tokens.push(
            auth::redeem_invite(&pool, &inv, Some("bench"), None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .token,
        );
    }
    let config = Config { data_dir: tmp.path().join("data"), db_pool: cfg.db_pool, ..Config::default() }
        .without_rate_limits();
    let state = AppState::new(pool.clone(), config)?;
    // Everything on, as in `kvo serve`: the rollup compactor and the push
    // worker run through all phases, the ceiling's too.
    let workers = kvo_server::spawn_workers(&state);
    let server = BenchServer::start(state).await?;
    let base = server.base.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(b.clients).build()?;
    println!(
        "ingest benchmark: {} clients, {} cores, PostgreSQL pool {}, synchronous_commit on",
        b.clients,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cfg.db_pool
    );

    // Warm up connections, caches and the area index; then gather statistics,
    // as autovacuum does within a minute in service. Without them the plans
    // made on the empty tables (foreign-key checks among them) stay cached per
    // connection and scan the whole area for every row.
    run_clients(&client, &base, area, &tokens, Duration::from_secs(1), None).await;
    sqlx::query("ANALYZE").execute(&pool).await.context("gathering statistics")?;
    let meta = run_clients(&client, &base, area, &tokens, Duration::from_secs(b.seconds), None).await;
    meta.print("metadata-only reports via HTTP");

    let photo = Arc::new(bench_photo());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The bound: the processing alone on every core at once (two virtual
    // cores need not do twice the work of one).
    let (one_core, bound) = {
        let photo = photo.clone();
        tokio::task::spawn_blocking(move || {
            (photo_rate(&photo, 1, Duration::from_secs(1)), photo_rate(&photo, cores, Duration::from_secs(3)))
        })
        .await?
    };
    println!(
        "  (photo: 1600 × 1200 JPEG, {} KB; server-side processing {:.1} ms on one core ({one_core:.0}/s × {cores} cores); \
         measured on all {cores} cores at once, with nothing else: {bound:.0}/s, the bound)",
        photo.len() / 1024,
        1e3 / one_core,
    );
    let with_photo =
        run_clients(&client, &base, area, &tokens, Duration::from_secs(b.photo_seconds), Some(photo)).await;
    with_photo.print("reports with a 1600 px photo via HTTP");
    println!(
        "photo reports / bound: {:.0} %   targets: ≥ 150 photo reports/s or ≥ 70 % of the bound",
        100.0 * with_photo.rate() / bound
    );

    let ceiling = ceiling(&pool, area, b.clients, Duration::from_secs(b.seconds)).await?;
    ceiling.print("ceiling: same INSERT straight into PostgreSQL");
    println!(
        "server / ceiling: {:.0} %   targets: ≥ 80 % of the ceiling with p99 ≤ 50 ms",
        100.0 * meta.rate() / ceiling.rate()
    );
    server.stop().await;
    workers.stop().await;
    finish(pool, pg).await
}

/// Resident memory of this process now and its peak since the last reset, in MB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
    };
    (field("VmRSS:").unwrap_or(0.0) / 1024.0, field("VmHWM:").unwrap_or(0.0) / 1024.0)
}

/// Resets the peak resident memory (Linux: `5` to `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The largest photo the server accepts: 7300 × 5470 (39.9 megapixels), a
/// smooth JPEG so it stays under the 15 MB upload limit.
fn worst_case_photo() -> anyhow::Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(7300, 5470, |x, y| {
        image::Rgb([(x / 29 % 256) as u8, (y / 22 % 256) as u8, ((x + y) / 50 % 256) as u8])
    });
    Ok(encode_jpeg(&img, 80)?)
}

/// Peak memory while `uploads` of the largest legal photos arrive at once:
/// with the configured budget (`KVO_PHOTO_MEMORY_MB`) and, in the same run,
/// with no limit (one slot per upload).
pub async fn photo_memory(cfg: &Config, uploads: usize) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let (pool, pg) = database(cfg, tmp.path()).await?;
    let area = bench_area(&pool).await?;
    let inv = on_server::invite(&pool, area, Role::Beveiliger).await?;
    let token = auth::redeem_invite(&pool, &inv, Some("bench"), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let photo = bytes::Bytes::from(worst_case_photo()?);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let budget = cfg.photo_memory_mb;
    let limited = kvo_server::photos::decode_slots(budget << 20, cfg.max_photo_pixels, cores);
    println!(
        "photo memory: {uploads} uploads at once of a {:.1} MB JPEG of 39.9 megapixels; budget {budget} MiB \
         ({} bytes a pixel: {:.0} MB a photo), {cores} cores",
        photo.len() as f64 / 1e6,
        kvo_server::photos::WORST_CASE_BYTES_PER_PIXEL,
        (cfg.max_photo_pixels * kvo_server::photos::WORST_CASE_BYTES_PER_PIXEL) as f64 / 1e6
    );
    for (name, slots) in [("within the budget", limited), ("no limit (naive)", uploads)] {
        let config = Config { data_dir: tmp.path().join(format!("data-{slots}")), ..cfg.clone() }
            .without_rate_limits();
        let mut state = AppState::new(pool.clone(), config)?;
        state.photos.slots = Arc::new(tokio::sync::Semaphore::new(slots));
        let server = BenchServer::start(state).await?;
        let base = server.base.clone();
        let client = reqwest::Client::new();
        let mut ids = vec![];
        for _ in 0..uploads {
            let r = report(area);
            let res =
                client.post(format!("{base}/api/v1/incidents")).bearer_auth(&token).json(&r).send().await?;
            anyhow::ensure!(res.status().is_success(), "report: {}", res.status());
            ids.push(r.id);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (before, _) = rss();
        reset_peak();
        let start = Instant::now();
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (client, token, body) = (client.clone(), token.clone(), photo.clone());
                let url = format!("{base}/api/v1/incidents/{id}/photos/{}", Uuid::new_v4());
                tokio::spawn(async move {
                    client.put(url).bearer_auth(token).body(body).send().await.map(|r| r.status())
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if t.await?.is_ok_and(|s| s.is_success()) {
                ok += 1;
            }
        }
        let (_, peak) = rss();
        println!(
            "  {name:<20} {slots:>2} at once: peak RSS {peak:>6.0} MB ({:>+5.0} MB over {before:.0} MB), {ok}/{uploads} stored in {:.1} s",
            peak - before,
            start.elapsed().as_secs_f64()
        );
        server.stop().await;
    }
    finish(pool, pg).await
}

/// A server on a loopback port for a benchmark, stopped with [`BenchServer::stop`].
pub(crate) struct BenchServer {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BenchServer {
    pub async fn start(state: AppState) -> anyhow::Result<BenchServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(kvo_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(BenchServer { base, stop, task })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A GET with a bearer token, timed to the last byte; fails on a non-2xx.
/// Returns the time and the body's size.
pub(crate) async fn timed_get(
    client: &reqwest::Client,
    base: &str,
    path: String,
    token: String,
) -> anyhow::Result<(Duration, usize)> {
    timed_send(client.get(format!("{base}{path}")).bearer_auth(token), &path).await
}

/// Sends a request; its time to the whole answer, and the answer's size. A
/// status other than 2xx ends the benchmark.
pub(crate) async fn timed_send(
    req: reqwest::RequestBuilder,
    what: &str,
) -> anyhow::Result<(Duration, usize)> {
    let t = Instant::now();
    let res = req.send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    if !status.is_success() {
        anyhow::bail!("{what}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok((t.elapsed(), body.len()))
}

/// Closes a benchmark's pool and stops its throw-away cluster.
pub(crate) async fn finish(pool: PgPool, pg: Option<EmbeddedPostgres>) -> anyhow::Result<()> {
    pool.close().await;
    if let Some(pg) = pg {
        pg.stop().await?;
    }
    Ok(())
}

pub(crate) async fn database(
    cfg: &Config,
    tmp: &std::path::Path,
) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    if let Some(url) = &cfg.database_url {
        let pool = db::connect(url.parse()?, cfg.db_pool.max(64) + 8).await?;
        db::MIGRATOR.run(&pool).await?;
        return Ok((pool, None));
    }
    let pg = EmbeddedPostgres::start(&tmp.join("postgres")).await?;
    pg.stop_when_process_exits(std::process::id(), None)?;
    db::ensure_database(&pg, "bench").await?;
    let pool = db::connect(pg.connect_options("bench"), 64 + cfg.db_pool).await?;
    db::MIGRATOR.run(&pool).await?;
    Ok((pool, Some(pg)))
}

/// Photos `process::prepare`d per second by `threads` threads at once, each
/// preparing one photo after the other for `span`.
fn photo_rate(photo: &[u8], threads: usize, span: Duration) -> f64 {
    let start = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while start.elapsed() < span {
                        kvo_server::photos::process::prepare(photo, 40_000_000)
                            .expect("the bench photo prepares");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a photo worker")).sum()
    });
    done as f64 / start.elapsed().as_secs_f64()
}

/// A 1600 × 1200 photo-like JPEG: smooth gradients with fine texture, so it
/// compresses like a real photo rather than like a flat test card.
pub fn bench_photo() -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x07) as u32;
        image::Rgb([
            ((x * 255 / 1600 + n) % 256) as u8,
            ((y * 255 / 1200 + n / 2) % 256) as u8,
            (((x + y) / 12 + n) % 256) as u8,
        ])
    });
    encode_jpeg(&img, 85).expect("encoding the bench photo")
}

/// A report somewhere in the benchmark area, as a phone would send it.
fn report(area: Uuid) -> NewIncident {
    use rand::Rng;
    let mut rng = rand::rng();
    NewIncident {
        id: Uuid::new_v4(),
        area_id: area,
        category: "diefstal".into(),
        location: WireLocation {
            lat: rng.random_range(52.2490..52.2540),
            lon: rng.random_range(6.1560..6.1620),
            accuracy_m: Some(8.0),
        },
        occurred_at: Utc::now(),
        description: Some("Winkeldiefstal, dader weggerend richting Brink".into()),
        patrol_id: None,
        answers: Default::default(),
        anonymous: false,
        asset_id: None,
    }
}

async fn run_clients(
    client: &reqwest::Client,
    base: &str,
    area: Uuid,
    tokens: &[String],
    duration: Duration,
    photo: Option<Arc<Vec<u8>>>,
) -> Phase {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = vec![];
    for token in tokens {
        let (client, base, token, photo) = (client.clone(), base.to_string(), token.clone(), photo.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (vec![], 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = report(area);
                // Serialised like a phone does, off the server's clock: the generator
                // shares the machine's two cores with the server and PostgreSQL.
                let body = serde_json::to_vec(&r).expect("wire types serialise");
                let ok = async {
                    let res = client
                        .post(format!("{base}/api/v1/incidents"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .ok()?;
                    if res.status() != 201 {
                        return None;
                    }
                    if let Some(photo) = &photo {
                        let url = format!("{base}/api/v1/incidents/{}/photos/{}", r.id, Uuid::new_v4());
                        let res =
                            client.put(url).bearer_auth(&token).body(photo.to_vec()).send().await.ok()?;
                        if res.status() != 201 {
                            return None;
                        }
                    }
                    Some(())
                }
                .await;
                match ok {
                    Some(()) => lat.push(t.elapsed()),
                    None => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut phase = Phase { latencies: vec![], elapsed: Duration::ZERO, errors: 0 };
    for t in tasks {
        if let Ok((l, e)) = t.await {
            phase.latencies.extend(l);
            phase.errors += e;
        }
    }
    phase.elapsed = start.elapsed();
    phase
}

/// The same rows, through the same statement, over `clients` connections, with no server.
async fn ceiling(pool: &PgPool, area: Uuid, clients: usize, duration: Duration) -> anyhow::Result<Phase> {
    let reporter: Uuid = sqlx::query_scalar("SELECT person_id FROM memberships WHERE area_id = $1 LIMIT 1")
        .bind(area)
        .fetch_one(pool)
        .await
        .context("bench reporter")?;
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = vec![];
    for _ in 0..clients {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (vec![], 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                let b = report(area);
                let r = sqlx::query(kvo_server::incidents::INSERT_INCIDENT)
                    .bind(area)
                    .bind(b.id)
                    .bind("diefstal")
                    .bind(b.location.lon)
                    .bind(b.location.lat)
                    .bind(8.0f32)
                    .bind(Utc::now())
                    .bind(b.description.as_deref())
                    .bind(reporter)
                    .bind(None::<Uuid>)
                    .bind(None::<Uuid>)
                    .bind(vec![0u8; 32])
                    .bind(kvo_server::analytics::cells::cell_of(b.location.lat, b.location.lon))
                    .bind(None::<serde_json::Value>)
                    .bind(None::<bool>)
                    .fetch_optional(&pool)
                    .await;
                match r {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut phase = Phase { latencies: vec![], elapsed: Duration::ZERO, errors: 0 };
    for t in tasks {
        let (l, e) = t.await?;
        phase.latencies.extend(l);
        phase.errors += e;
    }
    phase.elapsed = start.elapsed();
    Ok(phase)
}
