//! Heatmaps, tiles, the analysis and exports: the rollup against a brute-force
//! count, GeoJSON validity, k-suppression, isolation, a hand-made analysis
//! with a known answer, and absurd requests.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use h3o::Resolution;
use kvo_api::{Role, analysis::Analysis};
use kvo_server::{
    analytics::{Filter, cells, rollup},
    areas, nl_time,
};
use kvo_tests::{BRINK_ZONE, DEVENTER, LAGE_WEIDE, TestApp, report};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sqlx::PgPool;
use uuid::Uuid;

const CATEGORIES: [&str; 6] =
    ["diefstal", "vandalisme", "graffiti", "zwerfvuil", "kapotte_verlichting", "overig"];
const STATUSES: [&str; 5] = ["nieuw", "in_behandeling", "opgelost", "afgewezen", "heropend"];

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Stores an incident straight into the table (as an import would), with its cell.
#[allow(clippy::too_many_arguments)]
async fn insert(
    pool: &PgPool,
    area: Uuid,
    reporter: Uuid,
    (lat, lon): (f64, f64),
    at: DateTime<Utc>,
    category: &str,
    status: &str,
    zone: Option<Uuid>,
    resolved_at: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO incidents (area_id, id, category, geom, occurred_at, reporter_id, zone_id, status,
                                request_hash, cell, resolved_at, description)
         VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, $9, '\\x00', $10, $11, $12)",
    )
    .bind(area)
    .bind(id)
    .bind(category)
    .bind(lon)
    .bind(lat)
    .bind(at)
    .bind(reporter)
    .bind(zone)
    .bind(status)
    .bind(cells::cell_of(lat, lon))
    .bind(resolved_at)
    .bind(format!("melding {category}"))
    .execute(pool)
    .await
    .unwrap();
    id
}

/// The count per cell straight from the raw incidents, with h3o and the Dutch
/// calendar computed in Rust.
async fn brute_force(pool: &PgPool, area: Uuid, res: Resolution, f: &Filter) -> BTreeMap<u64, i64> {
    let rows: Vec<(f64, f64, DateTime<Utc>, String, String)> = sqlx::query_as(
        "SELECT ST_Y(geom), ST_X(geom), occurred_at, category, status FROM incidents WHERE area_id = $1",
    )
    .bind(area)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for (lat, lon, at, cat, status) in rows {
        let d = nl_time::local_date(at);
        if d < f.from || d >= f.until {
            continue;
        }
        if f.categories.as_ref().is_some_and(|c| !c.contains(&cat)) {
            continue;
        }
        if f.status_codes().is_some_and(|s| !s.contains(&status.as_str())) {
            continue;
        }
        let cell = cells::from_db(cells::cell_of(lat, lon).unwrap()).unwrap().parent(res).unwrap();
        *out.entry(u64::from(cell)).or_insert(0) += 1;
    }
    out
}

async fn rollup_counts(pool: &PgPool, area: Uuid, res: Resolution, f: &Filter) -> BTreeMap<u64, i64> {
    let counts = rollup::cell_counts(pool, area, res, f).await.unwrap_or_else(|e| panic!("{e}"));
    counts.into_iter().map(|(c, n)| (u64::from(c), n)).collect()
}

fn random_point(rng: &mut StdRng) -> (f64, f64) {
    // Clustered: five hotspots with about 60 m of spread, and a uniform background.
    const CENTRES: [(f64, f64); 5] =
        [(52.2470, 6.1570), (52.2510, 6.1600), (52.2535, 6.1625), (52.2460, 6.1630), (52.2500, 6.1560)];
    if rng.random_bool(0.75) {
        let (lat, lon) = *CENTRES.choose(rng).unwrap();
        (lat + rng.random_range(-0.0006..0.0006), lon + rng.random_range(-0.0009..0.0009))
    } else {
        (rng.random_range(52.2451..52.2549), rng.random_range(6.1551..6.1649))
    }
}

fn random_time(rng: &mut StdRng) -> DateTime<Utc> {
    // Two years, with extra weight on the hours around Dutch midnight and the
    // DST switches, where a wrong time zone would put an incident on another day.
    let base = utc("2024-11-01T00:00:00Z");
    if rng.random_bool(0.3) {
        let d = base + Duration::days(rng.random_range(0..730));
        d + Duration::minutes(rng.random_range(21 * 60..25 * 60))
    } else {
        base + Duration::seconds(rng.random_range(0..730 * 86_400))
    }
}

/// When an incident of status `st` that occurred `at` was resolved.
fn resolved(rng: &mut StdRng, at: DateTime<Utc>, st: &str) -> Option<DateTime<Utc>> {
    (st == "opgelost").then(|| at + Duration::minutes(rng.random_range(0..60_000)))
}

/// The analysis of `f` (against the previous period) equals a brute-force
/// count over the raw incidents: totals, zones, hour × weekday, weeks,
/// statuses, and the median time to resolution within one class.
async fn check_analysis(app: &TestApp, area: Uuid, token: &str, f: &Filter, context: &str) {
    let mut f = f.clone();
    f.categories = f.categories.filter(|c| !c.is_empty());
    f.statuses = f.statuses.filter(|s| !s.is_empty());
    let mut url = format!("/api/v1/areas/{area}/analysis?from={}&to={}", f.from, f.until - Duration::days(1));
    if let Some(c) = &f.categories {
        url += &format!("&category={}", c.join(","));
    }
    if let Some(s) = f.status_codes() {
        url += &format!("&status={}", s.join(","));
    }
    let res = app.get(token, &url).await;
    assert_eq!(res.status(), 200, "{url}");
    let a: Analysis = res.json().await.unwrap();

    type Raw = (DateTime<Utc>, String, String, Option<Uuid>, Option<DateTime<Utc>>);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT occurred_at, category, status, zone_id, resolved_at FROM incidents WHERE area_id = $1",
    )
    .bind(area)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let previous = (f.from - Duration::days(f.days()), f.from);
    let (mut totals, mut zones) = ([0i64; 2], BTreeMap::<(usize, Option<Uuid>), i64>::new());
    let mut grid = vec![vec![0i64; 24]; 7];
    let mut weeks = BTreeMap::<NaiveDate, i64>::new();
    let mut statuses = BTreeMap::<String, i64>::new();
    let mut hours: [Vec<f64>; 2] = Default::default();
    for (at, cat, st, zone, resolved_at) in rows {
        if f.categories.as_ref().is_some_and(|c| !c.contains(&cat))
            || f.status_codes().is_some_and(|s| !s.contains(&st.as_str()))
        {
            continue;
        }
        let d = nl_time::local_date(at);
        let slot = if d >= f.from && d < f.until {
            0
        } else if d >= previous.0 && d < previous.1 {
            1
        } else {
            continue;
        };
        totals[slot] += 1;
        *zones.entry((slot, zone)).or_default() += 1;
        if st == "opgelost"
            && let Some(r) = resolved_at
        {
            hours[slot].push((r - at).num_seconds() as f64 / 3600.0);
        }
        if slot == 0 {
            let local = at.naive_utc() + Duration::hours(nl_time::offset_hours(at));
            use chrono::{Datelike, Timelike};
            grid[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
            *weeks.entry(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))).or_default() += 1;
            *statuses.entry(st).or_default() += 1;
        }
    }
    assert_eq!(
        (a.totals.current, a.totals.comparison),
        (Some(totals[0]), Some(totals[1])),
        "{context}: {url}"
    );
    let mut got_zones = BTreeMap::<(usize, Option<Uuid>), i64>::new();
    for z in &a.by_zone {
        for (slot, n) in [(0, z.counts.current), (1, z.counts.comparison)] {
            if n.unwrap() != 0 {
                *got_zones.entry((slot, z.zone_id)).or_default() += n.unwrap();
            }
        }
    }
    assert_eq!(got_zones, zones, "{context}: zones of {url}");
    let got_grid: Vec<Vec<i64>> =
        a.hour_weekday.iter().map(|r| r.iter().map(|c| c.unwrap()).collect()).collect();
    assert_eq!(got_grid, grid, "{context}: hour × weekday of {url}");
    let got_weeks: BTreeMap<NaiveDate, i64> =
        a.weekly.iter().map(|w| (w.week_start, w.count.unwrap())).filter(|w| w.1 != 0).collect();
    assert_eq!(got_weeks, weeks, "{context}: weeks of {url}");
    let got_statuses: BTreeMap<String, i64> = a
        .follow_up
        .by_status
        .iter()
        .map(|s| (s.status.code().to_string(), s.count.unwrap()))
        .filter(|s| s.1 != 0)
        .collect();
    assert_eq!(got_statuses, statuses, "{context}: statuses of {url}");
    for (got, mut exact) in [
        (a.follow_up.median_hours_to_resolution, hours[0].clone()),
        (a.follow_up.comparison_median_hours_to_resolution, hours[1].clone()),
    ] {
        exact.sort_by(f64::total_cmp);
        if exact.is_empty() {
            assert_eq!(got, None, "{context}: median of {url}");
            continue;
        }
        // Within one resolution class (4.4 %) of the middle values, plus rounding to 0.1 h.
        let (lo, hi) = (exact[(exact.len() - 1) / 2], exact[exact.len() / 2]);
        let (got, width) = (got.unwrap(), 2f64.powf(1.0 / 16.0));
        assert!(
            got >= lo.max(1.0 / 60.0) / width - 0.05 && got <= hi.max(1.0 / 60.0) * width + 0.05,
            "{context}: median {got} h, middle values {lo}..{hi} h, {url}"
        );
    }
}

fn random_filter(rng: &mut StdRng) -> (Resolution, Filter) {
    let res = Resolution::try_from(rng.random_range(7u8..=11)).unwrap();
    let from = day("2024-10-15") + Duration::days(rng.random_range(0..720));
    let len = *[1i64, 6, 27, 45, 91, 365, 700, 1100].choose(rng).unwrap();
    let pick = |rng: &mut StdRng, all: &[&str]| -> Option<Vec<String>> {
        rng.random_bool(0.5).then(|| {
            let mut v: Vec<String> =
                all.iter().filter(|_| rng.random_bool(0.5)).map(|s| s.to_string()).collect();
            v.sort();
            v
        })
    };
    let categories = pick(rng, &CATEGORIES);
    let statuses = pick(rng, &STATUSES)
        .map(|v| v.iter().map(|s| kvo_api::wire::IncidentStatus::from_code(s).unwrap()).collect());
    (res, Filter { from, until: from + Duration::days(len), categories, statuses })
}

#[tokio::test]
async fn the_rollup_equals_a_brute_force_count_through_changes_deletions_and_compaction() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let other = app.area("Lage Weide", LAGE_WEIDE).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let brink = kvo_server::admin::on_server::zone(
        &app.pool,
        area,
        "Brink",
        &areas::parse_polygon_geojson(BRINK_ZONE).unwrap(),
    )
    .await
    .unwrap();
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = vec![];
    for _ in 0..400 {
        let (cat, st) = (*CATEGORIES.choose(&mut rng).unwrap(), *STATUSES.choose(&mut rng).unwrap());
        let at = random_time(&mut rng);
        let zone = rng.random_bool(0.5).then_some(brink);
        ids.push(
            insert(
                &app.pool,
                area,
                reporter,
                random_point(&mut rng),
                at,
                cat,
                st,
                zone,
                resolved(&mut rng, at, st),
            )
            .await,
        );
    }
    // Another area's incidents must never count.
    for _ in 0..50 {
        insert(
            &app.pool,
            other,
            reporter,
            (52.105, 5.07),
            random_time(&mut rng),
            "diefstal",
            "nieuw",
            None,
            None,
        )
        .await;
    }

    for round in 0..4 {
        // Status changes (also back and forth), category changes, moves in time, deletions, new ones.
        for _ in 0..40 {
            let id = *ids.choose(&mut rng).unwrap();
            let status = *STATUSES.choose(&mut rng).unwrap();
            sqlx::query(
                "UPDATE incidents SET status = $3,
                        resolved_at = CASE WHEN $3 = 'opgelost' THEN occurred_at + make_interval(mins => $4) END
                  WHERE area_id = $1 AND id = $2",
            )
            .bind(area)
            .bind(id)
            .bind(status)
            .bind(rng.random_range(0..60_000))
            .execute(&app.pool)
            .await
            .unwrap();
        }
        for _ in 0..10 {
            let id = *ids.choose(&mut rng).unwrap();
            sqlx::query(
                "UPDATE incidents SET category = $3, occurred_at = $4, zone_id = $5 WHERE area_id = $1 AND id = $2",
            )
            .bind(area)
            .bind(id)
            .bind(*CATEGORIES.choose(&mut rng).unwrap())
            .bind(random_time(&mut rng))
            .bind(rng.random_bool(0.5).then_some(brink))
            .execute(&app.pool)
            .await
            .unwrap();
        }
        // One statement changing many rows, and one changing nothing that counts.
        sqlx::query("UPDATE incidents SET status = 'opgelost' WHERE area_id = $1 AND category = 'zwerfvuil' AND status = 'nieuw'")
            .bind(area)
            .execute(&app.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE incidents SET description = 'bijgewerkt' WHERE area_id = $1")
            .bind(area)
            .execute(&app.pool)
            .await
            .unwrap();
        for _ in 0..15 {
            let i = rng.random_range(0..ids.len());
            let id = ids.swap_remove(i);
            sqlx::query("DELETE FROM incidents WHERE area_id = $1 AND id = $2")
                .bind(area)
                .bind(id)
                .execute(&app.pool)
                .await
                .unwrap();
        }
        for _ in 0..50 {
            let (cat, st) = (*CATEGORIES.choose(&mut rng).unwrap(), *STATUSES.choose(&mut rng).unwrap());
            let at = random_time(&mut rng);
            let zone = rng.random_bool(0.5).then_some(brink);
            ids.push(
                insert(
                    &app.pool,
                    area,
                    reporter,
                    random_point(&mut rng),
                    at,
                    cat,
                    st,
                    zone,
                    resolved(&mut rng, at, st),
                )
                .await,
            );
        }
        // Check with deltas pending, then (in some rounds) after folding them.
        for compacted in [false, true] {
            if compacted && round % 2 == 1 {
                continue;
            }
            if compacted {
                rollup::compact_all(&app.pool).await.unwrap();
                let pending: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM heat_delta").fetch_one(&app.pool).await.unwrap();
                assert_eq!(pending, 0);
                let negative: i64 = sqlx::query_scalar(
                    "SELECT (SELECT count(*) FROM heat_counts WHERE cardinality(ks) = 0 OR 0 >= ANY(ns))
                          + (SELECT count(*) FROM heat_blocks WHERE cardinality(ks) = 0 OR 0 >= ANY(ns))
                          + (SELECT count(*) FROM margin_counts WHERE cardinality(ks) = 0 OR 0 >= ANY(ns))
                          + (SELECT count(*) FROM heat_packs p WHERE NOT EXISTS (
                                SELECT FROM heat_blocks b WHERE (b.area_id, b.level, b.block) = (p.area_id, p.level, p.block)))",
                )
                .fetch_one(&app.pool)
                .await
                .unwrap();
                assert_eq!(negative, 0, "no empty or negative rollup rows, no packs of blocks gone");
            }
            for _ in 0..25 {
                let (res, f) = random_filter(&mut rng);
                let want = brute_force(&app.pool, area, res, &f).await;
                let got = rollup_counts(&app.pool, area, res, &f).await;
                assert_eq!(
                    got, want,
                    "round {round}, compacted {compacted}, res {res:?}, filter {f:?}, seed {seed}"
                );
            }
            for _ in 0..6 {
                let (_, f) = random_filter(&mut rng);
                check_analysis(&app, area, &werkgroep.token, &f, &format!("round {round}, seed {seed}"))
                    .await;
            }
        }
    }
    // The whole period at every resolution, after a full rebuild as well.
    let all = Filter { from: day("2024-10-01"), until: day("2026-12-01"), categories: None, statuses: None };
    let before = rollup_counts(&app.pool, area, Resolution::Eleven, &all).await;
    rollup::rebuild(&app.pool).await.unwrap();
    for r in 7..=11u8 {
        let res = Resolution::try_from(r).unwrap();
        assert_eq!(
            rollup_counts(&app.pool, area, res, &all).await,
            brute_force(&app.pool, area, res, &all).await
        );
    }
    assert_eq!(before, rollup_counts(&app.pool, area, Resolution::Eleven, &all).await);
    for _ in 0..6 {
        let (_, f) = random_filter(&mut rng);
        check_analysis(&app, area, &werkgroep.token, &f, &format!("after the rebuild, seed {seed}")).await;
    }
    let total: i64 = before.values().sum();
    assert_eq!(total, ids.len() as i64);
    // The blocks the reader asks for are the blocks the database keeps.
    let levels: i16 =
        sqlx::query_scalar("SELECT max(l) FROM kvo_block_levels() l").fetch_one(&app.pool).await.unwrap();
    assert_eq!(levels, rollup::MAX_BLOCK_LEVEL);
    // Every rollup row keeps its keys strictly ascending (what kvo_merge relies on).
    for table in ["heat_counts", "heat_blocks", "margin_counts"] {
        let bad: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table}
              WHERE ks <> (SELECT array_agg(DISTINCT k ORDER BY k) FROM unnest(ks) k)
                 OR cardinality(ks) <> cardinality(ns)"
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(bad, 0, "{table} rows with repeated or unsorted keys");
    }
}

/// A block whose last incident goes (deleted, merged or moved to another
/// day) leaves no pack behind: the resolution-7 reader reads packs only.
#[tokio::test]
async fn a_block_that_empties_loses_its_pack() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let the_day =
        Filter { from: day("2026-05-05"), until: day("2026-05-06"), categories: None, statuses: None };
    let total =
        async |f: &Filter| rollup_counts(&app.pool, area, Resolution::Seven, f).await.values().sum::<i64>();
    let at = utc("2026-05-05T10:00:00Z");
    let gone = insert(&app.pool, area, reporter, (52.247, 6.157), at, "diefstal", "nieuw", None, None).await;
    let moved = insert(&app.pool, area, reporter, (52.247, 6.157), at, "diefstal", "nieuw", None, None).await;
    rollup::compact_all(&app.pool).await.unwrap();
    assert_eq!(total(&the_day).await, 2);
    sqlx::query("DELETE FROM incidents WHERE id = $1").bind(gone).execute(&app.pool).await.unwrap();
    sqlx::query("UPDATE incidents SET occurred_at = occurred_at - interval '40 days' WHERE id = $1")
        .bind(moved)
        .execute(&app.pool)
        .await
        .unwrap();
    rollup::compact_all(&app.pool).await.unwrap();
    assert_eq!(total(&the_day).await, 0, "the day's block is empty");
    let spring =
        Filter { from: day("2026-03-01"), until: day("2026-06-01"), categories: None, statuses: None };
    assert_eq!(total(&spring).await, 1);
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM heat_packs p
          WHERE NOT EXISTS (SELECT FROM heat_blocks b
                             WHERE (b.area_id, b.level, b.block) = (p.area_id, p.level, p.block))",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stale, 0, "packs of blocks that no longer exist");
}

/// A region view reads the same blocks of every member area, so the rebuild
/// lays the packs out block by block (ADR 0026): read in the table's own
/// order they come sorted by (level, block, area).
#[tokio::test]
async fn the_rebuild_lays_the_packs_out_block_by_block() {
    let app = TestApp::spawn().await;
    for name in ["Binnenstad Deventer", "Brink", "Stationskwartier"] {
        let area = app.area(name, DEVENTER).await;
        let reporter = app.device(area, Role::Beveiliger).await.person_id;
        for d in 0..12 {
            let at = utc("2026-05-01T10:00:00Z") + chrono::Duration::days(d * 3);
            insert(&app.pool, area, reporter, (52.247, 6.157), at, "diefstal", "nieuw", None, None).await;
        }
    }
    rollup::rebuild(&app.pool).await.unwrap();
    let laid_out: Vec<(i16, i32, Uuid)> =
        sqlx::query_as("SELECT level, block, area_id FROM heat_packs ORDER BY ctid")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(laid_out.len() > 3 * 12, "packs of every level: {}", laid_out.len());
    let back = laid_out.windows(2).filter(|w| w[0] > w[1]).count();
    assert_eq!(
        back,
        0,
        "{back} of {} packs lie after a pack of a later (level, block, area)",
        laid_out.len()
    );
}

/// A fold that commits while a resolution-7 reader is between its
/// statements (versions and deltas first, missing packs after) must not make
/// the reader count a folded delta twice or not at all: during each fold the
/// true total is fixed, and every read of it, over a random period so that
/// packs are read from the database, must give it.
#[tokio::test]
async fn reads_during_folds_count_every_incident_once() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let mut rng = StdRng::seed_from_u64(21);
    let first = day("2025-01-01");
    let (mut inserted, mut reads) = (0i64, 0usize);
    for _round in 0..25 {
        for _ in 0..12 {
            let at =
                (first + Duration::days(rng.random_range(0..400))).and_hms_opt(12, 0, 0).unwrap().and_utc();
            let category = *CATEGORIES.choose(&mut rng).unwrap();
            insert(&app.pool, area, reporter, random_point(&mut rng), at, category, "nieuw", None, None)
                .await;
            inserted += 1;
        }
        let folded = Arc::new(AtomicBool::new(false));
        let folding = tokio::spawn({
            let (pool, folded) = (app.pool.clone(), folded.clone());
            async move {
                rollup::compact_all(&pool).await.unwrap();
                folded.store(true, Ordering::SeqCst);
            }
        });
        let mut readers = vec![];
        for seed in 0..3u64 {
            let (pool, folded) = (app.pool.clone(), folded.clone());
            readers.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed);
                let mut seen = vec![];
                // Until the fold has committed, and once after.
                let mut last = false;
                while !last {
                    last = folded.load(Ordering::SeqCst);
                    // Everything, from a random day before the first incident.
                    let from = first - Duration::days(rng.random_range(1..200));
                    let f = Filter { from, until: day("2026-06-01"), categories: None, statuses: None };
                    let counts = rollup::cell_counts(&pool, area, Resolution::Seven, &f).await.unwrap();
                    seen.push(counts.iter().map(|c| c.1).sum::<i64>());
                }
                seen
            }));
        }
        for r in readers {
            for total in r.await.unwrap() {
                assert_eq!(total, inserted, "a read during a fold");
                reads += 1;
            }
        }
        folding.await.unwrap();
    }
    assert!(reads >= 25 * 3, "{reads} reads");
}

/// A fold rewrites the packs of the blocks holding the days it folded; a
/// server keeps the other packs of the area it holds in memory (ADR 0024),
/// and drops them all when a version has no log row (the rebuild's). Packs
/// spoiled in the database behind the server's back show which it read.
#[tokio::test]
async fn a_fold_keeps_the_packs_it_did_not_rewrite_in_memory() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let mut rng = StdRng::seed_from_u64(24);
    let first = day("2024-01-01");
    let mut ids = vec![];
    for _ in 0..40 {
        let at = (first + Duration::days(rng.random_range(0..700))).and_hms_opt(12, 0, 0).unwrap().and_utc();
        ids.push(
            insert(&app.pool, area, reporter, random_point(&mut rng), at, "diefstal", "nieuw", None, None)
                .await,
        );
    }
    rollup::compact_all(&app.pool).await.unwrap();
    let f = Filter { from: day("2023-12-20"), until: day("2026-06-01"), categories: None, statuses: None };
    let total = async || rollup_counts(&app.pool, area, Resolution::Seven, &f).await.values().sum::<i64>();
    assert_eq!(total().await, 40, "read once: the packs are in memory");
    // Every cell twice: a pack read from the database now counts double.
    sqlx::query("UPDATE heat_packs SET pack = pack || pack WHERE area_id = $1")
        .bind(area)
        .execute(&app.pool)
        .await
        .unwrap();
    // One report in 2026: its fold rewrites the blocks holding that day only.
    let at = utc("2026-03-03T10:00:00Z");
    insert(&app.pool, area, reporter, (52.247, 6.157), at, "vandalisme", "nieuw", None, None).await;
    rollup::compact_all(&app.pool).await.unwrap();
    assert_eq!(total().await, 41, "the new day read again, the years before kept in memory");
    // An incident gone without a fold (triggers off, as in a bulk load),
    // then the rebuild: a version without a log row, so everything is read.
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica").execute(&mut *conn).await.unwrap();
    for table in ["incident_status_history WHERE incident_id", "incidents WHERE id"] {
        let sql = format!("DELETE FROM {table} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids[0]).execute(&mut *conn).await.unwrap();
    }
    sqlx::query("SET session_replication_role = DEFAULT").execute(&mut *conn).await.unwrap();
    drop(conn);
    rollup::rebuild(&app.pool).await.unwrap();
    assert_eq!(total().await, 40, "after the rebuild nothing held is taken on trust");
}

#[tokio::test]
async fn incidents_stored_before_cells_existed_are_backfilled_into_the_rollup() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let at = utc("2026-05-05T10:00:00Z");
    let id = insert(&app.pool, area, reporter, (52.247, 6.157), at, "diefstal", "nieuw", None, None).await;
    sqlx::query("UPDATE incidents SET cell = NULL WHERE id = $1").bind(id).execute(&app.pool).await.unwrap();
    let f = Filter { from: day("2026-05-01"), until: day("2026-06-01"), categories: None, statuses: None };
    assert!(
        rollup_counts(&app.pool, area, Resolution::Ten, &f).await.is_empty(),
        "without a cell it does not count"
    );
    assert_eq!(rollup::backfill_cells(&app.pool).await.unwrap(), 1);
    assert_eq!(rollup_counts(&app.pool, area, Resolution::Ten, &f).await.values().sum::<i64>(), 1);
}

/// The look at every start reads the empty partial index, not every incident.
#[tokio::test]
async fn the_start_up_look_for_incidents_without_a_cell_reads_no_incident() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let at = utc("2026-05-05T10:00:00Z");
    let first = insert(&app.pool, area, reporter, (52.247, 6.157), at, "diefstal", "nieuw", None, None).await;
    sqlx::query(
        "INSERT INTO incidents (area_id, id, category, geom, occurred_at, reporter_id, status, request_hash, cell)
         SELECT area_id, gen_random_uuid(), category, geom, occurred_at, reporter_id, status, request_hash, cell
           FROM incidents, generate_series(1, 20000) WHERE id = $1",
    )
    .bind(first)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE incidents").execute(&app.pool).await.unwrap();
    let plan: serde_json::Value =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN (FORMAT JSON) {}", rollup::WITHOUT_CELL)))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let plan = plan.to_string();
    assert!(plan.contains("incidents_without_cell") && !plan.contains("Seq Scan"), "{plan}");
    assert_eq!(rollup::backfill_cells(&app.pool).await.unwrap(), 0);
}

async fn json(res: reqwest::Response) -> serde_json::Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_heatmap_is_valid_geojson_with_counts_where_the_reports_are() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let phone = app.device(area, Role::Beveiliger).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    // Through the API: three at the Brink, one further north.
    for (lat, lon) in [(52.247, 6.157), (52.247, 6.157), (52.2471, 6.1571), (52.2535, 6.1625)] {
        let mut r = report(area);
        r.location.lat = lat;
        r.location.lon = lon;
        assert_eq!(app.post(&phone.token, "/api/v1/incidents", &r).await.status(), 201);
    }
    // Without a resolution the server chooses by the map's zoom and the period.
    for (query, resolution) in
        [("zoom=11", 8), ("zoom=12.5", 9), ("zoom=16", 10), ("", 10), ("zoom=16&from=2021-01-01", 8)]
    {
        let b = json(app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/heatmap?{query}")).await).await;
        assert_eq!(b["resolution"], resolution, "{query}");
        assert_eq!(b["total"], 4, "{query}");
    }
    let res = app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/heatmap?resolution=10")).await;
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let body = json(res).await;
    let fc: geojson::FeatureCollection =
        serde_json::from_value(body.clone()).expect("a GeoJSON FeatureCollection");
    assert_eq!(body["total"], 4);
    let mut counts = vec![];
    let mut share = 0.0;
    for f in &fc.features {
        let Some(geojson::GeometryValue::Polygon { coordinates }) = f.geometry.as_ref().map(|g| &g.value)
        else {
            panic!("a polygon")
        };
        let ring: Vec<[f64; 2]> = coordinates[0].iter().map(|p| [p[0], p[1]]).collect();
        assert!(ring.len() >= 4 && ring.first() == ring.last(), "closed ring");
        assert!(
            cells::signed_area(&ring) > 0.0,
            "exterior ring counter-clockwise (RFC 7946 right-hand rule)"
        );
        assert!(
            ring.iter().all(|p| (6.0..6.3).contains(&p[0]) && (52.0..52.5).contains(&p[1])),
            "lon, lat order"
        );
        let props = f.properties.as_ref().unwrap();
        counts.push(props["count"].as_i64().unwrap());
        share += props["share"].as_f64().unwrap();
        let cell: h3o::CellIndex = props["cell"].as_str().unwrap().parse().unwrap();
        assert_eq!(u8::from(cell.resolution()), 10);
    }
    assert_eq!(counts, vec![3, 1], "busiest first");
    assert!((share - 1.0).abs() < 1e-3);
    // The weighted-point form for a heatmap layer.
    let body = json(
        app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/heatmap?resolution=10&shape=points")).await,
    )
    .await;
    let fc: geojson::FeatureCollection = serde_json::from_value(body).unwrap();
    let weights: Vec<f64> =
        fc.features.iter().map(|f| f.properties.as_ref().unwrap()["weight"].as_f64().unwrap()).collect();
    assert_eq!(weights, vec![1.0, 0.3333]);
    assert!(matches!(fc.features[0].geometry.as_ref().unwrap().value, geojson::GeometryValue::Point { .. }));
    // Filters: a category with nothing, a status with everything.
    let body =
        json(app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/heatmap?category=graffiti")).await)
            .await;
    assert_eq!(body["features"].as_array().unwrap().len(), 0);
    let body = json(
        app.get(
            &werkgroep.token,
            &format!("/api/v1/areas/{area}/heatmap?status=nieuw&theme=criminaliteit&dimension=veilig"),
        )
        .await,
    )
    .await;
    assert_eq!(body["total"], 4);
}

#[tokio::test]
async fn ondernemers_see_only_cells_of_three_or_more_and_no_single_incidents() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let guard = app.device(area, Role::Beveiliger).await;
    let shop = app.device(area, Role::Ondernemer).await;
    let mut ids = vec![];
    for (lat, lon, n) in [(52.247, 6.157, 5), (52.2535, 6.1625, 2), (52.2510, 6.1600, 1)] {
        for _ in 0..n {
            let mut r = report(area);
            r.location.lat = lat;
            r.location.lon = lon;
            ids.push(r.id);
            assert_eq!(app.post(&guard.token, "/api/v1/incidents", &r).await.status(), 201);
        }
    }
    let heat = |token: String| {
        let app = &app;
        async move { json(app.get(&token, &format!("/api/v1/areas/{area}/heatmap?resolution=11")).await).await }
    };
    let full = heat(guard.token.clone()).await;
    let counts = |b: &serde_json::Value| -> Vec<i64> {
        b["features"].as_array().unwrap().iter().map(|f| f["properties"]["count"].as_i64().unwrap()).collect()
    };
    assert_eq!(counts(&full), vec![5, 2, 1]);
    let agg = heat(shop.token.clone()).await;
    assert_eq!(counts(&agg), vec![5], "cells of 1 and 2 are suppressed");
    assert_eq!(agg["total"], 5);

    // Tiles hold single incidents: the guard gets them, the ondernemer none at any zoom
    // (the heatmap above is where its cells come from).
    let (x, y) = lonlat_tile(6.157, 52.247, 17);
    let guard_tile =
        app.get(&guard.token, &format!("/api/v1/areas/{area}/tiles/17/{x}/{y}")).await.bytes().await.unwrap();
    assert!(contains(&guard_tile, b"incidents") && contains(&guard_tile, ids[0].to_string().as_bytes()));
    for z in [12, 16, 17, 22] {
        let (x, y) = lonlat_tile(6.157, 52.247, z);
        let res = app.get(&shop.token, &format!("/api/v1/areas/{area}/tiles/{z}/{x}/{y}")).await;
        assert!([403, 422].contains(&res.status().as_u16()), "zoom {z}: {}", res.status());
        let body = res.bytes().await.unwrap();
        assert!(ids.iter().all(|id| !contains(&body, id.to_string().as_bytes())));
    }

    // The analysis hides small counts; exports of single incidents are refused.
    let a: Analysis = serde_json::from_value(
        json(app.get(&shop.token, &format!("/api/v1/areas/{area}/analysis")).await).await,
    )
    .unwrap();
    assert_eq!(a.totals.current, Some(8));
    assert!(a.hour_weekday.iter().flatten().all(|c| c.is_none() || c.unwrap() >= 3));
    let res = app.get(&shop.token, &format!("/api/v1/areas/{area}/export/incidents.csv")).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn lonlat_tile(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let l = lat.to_radians();
    let y = ((1.0 - (l.tan() + 1.0 / l.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

#[tokio::test]
async fn tiles_have_etags_and_change_when_incidents_land() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let guard = app.device(area, Role::Beveiliger).await;
    assert_eq!(app.post(&guard.token, "/api/v1/incidents", &report(area)).await.status(), 201);
    let (x, y) = lonlat_tile(6.157, 52.247, 17);
    let path = format!("/api/v1/areas/{area}/tiles/17/{x}/{y}");
    let res = app.get(&guard.token, &path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/vnd.mapbox-vector-tile");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("no-cache"));
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let first = res.bytes().await.unwrap();
    assert!(!first.is_empty() && first.len() < 500 * 1024 && contains(&first, b"incidents"));
    let again = app
        .client
        .get(app.url(&path))
        .bearer_auth(&guard.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // A new report lands (not yet compacted): the tile is made again.
    assert_eq!(app.post(&guard.token, "/api/v1/incidents", &report(area)).await.status(), 201);
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&guard.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let etag2 = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(etag, etag2);
    // Compaction changes the version too, but not the content.
    rollup::compact_all(&app.pool).await.unwrap();
    let res = app.get(&guard.token, &path).await;
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag2);
    // A tile far away is empty, not an error.
    let (fx, fy) = lonlat_tile(4.9, 52.37, 17);
    let res = app.get(&guard.token, &format!("/api/v1/areas/{area}/tiles/17/{fx}/{fy}")).await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn absurd_and_malformed_requests_get_a_clear_problem() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let w = app.device(area, Role::Werkgroep).await;
    // 400: the request cannot be read (an unknown enum value); 422: a value or
    // a combination of values breaks a rule.
    for (path, field, status) in [
        (
            format!("/api/v1/areas/{area}/heatmap?resolution=11&from=2016-01-01&to=2025-12-31"),
            "resolution",
            422,
        ),
        (format!("/api/v1/areas/{area}/heatmap?from=2010-01-01&to=2025-12-31&resolution=7"), "from", 422),
        (format!("/api/v1/areas/{area}/heatmap?resolution=12"), "resolution", 422),
        (format!("/api/v1/areas/{area}/heatmap?category=ufo"), "category", 422),
        (format!("/api/v1/areas/{area}/heatmap?theme=ufo"), "theme", 400),
        (format!("/api/v1/areas/{area}/heatmap?dimension=nat"), "dimension", 400),
        (format!("/api/v1/areas/{area}/heatmap?status=kwijt"), "status", 400),
        (format!("/api/v1/areas/{area}/heatmap?shape=squares"), "shape", 400),
        (format!("/api/v1/areas/{area}/heatmap?from=2026-02-01&to=2026-01-01"), "from", 422),
        (format!("/api/v1/areas/{area}/tiles/25/0/0"), "z", 422),
        (format!("/api/v1/areas/{area}/tiles/3/9/0"), "x", 422),
        (format!("/api/v1/areas/{area}/tiles/14/8472/5393"), "z", 422),
        (format!("/api/v1/areas/{area}/heatmap?zoom=40"), "zoom", 422),
        (format!("/api/v1/areas/{area}/analysis?compare=baseline"), "compare", 422),
        (
            format!(
                "/api/v1/areas/{area}/analysis?compare=baseline&baseline_from=2026-01-01&baseline_to=2026-12-31&from=2026-03-01&to=2026-03-31"
            ),
            "baseline_from",
            422,
        ),
        (format!("/api/v1/areas/{area}/analysis?compare=sometimes"), "compare", 400),
        (format!("/api/v1/areas/{area}/export/incidents.csv?category=ufo"), "category", 422),
    ] {
        let res = app.get(&w.token, &path).await;
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = res.json().await.unwrap();
        assert_eq!(p["field"], field, "{path}: {p}");
        assert!(!p["detail"].as_str().unwrap().is_empty());
    }
    // Unparseable values and unknown parameters are problems as well.
    for path in [
        format!("/api/v1/areas/{area}/heatmap?from=gisteren"),
        format!("/api/v1/areas/{area}/heatmap?zoom_level=3"),
        format!("/api/v1/areas/{area}/tiles/300/0/0"),
    ] {
        let res = app.get(&w.token, &path).await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
}

#[tokio::test]
async fn no_aggregate_reaches_another_area() {
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad Deventer", DEVENTER).await;
    let b = app.area("Lage Weide", LAGE_WEIDE).await;
    let in_a = app.device(a, Role::Werkgroep).await;
    let in_b = app.device(b, Role::Werkgroep).await;
    assert_eq!(app.post(&in_a.token, "/api/v1/incidents", &report(a)).await.status(), 201);
    let (x, y) = lonlat_tile(6.157, 52.247, 17);
    for path in [
        format!("/api/v1/areas/{a}/heatmap"),
        format!("/api/v1/areas/{a}/tiles/17/{x}/{y}"),
        format!("/api/v1/areas/{a}/analysis"),
        format!("/api/v1/areas/{a}/export/incidents.csv"),
        format!("/api/v1/areas/{a}/export/incidents.geojson"),
        format!("/api/v1/areas/{a}/export/analysis.json"),
    ] {
        assert_eq!(app.get(&in_a.token, &path).await.status(), 200, "{path}");
        let res = app.get(&in_b.token, &path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(!res.text().await.unwrap().contains("Winkeldiefstal"));
        assert_eq!(app.client.get(app.url(&path)).send().await.unwrap().status(), 401, "{path} anonymously");
    }
}

/// A small data set whose analysis is worked out by hand (see the comments).
#[tokio::test]
async fn the_analysis_of_a_hand_made_data_set() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let brink = kvo_server::admin::on_server::zone(
        &app.pool,
        area,
        "Brink",
        &areas::parse_polygon_geojson(BRINK_ZONE).unwrap(),
    )
    .await
    .unwrap();
    areas::set_baseline(&app.pool, area, Some((day("2026-02-01"), day("2026-02-28")))).await.unwrap();
    let w = app.device(area, Role::Werkgroep).await;
    let p = &app.pool;
    let (in_brink, outside) = ((52.247, 6.157), (52.252, 6.162));
    let h = |at: &str, hours: i64| Some(utc(at) + Duration::hours(hours));
    // Period 2 to 29 March 2026 (four weeks; summer time starts on the 29th).
    // Tuesday 3 March 14:30 (UTC+1): three thefts in the Brink, resolved after 10, 20 and 30 hours.
    for hours in [10, 20, 30] {
        insert(
            p,
            area,
            w.person_id,
            in_brink,
            utc("2026-03-03T13:30:00Z"),
            "diefstal",
            "opgelost",
            Some(brink),
            h("2026-03-03T13:30:00Z", hours),
        )
        .await;
    }
    // Saturday 7 March 23:15: two graffiti outside any zone, new.
    for _ in 0..2 {
        insert(p, area, w.person_id, outside, utc("2026-03-07T22:15:00Z"), "graffiti", "nieuw", None, None)
            .await;
    }
    // Sunday 29 March 03:30 summer time (01:30 UTC): a broken lamp in the Brink, in progress.
    insert(
        p,
        area,
        w.person_id,
        in_brink,
        utc("2026-03-29T01:30:00Z"),
        "kapotte_verlichting",
        "in_behandeling",
        Some(brink),
        None,
    )
    .await;
    // Monday 30 March 00:30 summer time is after the period.
    insert(p, area, w.person_id, outside, utc("2026-03-29T22:30:00Z"), "graffiti", "nieuw", None, None).await;
    // Previous period (2 Feb to 1 March): four thefts in the Brink resolved after 40 hours ...
    for _ in 0..4 {
        insert(
            p,
            area,
            w.person_id,
            in_brink,
            utc("2026-02-10T09:00:00Z"),
            "diefstal",
            "opgelost",
            Some(brink),
            h("2026-02-10T09:00:00Z", 40),
        )
        .await;
    }
    // ... and vandalism at 23:30 on Sunday 1 March, its last day.
    insert(
        p,
        area,
        w.person_id,
        in_brink,
        utc("2026-03-01T22:30:00Z"),
        "vandalisme",
        "nieuw",
        Some(brink),
        None,
    )
    .await;

    let a: Analysis = serde_json::from_value(
        json(
            app.get(&w.token, &format!("/api/v1/areas/{area}/analysis?from=2026-03-02&to=2026-03-29")).await,
        )
        .await,
    )
    .unwrap();
    assert_eq!((a.period.from, a.period.to), (day("2026-03-02"), day("2026-03-29")));
    assert_eq!((a.comparison.from, a.comparison.to), (day("2026-02-02"), day("2026-03-01")));
    assert_eq!((a.totals.current, a.totals.comparison, a.totals.change), (Some(6), Some(5), Some(1)));
    assert_eq!(a.totals.change_pct, Some(20.0));
    type Row = (String, String, Option<i64>, Option<i64>, Option<f64>);
    let rows: Vec<Row> = a
        .by_theme
        .iter()
        .map(|r| {
            let code = |v: serde_json::Value| v.as_str().unwrap_or("-").to_string();
            (
                code(serde_json::to_value(r.theme).unwrap()),
                code(serde_json::to_value(r.dimension).unwrap()),
                r.counts.current,
                r.counts.comparison,
                r.counts.change_pct,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("criminaliteit".into(), "heel".into(), Some(1), Some(1), Some(0.0)),
            ("criminaliteit".into(), "veilig".into(), Some(3), Some(4), Some(-25.0)),
            ("overlast".into(), "schoon".into(), Some(2), Some(0), None),
        ]
    );
    let zones: Vec<(Option<String>, Option<i64>, Option<i64>)> =
        a.by_zone.iter().map(|r| (r.zone_name.clone(), r.counts.current, r.counts.comparison)).collect();
    assert_eq!(
        zones,
        vec![
            (Some("Brink".into()), Some(1), Some(1)),
            (Some("Brink".into()), Some(3), Some(4)),
            (None, Some(2), Some(0))
        ]
    );
    // Monday first: Tuesday 14h, Saturday 23h, Sunday 03h.
    let mut nonzero = vec![];
    for (d, row) in a.hour_weekday.iter().enumerate() {
        for (hour, c) in row.iter().enumerate() {
            if c.unwrap() > 0 {
                nonzero.push((d, hour, c.unwrap()));
            }
        }
    }
    assert_eq!(nonzero, vec![(1, 14, 3), (5, 23, 2), (6, 3, 1)]);
    let weekly: Vec<(NaiveDate, i64)> = a.weekly.iter().map(|w| (w.week_start, w.count.unwrap())).collect();
    assert_eq!(
        weekly,
        vec![(day("2026-03-02"), 5), (day("2026-03-09"), 0), (day("2026-03-16"), 0), (day("2026-03-23"), 1)]
    );
    assert_eq!((a.follow_up.open, a.follow_up.resolved, a.follow_up.rejected), (Some(3), Some(3), Some(0)));
    // Medians are estimated within one resolution class (4.4 %): 20 and 40 hours.
    let median = a.follow_up.median_hours_to_resolution.unwrap();
    assert!((19.2..=20.9).contains(&median), "median {median} h");
    let median = a.follow_up.comparison_median_hours_to_resolution.unwrap();
    assert!((38.3..=41.8).contains(&median), "comparison median {median} h");
    assert!(a.hotspots.is_empty(), "six incidents make no significant cluster: {:?}", a.hotspots);

    // Against the nul-meting instead (February, set before the first request).
    let url = format!("/api/v1/areas/{area}/analysis?from=2026-03-02&to=2026-03-29&compare=baseline");
    let a: Analysis = serde_json::from_value(json(app.get(&w.token, &url).await).await).unwrap();
    assert_eq!(a.comparison_kind, kvo_api::analysis::ComparisonKind::Baseline);
    assert_eq!((a.comparison.from, a.comparison.to), (day("2026-02-01"), day("2026-02-28")));
    assert_eq!(a.totals.comparison, Some(4), "the vandalism of 1 March is outside February");

    // A real cluster: 30 incidents in one spot in January, 8 spread around.
    for i in 0..30 {
        insert(
            p,
            area,
            w.person_id,
            (52.2531 + f64::from(i % 3) * 0.00002, 6.1621),
            utc("2026-01-10T12:00:00Z"),
            "diefstal",
            "nieuw",
            None,
            None,
        )
        .await;
    }
    for (k, (lat, lon)) in [
        (52.2455, 6.1555),
        (52.2465, 6.1645),
        (52.2545, 6.1555),
        (52.2490, 6.1600),
        (52.2500, 6.1645),
        (52.2455, 6.1600),
        (52.2520, 6.1560),
        (52.2470, 6.1620),
    ]
    .into_iter()
    .enumerate()
    {
        insert(
            p,
            area,
            w.person_id,
            (lat, lon),
            utc("2026-01-11T12:00:00Z") + Duration::hours(k as i64),
            "zwerfvuil",
            "nieuw",
            None,
            None,
        )
        .await;
    }
    let a: Analysis = serde_json::from_value(
        json(
            app.get(
                &w.token,
                &format!("/api/v1/areas/{area}/analysis?from=2026-01-01&to=2026-01-31&resolution=10"),
            )
            .await,
        )
        .await,
    )
    .unwrap();
    let cluster =
        cells::from_db(cells::cell_of(52.2531, 6.1621).unwrap()).unwrap().parent(Resolution::Ten).unwrap();
    // Gi* judges neighbourhoods: the cluster's cell and its six neighbours all
    // stand out, and nothing else does.
    let hot = a.hotspots.iter().find(|h| h.cell == cluster.to_string()).expect("the cluster is a hotspot");
    assert_eq!(hot.count, Some(30));
    assert!(hot.z > 3.0 && hot.p < 0.01 && hot.confidence == Some(99), "{hot:?}");
    for h in &a.hotspots {
        let c: h3o::CellIndex = h.cell.parse().unwrap();
        assert!(c.grid_distance(cluster).unwrap() <= 1, "{h:?} is not next to the cluster");
    }
    assert!(a.hotspots.iter().all(|h| h.z > 0.0));
}

#[tokio::test]
async fn exports_open_in_dutch_excel_and_as_geojson() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let w = app.device(area, Role::Werkgroep).await;
    let mut r = report(area);
    r.description = Some("Ruit ingegooid; \"flinke\" schade\n=SUM(A1)".into());
    r.occurred_at = Utc::now() - Duration::hours(1);
    assert_eq!(app.post(&w.token, "/api/v1/incidents", &r).await.status(), 201);
    assert_eq!(app.post(&w.token, "/api/v1/incidents", &report(area)).await.status(), 201);
    let res = app.get(&w.token, &format!("/api/v1/areas/{area}/export/incidents.csv")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"kvo-meldingen-")
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut lines = text.split("\r\n");
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    assert_eq!(header[..4], ["id", "datum", "tijd", "categorie"]);
    assert!(text.contains(";Diefstal / winkeldiefstal;criminaliteit;veilig;Nieuw;"), "{text}");
    assert!(
        text.contains("\"Ruit ingegooid; \"\"flinke\"\" schade\n=SUM(A1)\""),
        "quoted, with doubled quotes: {text}"
    );
    let today = nl_time::local_date(r.occurred_at).format("%d-%m-%Y").to_string();
    assert!(text.contains(&format!(";{today};")), "Dutch date {today}: {text}");
    assert!(text.contains(";52,247000;6,157000;"), "decimal commas: {text}");
    assert_eq!(text.matches(&r.id.to_string()).count(), 1);
    assert_eq!(text.trim_end().split("\r\n").count(), 3, "a header and two rows");

    let res =
        app.get(&w.token, &format!("/api/v1/areas/{area}/export/incidents.geojson?category=diefstal")).await;
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let fc: geojson::FeatureCollection = res.json().await.unwrap();
    assert_eq!(fc.features.len(), 2);
    let f = fc.features.iter().find(|f| f.properties.as_ref().unwrap()["id"] == r.id.to_string()).unwrap();
    let Some(geojson::GeometryValue::Point { coordinates }) = f.geometry.as_ref().map(|g| &g.value) else {
        panic!()
    };
    assert_eq!((coordinates[0], coordinates[1]), (6.157, 52.247));
    let res = app.get(&w.token, &format!("/api/v1/areas/{area}/export/analysis.json")).await;
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("kvo-analyse-"));
    let a: Analysis = res.json().await.unwrap();
    assert_eq!(a.totals.current, Some(2));
}

/// The fan-out's helpers must inline: a function call in the rebuild's GROUP BY
/// made its sorts about three times slower (a stable date_trunc had kept
/// `kvo_bucket` from inlining).
#[tokio::test]
async fn the_rollup_fan_out_helpers_inline() {
    let app = TestApp::spawn().await;
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN VERBOSE SELECT kvo_bucket('m', day), kvo_bucket('d', day),
                kvo_margin_key('w', 1, week_hour, resolution_class) FROM heat_delta",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("date_trunc"), "{plan}");
    assert!(!plan.contains("kvo_bucket") && !plan.contains("kvo_margin_key"), "not inlined:\n{plan}");
}

/// Regression (issue 18): with a narrow filter the median time to resolution
/// was one incident's exact value, shown to an ondernemer. It is suppressed
/// like a count of the incidents it rests on.
#[tokio::test]
async fn an_ondernemer_never_sees_a_median_of_fewer_than_three_incidents() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let shop = app.device(area, Role::Ondernemer).await;
    let analysis = |token: String| {
        let app = &app;
        async move {
            let v = json(app.get(&token, &format!("/api/v1/areas/{area}/analysis?category=graffiti")).await)
                .await;
            serde_json::from_value::<Analysis>(v).unwrap().follow_up.median_hours_to_resolution
        }
    };
    let at = Utc::now() - Duration::days(2);
    let resolved = |hours: i64| Some(at + Duration::hours(hours));
    for (i, hours) in [5, 7].into_iter().enumerate() {
        let p = (52.247 + i as f64 * 0.001, 6.157);
        insert(&app.pool, area, werkgroep.person_id, p, at, "graffiti", "opgelost", None, resolved(hours))
            .await;
    }
    // Many other reports do not lift it: only the resolved ones it rests on count.
    for _ in 0..5 {
        insert(&app.pool, area, werkgroep.person_id, (52.25, 6.16), at, "graffiti", "nieuw", None, None)
            .await;
    }
    assert!(analysis(werkgroep.token.clone()).await.is_some(), "the werkgroep sees it");
    assert_eq!(analysis(shop.token.clone()).await, None, "two resolved incidents: suppressed");
    insert(
        &app.pool,
        area,
        werkgroep.person_id,
        (52.249, 6.157),
        at,
        "graffiti",
        "opgelost",
        None,
        resolved(6),
    )
    .await;
    let median = analysis(shop.token.clone()).await.expect("three: shown");
    assert!((5.5..=6.5).contains(&median), "{median}");
}

/// Every whole number in a JSON answer, with the key it sits under.
fn whole_numbers<'a>(v: &'a serde_json::Value, key: &'a str, out: &mut Vec<(String, i64)>) {
    match v {
        serde_json::Value::Number(n) if n.is_i64() => {
            out.push((key.to_string(), n.as_i64().unwrap_or_default()))
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| whole_numbers(x, key, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| whole_numbers(x, k, out)),
        _ => {}
    }
}

/// Issue 18: over random small data sets, no count between 1 and 2 ever
/// reaches an ondernemer — not in the heatmap at any resolution or zoom, not
/// in any field of the analysis (with or without filters); tiles and exports
/// are refused outright. Integers that are not counts (`hotspot_resolution`,
/// a `change` between two shown counts) are the only exceptions.
#[tokio::test]
async fn no_small_count_ever_reaches_an_ondernemer() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    kvo_server::admin::on_server::zone(
        &app.pool,
        area,
        "Brink",
        &areas::parse_polygon_geojson(BRINK_ZONE).unwrap(),
    )
    .await
    .unwrap();
    let shop = app.device(area, Role::Ondernemer).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let mut rng = StdRng::seed_from_u64(18);
    let statuses = ["nieuw", "in_behandeling", "opgelost", "afgewezen"];
    let mut checked = 0;
    for round in 0..6 {
        // A handful of incidents more each round, clustered so that cells of 1, 2, 3 and more occur.
        for _ in 0..rng.random_range(2..7) {
            let spot = [(52.2470, 6.1570), (52.2471, 6.1572), (52.2530, 6.1620), (52.2500, 6.1600)]
                .choose(&mut rng)
                .copied()
                .unwrap_or((52.25, 6.16));
            let at = Utc::now() - Duration::hours(rng.random_range(1..24 * 25));
            let status = *statuses.choose(&mut rng).unwrap();
            let resolved = (status == "opgelost").then(|| at + Duration::hours(rng.random_range(1..100)));
            let category = *CATEGORIES.choose(&mut rng).unwrap();
            insert(&app.pool, area, reporter, spot, at, category, status, None, resolved).await;
        }
        let filters =
            ["", "&category=graffiti", "&theme=criminaliteit", "&dimension=schoon", "&status=opgelost"];
        for filter in filters {
            let mut paths = vec![format!("/api/v1/areas/{area}/analysis?compare=previous{filter}")];
            for res in 7..=11 {
                paths.push(format!("/api/v1/areas/{area}/heatmap?resolution={res}{filter}"));
            }
            for zoom in [11.0, 13.0, 15.0, 17.5] {
                paths.push(format!("/api/v1/areas/{area}/heatmap?zoom={zoom}{filter}"));
            }
            for path in paths {
                let res = app.get(&shop.token, &path).await;
                assert_eq!(res.status(), 200, "round {round}: {path}");
                let body: serde_json::Value = res.json().await.unwrap();
                let mut numbers = vec![];
                whole_numbers(&body, "", &mut numbers);
                for (key, n) in numbers {
                    if key == "hotspot_resolution" || key == "change" {
                        continue;
                    }
                    assert!(n == 0 || n >= 3, "round {round}: {key} = {n} in {path}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} numbers checked");
    for path in [
        format!("/api/v1/areas/{area}/export/incidents.csv"),
        format!("/api/v1/areas/{area}/export/incidents.geojson"),
        format!("/api/v1/areas/{area}/tiles/16/33772/21539"),
    ] {
        assert_eq!(app.get(&shop.token, &path).await.status(), 403, "{path}");
    }
}

/// Issue 18, upgrades with data: a database populated at each earlier schema
/// version (0003, before the rollup, to 0009) and then migrated to today
/// counts exactly what a brute-force count of its rows says, at every
/// resolution and filter, and the API answers as for fresh data.
#[tokio::test]
async fn a_populated_database_of_every_earlier_version_upgrades_to_the_same_counts() {
    let latest = kvo_server::db::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    for version in 3..latest {
        let (pool, _) = kvo_tests::empty_database().await;
        kvo_server::db::MIGRATOR.run_to(version, &pool).await.unwrap_or_else(|e| panic!("to {version}: {e}"));
        // Rows as the code of that version wrote them: only the columns 0003 had.
        let (area, person) = (Uuid::new_v4(), Uuid::new_v4());
        sqlx::query(
            "INSERT INTO areas (id, name, kind, boundary) VALUES ($1, 'Oud', 'kvo_w', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)))",
        )
        .bind(area)
        .bind(DEVENTER)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO people (id, display_name) VALUES ($1, 'Oude melder')")
            .bind(person)
            .execute(&pool)
            .await
            .unwrap();
        for (i, code) in CATEGORIES.iter().enumerate() {
            sqlx::query(
                "INSERT INTO categories (area_id, code, label_nl, label_en, theme, sort_order)
                 VALUES ($1, $2, $2, $2, 'overlast', $3)",
            )
            .bind(area)
            .bind(code)
            .bind(i as i32)
            .execute(&pool)
            .await
            .unwrap();
        }
        for _ in 0..60 {
            let (lat, lon) = (rng.random_range(52.2455..52.2545), rng.random_range(6.1555..6.1645));
            let at = utc("2026-03-01T00:00:00Z") + Duration::hours(rng.random_range(0..24 * 90));
            let status = *["nieuw", "in_behandeling", "opgelost", "afgewezen"].choose(&mut rng).unwrap();
            sqlx::query(
                "INSERT INTO incidents (area_id, id, category, geom, occurred_at, reporter_id, status, request_hash)
                 VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, '\\x00')",
            )
            .bind(area)
            .bind(Uuid::new_v4())
            .bind(*CATEGORIES.choose(&mut rng).unwrap())
            .bind(lon)
            .bind(lat)
            .bind(at)
            .bind(person)
            .bind(status)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("at {version}: {e}"));
        }
        // What `kvo serve` does at start-up: migrate, then fill in what older versions lacked.
        kvo_server::db::MIGRATOR.run(&pool).await.unwrap_or_else(|e| panic!("from {version}: {e}"));
        rollup::backfill_cells(&pool).await.unwrap();
        let all =
            Filter { from: day("2026-01-01"), until: day("2026-12-31"), categories: None, statuses: None };
        let filters = [
            all.clone(),
            Filter { categories: Some(vec!["graffiti".into(), "diefstal".into()]), ..all.clone() },
            Filter { statuses: Some(vec![kvo_api::status::IncidentStatus::Opgelost]), ..all.clone() },
            Filter { from: day("2026-04-01"), until: day("2026-05-01"), ..all.clone() },
        ];
        for f in &filters {
            for res in [Resolution::Seven, Resolution::Nine, Resolution::Eleven] {
                let (rolled, counted) =
                    (rollup_counts(&pool, area, res, f).await, brute_force(&pool, area, res, f).await);
                assert_eq!(rolled, counted, "from version {version}, {res:?}, {f:?}");
            }
        }
        // The API on the upgraded database.
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&pool).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = kvo_server::config::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
        let app = TestApp::start(pool, dir, config).await;
        let guard = app.device(area, Role::Beveiliger).await;
        let heat = json(
            app.get(
                &guard.token,
                &format!("/api/v1/areas/{area}/heatmap?resolution=9&from=2026-01-01&to=2026-12-30"),
            )
            .await,
        )
        .await;
        assert_eq!(heat["total"].as_i64(), Some(total), "from version {version}: {heat}");
    }
}

/// Issue 18, several workers at once: two compactors folding while reports
/// arrive never apply a delta twice or lose one: the rollup equals a
/// brute-force count.
#[tokio::test]
async fn two_compactors_at_once_count_every_report_once() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let reporter = app.device(area, Role::Beveiliger).await.person_id;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let compactors: Vec<_> = (0..2)
        .map(|_| {
            let (pool, stop) = (app.pool.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut folded, mut rounds) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    folded += rollup::compact(&pool).await.unwrap();
                    rounds += 1;
                }
                (folded, rounds)
            })
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(5);
    let statuses = ["nieuw", "in_behandeling", "opgelost"];
    let mut ids = vec![];
    for _ in 0..300 {
        let p = (rng.random_range(52.2455..52.2545), rng.random_range(6.1555..6.1645));
        let at = Utc::now() - Duration::hours(rng.random_range(1..24 * 20));
        let status = *statuses.choose(&mut rng).unwrap();
        ids.push(
            insert(
                &app.pool,
                area,
                reporter,
                p,
                at,
                CATEGORIES.choose(&mut rng).unwrap(),
                status,
                None,
                None,
            )
            .await,
        );
        // Some change status while they are folded (a delta out of one cell-key, into another).
        if rng.random_bool(0.2) {
            let id = *ids.choose(&mut rng).unwrap();
            sqlx::query("UPDATE incidents SET status = 'afgewezen' WHERE id = $1")
                .bind(id)
                .execute(&app.pool)
                .await
                .unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut folded = 0;
    for c in compactors {
        let (n, rounds) = c.await.unwrap();
        assert!(rounds > 0);
        folded += n;
    }
    assert!(folded > 0, "they did fold while reports arrived");
    rollup::compact_all(&app.pool).await.unwrap();
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM heat_delta").fetch_one(&app.pool).await.unwrap();
    assert_eq!(pending, 0);
    let f = Filter {
        from: nl_time::today() - Duration::days(30),
        until: nl_time::today() + Duration::days(1),
        categories: None,
        statuses: None,
    };
    for res in [Resolution::Seven, Resolution::Ten, Resolution::Eleven] {
        assert_eq!(
            rollup_counts(&app.pool, area, res, &f).await,
            brute_force(&app.pool, area, res, &f).await,
            "{res:?}"
        );
    }
    let f = Filter { statuses: Some(vec![kvo_api::status::IncidentStatus::Afgewezen]), ..f };
    assert_eq!(
        rollup_counts(&app.pool, area, Resolution::Nine, &f).await,
        brute_force(&app.pool, area, Resolution::Nine, &f).await
    );
}
