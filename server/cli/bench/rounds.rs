//! `kvo bench rounds`: a month of rounds for 50 areas (3 rounds a night, a
//! route point every 10 s, 10 checkpoints each) and incidents, then the
//! compliance and coverage endpoints through HTTP next to the naive queries
//! over the raw route points and incidents, in the same run.
//!
//! Naive compliance finds the checkpoints a patrol passed from its route
//! points (within 25 m, PostGIS geography) instead of from the scans; naive
//! coverage counts passes and incidents per cell from the raw rows at request
//! time instead of the rollup. Both get an index on (area_id, at) /
//! (area_id, occurred_at) so that they are not handicapped.

use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Days, NaiveDate, NaiveTime, Utc};
use kvo_api::{
    Role,
    rounds::{NewCheckpoint, NewRoundAgreement},
    wire::AreaKind,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::{
    AppState,
    admin::on_server,
    analytics::cells,
    areas::AreaCache,
    auth,
    config::Config,
    nl_time,
    patrols::{agreements, checkpoints},
};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RoundsBench {
    pub areas: usize,
    pub nights: i64,
    pub requests: usize,
}

struct Area {
    id: Uuid,
    token: String,
}

/// 10 checkpoints on a circle of about 450 m around the area's centre.
fn loop_points(centre: (f64, f64)) -> Vec<(f64, f64)> {
    (0..10)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i) / 10.0;
            (centre.0 + 0.0065 * a.cos(), centre.1 + 0.004 * a.sin())
        })
        .collect()
}

pub async fn run(cfg: &Config, b: RoundsBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let (pool, pg) = super::database(cfg, tmp.path()).await?;
    let mut rng = StdRng::seed_from_u64(14);
    let today = nl_time::today();
    let first = today - Days::days(b.nights);
    println!(
        "rounds benchmark: {} areas × {} nights × 3 rounds, a route point every 10 s, 10 checkpoints; {} cores",
        b.areas,
        b.nights,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    let mut list = vec![];
    let (mut points_total, mut patrols_total) = (0usize, 0usize);
    for i in 0..b.areas {
        let centre = (4.6 + (i % 10) as f64 * 0.2, 51.6 + (i / 10) as f64 * 0.25);
        let (a, p, n) = load_area(&pool, &mut rng, i, centre, first, b.nights).await?;
        points_total += n;
        patrols_total += p;
        list.push(a);
    }
    sqlx::query("CREATE INDEX bench_points_time ON patrol_points (area_id, at)").execute(&pool).await?;
    kvo_server::analytics::rollup::compact_all(&pool).await?;
    sqlx::query("VACUUM (ANALYZE)").execute(&pool).await?;
    let incidents: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&pool).await?;
    println!(
        "loaded in {:.0} s: {patrols_total} patrols, {points_total} route points, {incidents} incidents",
        started.elapsed().as_secs_f64()
    );

    let state = AppState::new(
        pool.clone(),
        Config { data_dir: tmp.path().join("data"), ..Config::default() }.without_rate_limits(),
    )?;
    let server = super::BenchServer::start(state).await?;
    let client = reqwest::Client::new();
    let get = |path: String, token: String| {
        let (client, base) = (&client, &server.base);
        async move { super::timed_get(client, base, path, token).await.map(|(t, _)| t) }
    };

    let (mut comp, mut comp_naive, mut cov, mut cov_naive, mut night, mut night_naive) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..b.requests {
        let a = &list[rng.random_range(0..list.len())];
        // A week of compliance.
        let from = first + Days::days(rng.random_range(0..(b.nights - 7).max(1)));
        let to = from + Days::days(6);
        comp.push(
            get(format!("/api/v1/areas/{}/rounds/compliance?from={from}&to={to}", a.id), a.token.clone())
                .await?,
        );
        comp_naive.push(naive_compliance(&pool, a.id, from, to).await?);
        // Coverage of the whole month, then of its nights only.
        let last = today - Days::days(1);
        cov.push(
            get(format!("/api/v1/areas/{}/coverage?from={first}&to={last}", a.id), a.token.clone()).await?,
        );
        cov_naive.push(naive_coverage(&pool, a.id, first, last, None).await?);
        night.push(
            get(
                format!("/api/v1/areas/{}/coverage?from={first}&to={last}&band=nacht", a.id),
                a.token.clone(),
            )
            .await?,
        );
        night_naive.push(naive_coverage(&pool, a.id, first, last, Some(0)).await?);
    }
    server.stop().await;
    println!("  {} requests each, random areas", b.requests);
    for (name, fast, slow) in [
        ("compliance, one week", &mut comp, &mut comp_naive),
        ("coverage, the month", &mut cov, &mut cov_naive),
        ("coverage, the month's nights", &mut night, &mut night_naive),
    ] {
        let f = super::heatmap::line(&format!("{name} (endpoint)"), fast);
        let s = super::heatmap::line(&format!("{name} (naive SQL)"), slow);
        println!("    {:<44} {:>7.1}× at p50 {:>7.1}× at p95", "naive / endpoint", s.0 / f.0, s.1 / f.1);
    }
    super::finish(pool, pg).await
}

/// One area with its checkpoints, agreement, guard, werkgroep token,
/// `nights` of rounds and about 10 incidents a day. Returns (area, patrols, points).
async fn load_area(
    pool: &PgPool,
    rng: &mut StdRng,
    i: usize,
    centre: (f64, f64),
    first: NaiveDate,
    nights: i64,
) -> anyhow::Result<(Area, usize, usize)> {
    let (w, h) = (0.009, 0.006);
    let boundary = geo::MultiPolygon(vec![geo::Polygon::new(
        geo::LineString::from(vec![
            (centre.0 - w, centre.1 - h),
            (centre.0 + w, centre.1 - h),
            (centre.0 + w, centre.1 + h),
            (centre.0 - w, centre.1 + h),
            (centre.0 - w, centre.1 - h),
        ]),
        vec![],
    )]);
    let id = on_server::area(pool, &format!("Rondes {i}"), AreaKind::KvoB, None, &boundary).await?;
    let guard = Uuid::new_v4();
    sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, 'bench guard')")
        .bind(guard)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, 'beveiliger')")
        .bind(id)
        .bind(guard)
        .execute(pool)
        .await?;
    let inv = on_server::invite(pool, id, Role::Werkgroep).await?;
    let token =
        auth::redeem_invite(pool, &inv, Some("bench"), None).await.map_err(|e| anyhow::anyhow!("{e}"))?.token;
    let cache = AreaCache::default();
    let mut stops = vec![];
    for (k, (lon, lat)) in loop_points(centre).into_iter().enumerate() {
        let req = NewCheckpoint { name: format!("Punt {k}"), lat, lon };
        stops.push((checkpoints::insert(pool, &cache, id, req).await?.id, lon, lat));
    }
    agreements::insert(
        pool,
        id,
        NewRoundAgreement {
            name: "Nacht".into(),
            window_start: NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
            window_end: NaiveTime::from_hms_opt(6, 0, 0).expect("time"),
            rounds: 3,
            min_gap_minutes: 90,
            max_round_minutes: 60,
            checkpoints: stops.iter().map(|s| s.0).collect(),
        },
    )
    .await?;

    let (mut patrols, mut points) = (0, 0);
    for n in 0..nights {
        let night = first + Days::days(n);
        let local = night.and_hms_opt(22, 0, 0).expect("time").and_utc();
        let opens = local - Days::hours(nl_time::offset_hours(local));
        for r in 0..3 {
            let start = opens + Days::minutes(150 * r + rng.random_range(0..40));
            points += walk(pool, id, guard, &stops, start).await?;
            patrols += 1;
        }
    }
    // About ten incidents a day, anywhere in the area, at any hour.
    let count = (nights * 10) as usize;
    let (mut lons, mut lats, mut ats, mut cs) = (vec![], vec![], vec![], vec![]);
    let since = first.and_time(NaiveTime::MIN).and_utc();
    for _ in 0..count {
        let (lon, lat) = (centre.0 + rng.random_range(-w..w), centre.1 + rng.random_range(-h..h));
        lons.push(lon);
        lats.push(lat);
        ats.push(since + Days::seconds(rng.random_range(0..nights * 86_400)));
        cs.push(cells::cell_of(lat, lon));
    }
    sqlx::query(
        "INSERT INTO incidents (area_id, id, category, geom, occurred_at, reporter_id, request_hash, cell)
         SELECT $1, gen_random_uuid(), 'vandalisme', ST_SetSRID(ST_MakePoint(lon, lat), 4326), at, $2, '\\x00', cell
           FROM unnest($3::float8[], $4::float8[], $5::timestamptz[], $6::int8[]) AS u(lon, lat, at, cell)",
    )
    .bind(id)
    .bind(guard)
    .bind(&lons)
    .bind(&lats)
    .bind(&ats)
    .bind(&cs)
    .execute(pool)
    .await?;
    Ok((Area { id, token }, patrols, points))
}

/// One round past every stop from `start` at 1 m/s, a point every 10 s, a
/// scan at each stop; stored and ended as the demo's are. Returns the number of points.
async fn walk(
    pool: &PgPool,
    area: Uuid,
    guard: Uuid,
    stops: &[(Uuid, f64, f64)],
    start: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let (mut points, mut scans) = (vec![], vec![]);
    let mut t = start;
    for (k, &(checkpoint, lon, lat)) in stops.iter().enumerate() {
        let phone = geo::Point::new(lon, lat);
        scans.push(crate::demo::rounds::Scan { checkpoint, at: t, phone, accuracy: 5.0, far: false });
        let (_, nlon, nlat) = stops[(k + 1) % stops.len()];
        let metres = ((nlon - lon) * 68_000.0).hypot((nlat - lat) * 111_000.0);
        let steps = (metres / 10.0).ceil().max(1.0) as i32;
        for s in 0..steps {
            let f = f64::from(s) / f64::from(steps);
            points.push((t, lon + (nlon - lon) * f, lat + (nlat - lat) * f));
            t += Days::seconds(10);
        }
    }
    crate::demo::rounds::store(pool, area, guard, start, &points, &scans, t).await?;
    Ok(points.len())
}

/// Which checkpoints each patrol of the week passed, from its route points.
async fn naive_compliance(
    pool: &PgPool,
    area: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let _: Vec<(Uuid, Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT pp.patrol_id, c.id, min(pp.at), max(pp.at)
           FROM patrol_points pp
           JOIN checkpoints c ON c.area_id = pp.area_id AND ST_DWithin(pp.geom::geography, c.geom::geography, 25)
          WHERE pp.area_id = $1 AND pp.at >= $2::date - 1 AND pp.at < $3::date + 2
          GROUP BY 1, 2",
    )
    .bind(area)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(t.elapsed())
}

/// Passes and incidents per coverage cell from the raw rows.
async fn naive_coverage(
    pool: &PgPool,
    area: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    band: Option<i16>,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let _: Vec<(Option<i64>, Option<i64>, Option<i64>)> = sqlx::query_as(
        "WITH passes AS (
             SELECT kvo_coverage_cell(cell) AS c,
                    count(DISTINCT (patrol_id, kvo_local_day(at), kvo_hour_band(kvo_week_hour(at)))) AS n
               FROM patrol_points
              WHERE area_id = $1 AND kvo_local_day(at) >= $2 AND kvo_local_day(at) <= $3
                AND at >= $2::date - 1 AND at < $3::date + 2
                AND ($4::int2 IS NULL OR kvo_hour_band(kvo_week_hour(at)) = $4)
              GROUP BY 1
         ), inc AS (
             SELECT kvo_coverage_cell(cell) AS c, count(*) AS n FROM incidents
              WHERE area_id = $1 AND kvo_local_day(occurred_at) >= $2 AND kvo_local_day(occurred_at) <= $3
                AND occurred_at >= $2::date - 1 AND occurred_at < $3::date + 2
                AND ($4::int2 IS NULL OR kvo_hour_band(kvo_week_hour(occurred_at)) = $4)
              GROUP BY 1
         )
         SELECT c, passes.n, inc.n FROM passes FULL JOIN inc USING (c)",
    )
    .bind(area)
    .bind(from)
    .bind(to)
    .bind(band)
    .fetch_all(pool)
    .await?;
    Ok(t.elapsed())
}
