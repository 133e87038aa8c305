//! `kvo bench heatmap`: loads synthetic incidents (1M, then 10M) with
//! realistic clustering across many areas of skewed sizes, and prints p50/p95
//! over five filter mixes for the heatmap, tile (cold and warm) and analysis
//! endpoints through HTTP, next to the naive PostGIS aggregate over the raw
//! table in the same run.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use kvo_api::{Role, wire::AreaKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::{
    AppState,
    admin::{on_server, people},
    analytics::cells,
    areas, auth,
    config::Config,
    nl_time,
};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct HeatmapBench {
    /// Total incident counts to measure at, ascending (each step adds to the last).
    pub sizes: Vec<usize>,
    pub areas: usize,
    /// Requests per filter mix and endpoint.
    pub requests: usize,
}

/// The default categories with a rough frequency each.
const CATEGORY_WEIGHTS: [(&str, u32); 19] = [
    ("vandalisme", 10),
    ("diefstal", 16),
    ("inbraak", 6),
    ("overval", 1),
    ("agressie", 3),
    ("verdachte_situatie", 8),
    ("kapotte_verlichting", 7),
    ("verloedering", 6),
    ("overlast_personen", 8),
    ("graffiti", 7),
    ("zwerfvuil", 12),
    ("illegale_dump", 4),
    ("brandgevaar", 2),
    ("brandstichting", 1),
    ("verkeersonveilig", 3),
    ("leegstand", 2),
    ("ondermijning", 1),
    ("cyberincident", 1),
    ("overig", 2),
];

/// Relative frequency per hour of the day (shops and patrols).
const HOUR_WEIGHTS: [u32; 24] = [3, 2, 2, 2, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 7, 6, 5, 5, 4, 3];

#[derive(Clone)]
struct AreaSpec {
    id: Uuid,
    /// south, west, north, east
    bounds: [f64; 4],
    hotspots: Vec<(f64, f64, f64)>,
    /// Three zones, west to east, each a third of the area.
    zones: [Uuid; 3],
    weight: f64,
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random_range(0..total);
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Runs the benchmark and prints its figures.
pub async fn run(cfg: &Config, b: HeatmapBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let (pool, pg) = super::database(cfg, tmp.path()).await?;
    let now = Utc::now();
    let today = nl_time::today();
    let mut rng = StdRng::seed_from_u64(10_000_000);
    let specs = create_areas(&pool, &mut rng, b.areas, today).await?;
    let reporter = Uuid::new_v4();
    sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, 'bench')")
        .bind(reporter)
        .execute(&pool)
        .await?;

    // One token per area (a werkgroep member of each).
    let mut tokens = std::collections::HashMap::new();
    for s in &specs {
        let inv = on_server::invite(&pool, s.id, Role::Werkgroep).await?;
        let session = auth::redeem_invite(&pool, &inv, Some("bench"), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokens.insert(s.id, session.token);
    }
    let config = Config { data_dir: tmp.path().join("data"), ..Config::default() }.without_rate_limits();
    let state = AppState::new(pool.clone(), config)?;
    let server = super::BenchServer::start(state).await?;
    let base = server.base.clone();
    let client = reqwest::Client::new();

    println!(
        "heatmap benchmark: {} areas, {} cores, {} requests per filter mix and endpoint, through HTTP on loopback",
        b.areas,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        b.requests
    );
    let mut loaded = 0usize;
    for &size in &b.sizes {
        let started = Instant::now();
        load(&pool, &specs, reporter, size - loaded, now, &mut rng).await?;
        let copy_s = started.elapsed().as_secs_f64();
        let t = Instant::now();
        create_indexes(&pool).await?;
        let index_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        kvo_server::analytics::rollup::rebuild(&pool).await?;
        sqlx::query("VACUUM (ANALYZE) heat_counts, heat_blocks, heat_packs, margin_counts")
            .execute(&pool)
            .await?;
        sqlx::query("VACUUM (ANALYZE) incidents").execute(&pool).await?;
        let rollup_s = t.elapsed().as_secs_f64();
        loaded = size;
        let sizes: (i64, i64, i64) = sqlx::query_as(
            "SELECT pg_total_relation_size('incidents'),
                    pg_total_relation_size('heat_counts') + pg_total_relation_size('heat_blocks')
                        + pg_total_relation_size('heat_packs') + pg_total_relation_size('margin_counts'),
                    (SELECT count(*) FROM heat_counts) + (SELECT count(*) FROM heat_blocks)
                        + (SELECT count(*) FROM heat_packs) + (SELECT count(*) FROM margin_counts)",
        )
        .fetch_one(&pool)
        .await?;
        println!(
            "\n== {} incidents: loaded in {:.0} s (generate + COPY {:.0} s, indexes {:.0} s, rollup {:.0} s); \
             disk: incidents {:.2} GB, rollup {:.2} GB ({} rows)",
            size,
            started.elapsed().as_secs_f64(),
            copy_s,
            index_s,
            rollup_s,
            sizes.0 as f64 / 1e9,
            sizes.1 as f64 / 1e9,
            sizes.2
        );
        measure(&pool, &client, &base, &tokens, &specs, today, &b, &mut rng).await?;
        measure_region(&pool, &client, &base, &tokens, &specs, today, &b, &mut rng).await?;
    }
    server.stop().await;
    super::finish(pool, pg).await
}

async fn create_areas(
    pool: &PgPool,
    rng: &mut StdRng,
    n: usize,
    today: NaiveDate,
) -> anyhow::Result<Vec<AreaSpec>> {
    let mut specs = vec![];
    // Zipf-like sizes: with 500 areas the largest gets about 2 % of all
    // incidents (200,000 of 10M: about 180 a day, a busy region-wide area) and
    // the median area about 14,000.
    let weights: Vec<f64> = (1..=n).map(|k| 1.0 / (k as f64).powf(0.6)).collect();
    let total: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let share = w / total;
        // Business parks and town centres of 1–4 km across, larger for the busy ones.
        let scale = (share * n as f64).sqrt().clamp(0.7, 2.5);
        let (lat0, lon0) = (51.45 + (i / 20) as f64 * 0.09, 3.9 + (i % 20) as f64 * 0.15);
        let (dlat, dlon) = (0.009 * scale, 0.014 * scale);
        let bounds = [lat0 - dlat, lon0 - dlon, lat0 + dlat, lon0 + dlon];
        let gj = format!(
            r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#,
            s = bounds[0],
            w = bounds[1],
            n = bounds[2],
            e = bounds[3]
        );
        let kind = if i % 3 == 0 { AreaKind::KvoB } else { AreaKind::KvoW };
        let id =
            on_server::area(pool, &format!("Bench {i}"), kind, None, &areas::parse_polygon_geojson(&gj)?)
                .await?;
        let first = today - Days::days(3 * 365);
        areas::set_baseline(pool, id, Some((first, first + Days::days(90)))).await?;
        let hotspots = (0..rng.random_range(3..9))
            .map(|_| {
                (
                    rng.random_range(bounds[0]..bounds[2]),
                    rng.random_range(bounds[1]..bounds[3]),
                    rng.random_range(0.0004..0.0015),
                )
            })
            .collect();
        let mut zones = [Uuid::nil(); 3];
        for (z, zone) in zones.iter_mut().enumerate() {
            let third = (bounds[3] - bounds[1]) / 3.0;
            let (w, e) = (bounds[1] + third * z as f64, bounds[1] + third * (z + 1) as f64);
            let gj = format!(
                r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#,
                s = bounds[0],
                n = bounds[2],
            );
            *zone =
                on_server::zone(pool, id, &format!("Zone {}", z + 1), &areas::parse_polygon_geojson(&gj)?)
                    .await?;
        }
        specs.push(AreaSpec { id, bounds, hotspots, zones, weight: share });
    }
    Ok(specs)
}

/// Adds `n` incidents with COPY, with the secondary indexes dropped and the
/// triggers and foreign keys off (the data is valid by construction).
async fn load(
    pool: &PgPool,
    specs: &[AreaSpec],
    reporter: Uuid,
    n: usize,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    for ix in ["incidents_id", "incidents_area_time", "incidents_reporter", "incidents_geom"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX IF EXISTS {ix}"))).execute(pool).await?;
    }
    let seed: u64 = rng.random();
    let cumulative: Vec<f64> = specs
        .iter()
        .scan(0.0, |acc, s| {
            *acc += s.weight;
            Some(*acc)
        })
        .collect();
    let areas = specs.to_vec();
    let today = nl_time::local_date(now);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    let generator = std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed);
        let hours: Vec<(u32, u32)> = HOUR_WEIGHTS.iter().enumerate().map(|(h, w)| (h as u32, *w)).collect();
        let mut buf = String::with_capacity(16 << 20);
        let mut printed = 0;
        for i in 0..n {
            let x: f64 = rng.random::<f64>() * cumulative[cumulative.len() - 1];
            let a = cumulative.partition_point(|c| *c < x).min(areas.len() - 1);
            let AreaSpec { id: area, bounds: b, hotspots: hot, zones, .. } = &areas[a];
            let (lat, lon) = if rng.random_bool(0.7) {
                let (hl, hn, sd) = hot[rng.random_range(0..hot.len())];
                (
                    (hl + gaussian(&mut rng) * sd * 0.6).clamp(b[0], b[2]),
                    (hn + gaussian(&mut rng) * sd).clamp(b[1], b[3]),
                )
            } else {
                (rng.random_range(b[0]..b[2]), rng.random_range(b[1]..b[3]))
            };
            // A Dutch local day and hour, as UTC.
            let day = today - Days::days(rng.random_range(0..3 * 365));
            let local =
                day.and_hms_opt(pick(&mut rng, &hours), rng.random_range(0..60), 0).expect("valid time");
            let guess = local.and_utc();
            let at = (guess - Days::hours(nl_time::offset_hours(guess))).min(now - Days::minutes(1));
            let category = pick(&mut rng, &CATEGORY_WEIGHTS);
            let age = (now - at).num_days();
            let r = rng.random_range(0..100);
            let status = if age > 60 {
                match r {
                    0..80 => "opgelost",
                    80..90 => "afgewezen",
                    90..95 => "nieuw",
                    _ => "in_behandeling",
                }
            } else {
                match r {
                    0..50 => "nieuw",
                    50..80 => "in_behandeling",
                    _ => "opgelost",
                }
            };
            let resolved = if status == "opgelost" {
                (at + Days::hours(rng.random_range(2..24 * 21))).min(now).to_rfc3339()
            } else {
                "\\N".into()
            };
            let cell = cells::cell_of(lat, lon).expect("valid coordinates");
            let zone = zones[(((lon - b[1]) / (b[3] - b[1]) * 3.0) as usize).min(2)];
            use std::fmt::Write;
            let _ = writeln!(
                buf,
                "{area}\t{}\t{category}\tSRID=4326;POINT({lon:.7} {lat:.7})\t{}\t{}\t{reporter}\t{status}\t\\\\x00\t{cell}\t{resolved}\t{zone}",
                Uuid::new_v4(),
                at.to_rfc3339(),
                (at + Days::minutes(5)).min(now).to_rfc3339(),
            );
            if buf.len() > (8 << 20) || i + 1 == n {
                if tx.blocking_send(std::mem::replace(&mut buf, String::with_capacity(16 << 20))).is_err() {
                    return;
                }
                if (i + 1) / 1_000_000 > printed {
                    printed = (i + 1) / 1_000_000;
                    eprint!("\r  {} / {n} generated   ", i + 1);
                }
            }
        }
        eprintln!();
    });
    let mut conn = pool.acquire().await?;
    // Triggers (the rollup is rebuilt afterwards) and foreign-key checks off: needs a superuser,
    // which the private cluster's owner is.
    sqlx::query("SET session_replication_role = replica").execute(&mut *conn).await.context(
        "the heatmap benchmark needs a superuser (the private cluster, or a throw-away DATABASE_URL)",
    )?;
    let mut copy = conn
        .copy_in_raw(
            "COPY incidents (area_id, id, category, geom, occurred_at, received_at, reporter_id, status,
                             request_hash, cell, resolved_at, zone_id) FROM STDIN",
        )
        .await?;
    while let Some(chunk) = rx.recv().await {
        copy.send(chunk.into_bytes()).await?;
    }
    copy.finish().await?;
    sqlx::query("SET session_replication_role = DEFAULT").execute(&mut *conn).await?;
    generator.join().map_err(|_| anyhow::anyhow!("generator panicked"))?;
    Ok(())
}

/// The secondary indexes of migrations 0003 and 0004, built after the load.
async fn create_indexes(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SET maintenance_work_mem = '1GB'").execute(&mut *conn).await?;
    for sql in [
        "CREATE INDEX incidents_id ON incidents (id)",
        "CREATE INDEX incidents_area_time ON incidents (area_id, occurred_at DESC, id DESC)
         INCLUDE (category, status, zone_id, resolved_at, cell)",
        "CREATE INDEX incidents_reporter ON incidents (area_id, reporter_id, occurred_at DESC)",
        "CREATE INDEX incidents_geom ON incidents USING gist (geom)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// One filter mix: the query string, the hotspot/heatmap resolution, and the
/// naive query's grid size in metres (the area of an H3 cell at that resolution).
struct Mix {
    name: &'static str,
    query: String,
    res: u8,
    from: NaiveDate,
    until: NaiveDate,
    categories: Option<Vec<&'static str>>,
    statuses: Option<Vec<&'static str>>,
    analysis_extra: &'static str,
}

fn mixes(today: NaiveDate) -> Vec<Mix> {
    let d = |n: i64| today - Days::days(n);
    let q = |from: NaiveDate, to: NaiveDate, rest: &str| format!("from={from}&to={to}{rest}");
    vec![
        Mix {
            name: "last 4 weeks, everything, res 10",
            query: q(d(27), today, ""),
            res: 10,
            from: d(27),
            until: today + Days::days(1),
            categories: None,
            statuses: None,
            analysis_extra: "",
        },
        Mix {
            name: "quarter, dimension schoon, open, res 10",
            query: q(d(90), today, "&dimension=schoon&status=nieuw,in_behandeling,heropend"),
            res: 10,
            from: d(90),
            until: today + Days::days(1),
            categories: Some(vec!["graffiti", "zwerfvuil", "illegale_dump"]),
            statuses: Some(vec!["nieuw", "in_behandeling", "heropend"]),
            analysis_extra: "",
        },
        Mix {
            name: "year, theme criminaliteit, res 9",
            query: q(d(364), today, "&theme=criminaliteit"),
            res: 9,
            from: d(364),
            until: today + Days::days(1),
            categories: Some(vec![
                "vandalisme",
                "diefstal",
                "inbraak",
                "overval",
                "agressie",
                "verdachte_situatie",
                "kapotte_verlichting",
            ]),
            statuses: None,
            analysis_extra: "",
        },
        Mix {
            name: "since the nul-meting (2¾ years), res 8",
            query: q(d(3 * 365 - 91), today, ""),
            res: 8,
            from: d(3 * 365 - 91),
            until: today + Days::days(1),
            categories: None,
            statuses: None,
            analysis_extra: "&compare=baseline",
        },
        Mix {
            name: "45 days, diefstal + inbraak, res 11",
            query: q(d(44), today, "&category=diefstal,inbraak"),
            res: 11,
            from: d(44),
            until: today + Days::days(1),
            categories: Some(vec!["diefstal", "inbraak"]),
            statuses: None,
            analysis_extra: "",
        },
    ]
}

/// The naive way: PostGIS counts the raw incidents of `areas` per grid square
/// of an H3 cell's size at `res`. Returns how long it took.
async fn naive_heatmap(pool: &PgPool, areas: &[Uuid], mix: &Mix, res: u8) -> anyhow::Result<Duration> {
    let t = Instant::now();
    // The naive way may use PostgreSQL's parallel workers, which the
    // server's own connections do without (db::connect).
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL max_parallel_workers_per_gather TO DEFAULT").execute(&mut *tx).await?;
    let _: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT ST_AsBinary(ST_SnapToGrid(ST_Transform(geom, 28992), $6)) AS g, count(*)
           FROM incidents
          WHERE area_id = ANY($1)
            AND occurred_at >= ($2::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
            AND occurred_at < ($3::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
            AND ($4::text[] IS NULL OR category = ANY($4)) AND ($5::text[] IS NULL OR status = ANY($5))
          GROUP BY g",
    )
    .bind(areas)
    .bind(mix.from)
    .bind(mix.until)
    .bind(mix.categories.as_ref().map(|v| v.iter().map(|c| c.to_string()).collect::<Vec<_>>()))
    .bind(mix.statuses.as_ref().map(|v| v.iter().map(|c| c.to_string()).collect::<Vec<_>>()))
    .bind(grid_metres(res))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(t.elapsed())
}

fn grid_metres(res: u8) -> f64 {
    // sqrt of the average H3 cell area at resolutions 7-11.
    match res {
        7 => 2_271.0,
        8 => 858.0,
        9 => 324.0,
        10 => 122.0,
        _ => 46.0,
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default().as_secs_f64()
        * 1e3
}

pub(crate) fn line(name: &str, v: &mut [Duration]) -> (f64, f64) {
    let (p50, p95) = (pct(v, 0.5), pct(v, 0.95));
    println!("    {name:<30} p50 {p50:>9.2} ms   p95 {p95:>9.2} ms");
    (p50, p95)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    pool: &PgPool,
    client: &reqwest::Client,
    base: &str,
    tokens: &std::collections::HashMap<Uuid, String>,
    specs: &[AreaSpec],
    today: NaiveDate,
    b: &HeatmapBench,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    // Half the requests go to the ten largest areas, half to the others.
    let largest: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE area_id = $1")
        .bind(specs[0].id)
        .fetch_one(pool)
        .await?;
    println!("  largest area: {largest} incidents; half the requests go to the ten largest areas");
    let pick_area = |rng: &mut StdRng| {
        if rng.random_bool(0.5) {
            &specs[rng.random_range(0..10.min(specs.len()))]
        } else {
            &specs[rng.random_range(0..specs.len())]
        }
    };
    let get = |path: String, token: String| super::timed_get(client, base, path, token);
    let (mut all_heat, mut all_naive, mut all_cold, mut all_warm, mut all_analysis) =
        (vec![], vec![], vec![], vec![], vec![]);
    for mix in mixes(today) {
        println!("  {}", mix.name);
        let (mut heat, mut naive, mut cold, mut warm, mut analysis) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut tiles = vec![];
        for _ in 0..b.requests {
            let s = pick_area(rng);
            let token = tokens[&s.id].clone();
            let (t, _) = get(
                format!("/api/v1/areas/{}/heatmap?resolution={}&{}", s.id, mix.res, mix.query),
                token.clone(),
            )
            .await?;
            heat.push(t);
            naive.push(naive_heatmap(pool, &[s.id], &mix, mix.res).await?);
            // A tile of single incidents somewhere in the area.
            let z: u8 = rng.random_range(16..=18);
            let lat = rng.random_range(s.bounds[0]..s.bounds[2]);
            let lon = rng.random_range(s.bounds[1]..s.bounds[3]);
            let (x, y) = tile_of(lon, lat, z);
            tiles.push((format!("/api/v1/areas/{}/tiles/{z}/{x}/{y}?{}", s.id, mix.query), token.clone()));
            let (t, _) =
                get(format!("/api/v1/areas/{}/analysis?{}{}", s.id, mix.query, mix.analysis_extra), token)
                    .await?;
            analysis.push(t);
        }
        let mut max_tile = 0;
        for (path, token) in &tiles {
            let (t, bytes) = get(path.clone(), token.clone()).await?;
            cold.push(t);
            max_tile = max_tile.max(bytes);
        }
        for (path, token) in &tiles {
            warm.push(get(path.clone(), token.clone()).await?.0);
        }
        let h = line("heatmap endpoint", &mut heat);
        let n = line("naive ST_SnapToGrid aggregate", &mut naive);
        println!("    {:<30} {:>9.0}× at p50   {:>9.0}× at p95", "naive / heatmap", n.0 / h.0, n.1 / h.1);
        line("tile, cold", &mut cold);
        line("tile, warm", &mut warm);
        println!("    {:<30} {:>9.1} KB", "largest tile", max_tile as f64 / 1024.0);
        line("analysis endpoint", &mut analysis);
        all_heat.extend(heat);
        all_naive.extend(naive);
        all_cold.extend(cold);
        all_warm.extend(warm);
        all_analysis.extend(analysis);
    }
    println!("  all mixes");
    let h = line("heatmap endpoint", &mut all_heat);
    let n = line("naive ST_SnapToGrid aggregate", &mut all_naive);
    println!("    {:<30} {:>9.0}× at p50   {:>9.0}× at p95", "naive / heatmap", n.0 / h.0, n.1 / h.1);
    line("tile, cold", &mut all_cold);
    line("tile, warm", &mut all_warm);
    line("analysis endpoint", &mut all_analysis);
    println!(
        "  targets: heatmap p95 ≤ 10 ms and ≥ 100× the naive query; tiles p95 ≤ 20 ms cold, ≤ 2 ms warm; analysis p95 ≤ 100 ms"
    );
    Ok(())
}

/// The region view and the incident table (issue 15): a werkgroep member of
/// 100 areas asks the heatmap across them, next to the naive aggregate over
/// the same areas; and first pages of the incident table with every sort and
/// a filter, per area.
#[allow(clippy::too_many_arguments)]
async fn measure_region(
    pool: &PgPool,
    client: &reqwest::Client,
    base: &str,
    tokens: &std::collections::HashMap<Uuid, String>,
    specs: &[AreaSpec],
    today: NaiveDate,
    b: &HeatmapBench,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let members: Vec<Uuid> = specs.iter().take(100).map(|s| s.id).collect();
    let (email, password) = ("regio@bench.invalid", "bench-regio-wachtwoord");
    for id in &members {
        people::upsert_web_user(pool, email, "Regio bench", password, *id, Role::Werkgroep).await?;
    }
    let res = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?;
    let cookie = res
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_string();
    let in_areas: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE area_id = ANY($1)")
        .bind(&members)
        .fetch_one(pool)
        .await?;
    println!("  region: a werkgroep member of {} areas ({in_areas} incidents in them)", members.len());
    let (mut all_region, mut all_naive, mut all_cold) = (vec![], vec![], vec![]);
    for mix in mixes(today) {
        let (mut region, mut naive) = (vec![], vec![]);
        // A map across a region is zoomed out: the endpoint then counts the coarsest cells.
        let ask = |path: String| {
            let req = client.get(format!("{base}{path}")).header(reqwest::header::COOKIE, &cookie);
            async move { super::timed_send(req, &path).await.map(|r| r.0) }
        };
        // Computed: the same mix over periods ending 0, 1, 2, … days ago, so
        // that no answer is in the cache.
        let rest = mix.query.splitn(3, '&').nth(2).map(|r| format!("&{r}")).unwrap_or_default();
        for i in 0..b.requests as i64 {
            let (from, to) = (mix.from - Days::days(i), mix.until - Days::days(i + 1));
            all_cold.push(ask(format!("/api/v1/region/heatmap?zoom=8&from={from}&to={to}{rest}")).await?);
        }
        for _ in 0..b.requests {
            // Repeated: from the cache while no report changes (as between
            // two werkgroep members' views).
            region.push(ask(format!("/api/v1/region/heatmap?zoom=8&{}", mix.query)).await?);
            naive.push(naive_heatmap(pool, &members, &mix, 7).await?);
        }
        println!("  region (zoom 8: resolution 7), {}", mix.name.split(", res").next().unwrap_or(mix.name));
        let h = line("region heatmap, repeated", &mut region);
        let n = line("naive aggregate, same areas", &mut naive);
        println!(
            "    {:<30} {:>9.0}× at p50   {:>9.0}× at p95",
            "naive / region heatmap",
            n.0 / h.0,
            n.1 / h.1
        );
        all_region.extend(region);
        all_naive.extend(naive);
    }
    println!("  region, all mixes");
    let h = line("region heatmap, repeated", &mut all_region);
    let n = line("naive aggregate, same areas", &mut all_naive);
    println!("    {:<30} {:>9.0}× at p50   {:>9.0}× at p95", "naive / region heatmap", n.0 / h.0, n.1 / h.1);
    let c = line("region heatmap, computed", &mut all_cold);
    println!("    {:<30} {:>9.0}× at p50   {:>9.0}× at p95", "naive / computed", n.0 / c.0, n.1 / c.1);

    // The incident table's first page: every sort, both ways, with a filter.
    let sorts =
        ["occurred_at", "category", "zone", "status", "assigned_to", "due_date", "damage", "confirmations"];
    let filters = [
        "",
        "&status=nieuw,in_behandeling",
        "&category=diefstal,inbraak",
        "&assigned_to=gemeente",
        "&aangifte=true",
    ];
    let mut table = vec![];
    for _ in 0..b.requests * 5 {
        let s = &specs[rng.random_range(0..members.len())];
        let path = format!(
            "/api/v1/areas/{}/incident-table?from={}&to={today}&sort={}&order={}{}",
            s.id,
            today - Days::days(89),
            sorts[rng.random_range(0..sorts.len())],
            ["asc", "desc"][rng.random_range(0..2)],
            filters[rng.random_range(0..filters.len())]
        );
        table.push(super::timed_get(client, base, path, tokens[&s.id].clone()).await?.0);
    }
    line("incident table, first page (a quarter)", &mut table);
    println!(
        "  targets: region heatmap p95 ≤ 10 ms and ≥ 100× the naive aggregate; incident table first page p95 ≤ 50 ms"
    );
    Ok(())
}

fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let l = lat.to_radians();
    (
        ((lon + 180.0) / 360.0 * n) as u32,
        ((1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32,
    )
}

/// Fills the configured database with one area of `n` synthetic incidents
/// (clustered as in the heatmap benchmark), with its rollup built, and a
/// werkgroep web user `email` with `password` there. For `./do bench map`.
pub async fn load_area(pool: &PgPool, n: usize, email: &str, password: &str) -> anyhow::Result<Uuid> {
    let mut rng = StdRng::seed_from_u64(1_000_000);
    let today = nl_time::today();
    let specs = create_areas(pool, &mut rng, 1, today).await?;
    let reporter = Uuid::new_v4();
    sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, 'bench')")
        .bind(reporter)
        .execute(pool)
        .await?;
    let started = Instant::now();
    load(pool, &specs, reporter, n, Utc::now(), &mut rng).await?;
    create_indexes(pool).await?;
    kvo_server::analytics::rollup::rebuild(pool).await?;
    sqlx::query("VACUUM (ANALYZE) incidents, heat_counts, heat_blocks, heat_packs, margin_counts")
        .execute(pool)
        .await?;
    eprintln!("{n} incidents loaded in {:.0} s", started.elapsed().as_secs_f64());
    people::upsert_web_user(pool, email, "Werkgroep bench", password, specs[0].id, Role::Werkgroep).await?;
    Ok(specs[0].id)
}
