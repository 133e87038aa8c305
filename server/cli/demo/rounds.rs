//! The demo's rounds: six checkpoints per area on a loop, the agreed night
//! rounds, and eight weeks of patrols walking (or driving) the loop with a
//! route point every 10 s and a scan at each checkpoint. Mostly as agreed;
//! now and then a round is skipped, a checkpoint missed, a scan made from too
//! far away, or a round started late — what a werkgroep would discuss.
//!
//! Checkpoints and the agreement go through the same rules as the API; the
//! patrols are written in bulk, then ended as `patrols::end` ends them (route
//! line, passes counted once).

use chrono::{DateTime, Duration, NaiveTime, Utc};
use geo::{Distance, Haversine, Point};
use kvo_api::rounds::{NewCheckpoint, NewRoundAgreement, is_far};
use rand::{Rng, rngs::StdRng};
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::{
    analytics::cells,
    areas::AreaCache,
    nl_time,
    patrols::{self, agreements, checkpoints},
};

/// One area's round: the loop's checkpoints (name, lon, lat), the window, the
/// rounds per night and the guard's speed in m/s.
pub struct Plan {
    pub name: &'static str,
    pub stops: &'static [(&'static str, f64, f64)],
    pub window: (u32, u32),
    pub rounds: u32,
    pub speed: f64,
}

pub const DEVENTER: Plan = Plan {
    name: "Nachtrondes binnenstad",
    stops: &[
        ("Brink (Waag)", 6.1592, 52.2512),
        ("Stadhuis", 6.1600, 52.2490),
        ("Bergkerk", 6.1548, 52.2494),
        ("Lange Bisschopstraat", 6.1570, 52.2548),
        ("Nieuwe Markt", 6.1612, 52.2540),
        ("Achter de Muren", 6.1635, 52.2515),
    ],
    window: (22, 6),
    rounds: 3,
    speed: 1.3,
};

pub const LAGE_WEIDE: Plan = Plan {
    name: "Nachtsurveillance terrein",
    stops: &[
        ("Poort Zuid", 5.0650, 52.1050),
        ("Kanaalweg 12", 5.0700, 52.1130),
        ("Nijverheidsweg Noord", 5.0800, 52.1160),
        ("Haven 3", 5.0870, 52.1110),
        ("Overslag", 5.0850, 52.1020),
        ("Containerterrein", 5.0720, 52.0990),
    ],
    window: (21, 6),
    rounds: 4,
    speed: 6.0,
};

/// The nights of demo rounds, back from last night.
const NIGHTS: i64 = 56;

/// Creates the checkpoints and the agreement, and the patrols of the last
/// [`NIGHTS`] nights by `guard`. Returns the number of patrols.
pub async fn seed(
    pool: &PgPool,
    rng: &mut StdRng,
    area_id: Uuid,
    guard: Uuid,
    plan: &Plan,
) -> anyhow::Result<usize> {
    let cache = AreaCache::default();
    let mut stops = vec![];
    for &(name, lon, lat) in plan.stops {
        let c =
            checkpoints::insert(pool, &cache, area_id, NewCheckpoint { name: name.into(), lat, lon }).await?;
        stops.push((c.id, Point::new(lon, lat)));
    }
    let (open, close) = plan.window;
    let terms = NewRoundAgreement {
        name: plan.name.into(),
        window_start: NaiveTime::from_hms_opt(open, 0, 0).expect("an hour"),
        window_end: NaiveTime::from_hms_opt(close, 0, 0).expect("an hour"),
        rounds: plan.rounds,
        min_gap_minutes: 90,
        max_round_minutes: 60,
        checkpoints: stops.iter().map(|s| s.0).collect(),
    };
    let window_minutes = i64::from(terms.window_minutes());
    agreements::insert(pool, area_id, terms).await?;

    let today = nl_time::today();
    let mut patrols = 0;
    for back in (1..=NIGHTS).rev() {
        let night = today - Duration::days(back);
        // The window's opening as an instant (Dutch time, whatever the season).
        let local_open = night.and_hms_opt(open, 0, 0).expect("an hour").and_utc();
        let opens = local_open - Duration::hours(nl_time::offset_hours(local_open));
        let rounds = if rng.random::<f64>() < 0.08 { plan.rounds - 1 } else { plan.rounds };
        let slot = window_minutes / i64::from(plan.rounds);
        for r in 0..rounds {
            let mut start = opens + Duration::minutes(slot * i64::from(r) + rng.random_range(0..slot / 4));
            let chance: f64 = rng.random();
            if chance < 0.03 {
                start -= Duration::minutes(slot * i64::from(r) + 40); // started before the window
            } else if chance < 0.06 && r + 1 == rounds {
                start = opens + Duration::minutes(window_minutes - 20); // finishes after the window
            }
            walk(pool, rng, area_id, guard, &stops, start, plan.speed).await?;
            patrols += 1;
        }
    }
    Ok(patrols)
}

/// A scan a simulated guard makes.
pub struct Scan {
    pub checkpoint: Uuid,
    pub at: DateTime<Utc>,
    pub phone: Point<f64>,
    pub accuracy: f64,
    pub far: bool,
}

/// One patrol around the loop from `start`: points every 10 s, a scan at each
/// checkpoint (sometimes missed, sometimes from too far), then ended.
async fn walk(
    pool: &PgPool,
    rng: &mut StdRng,
    area_id: Uuid,
    guard: Uuid,
    stops: &[(Uuid, Point<f64>)],
    start: DateTime<Utc>,
    speed: f64,
) -> anyhow::Result<()> {
    let mut points = vec![];
    let mut scans: Vec<Scan> = vec![];
    let mut t = start;
    let mut pause = Duration::zero();
    for (i, &(checkpoint, at)) in stops.iter().enumerate() {
        // The scan at this checkpoint, unless it is skipped.
        if rng.random::<f64>() >= 0.015 {
            let offset =
                if rng.random::<f64>() < 0.01 { 0.0012 } else { rng.random_range(-0.00005..0.00005) };
            let phone = Point::new(at.x() + offset, at.y() + rng.random_range(-0.00005..0.00005));
            let distance = Haversine.distance(phone, at);
            let accuracy = rng.random_range(3.0..15.0);
            let far = is_far(distance, Some(accuracy));
            scans.push(Scan { checkpoint, at: t + pause, phone, accuracy, far });
        }
        pause += Duration::seconds(rng.random_range(20..90));
        let next = stops[(i + 1) % stops.len()].1;
        let leg = Haversine.distance(at, next);
        let steps = (leg / (speed * 10.0)).ceil().max(1.0) as i32;
        for s in 0..steps {
            let f = f64::from(s) / f64::from(steps);
            points.push((t + pause, at.x() + (next.x() - at.x()) * f, at.y() + (next.y() - at.y()) * f));
            t += Duration::seconds(10);
        }
    }
    store(pool, area_id, guard, start, &points, &scans, t + pause).await
}

/// Writes one simulated patrol — its route points `(at, lon, lat)` and its
/// scans — in bulk, then ends it as the API does (`patrols::close`: route
/// line, coverage passes). The demo and `bench rounds` both use it.
pub async fn store(
    pool: &PgPool,
    area_id: Uuid,
    guard: Uuid,
    start: DateTime<Utc>,
    points: &[(DateTime<Utc>, f64, f64)],
    scans: &[Scan],
    end: DateTime<Utc>,
) -> anyhow::Result<()> {
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO patrols (area_id, id, guard_id, started_at) VALUES ($1, $2, $3, $4)")
        .bind(area_id)
        .bind(id)
        .bind(guard)
        .bind(start)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO patrol_points (area_id, patrol_id, at, geom, cell)
         SELECT $1, $2, at, ST_SetSRID(ST_MakePoint(lon, lat), 4326), cell
           FROM unnest($3::timestamptz[], $4::float8[], $5::float8[], $6::int8[]) AS u(at, lon, lat, cell)",
    )
    .bind(area_id)
    .bind(id)
    .bind(points.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.1).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.2).collect::<Vec<_>>())
    .bind(points.iter().map(|p| cells::cell_of(p.2, p.1)).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO checkpoint_scans (area_id, id, checkpoint_id, guard_id, patrol_id, scanned_at, geom,
                                       accuracy_m, distance_m, far, outside_patrol)
         SELECT $1, gen_random_uuid(), u.cp, $2, $3, u.at, p, u.acc, ST_Distance(p::geography, c.geom::geography),
                u.far, false
           FROM unnest($4::uuid[], $5::timestamptz[], $6::float8[], $7::float8[], $8::real[], $9::bool[])
                AS u(cp, at, lon, lat, acc, far)
          CROSS JOIN LATERAL ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS p
           JOIN checkpoints c ON c.area_id = $1 AND c.id = u.cp",
    )
    .bind(area_id)
    .bind(guard)
    .bind(id)
    .bind(scans.iter().map(|s| s.checkpoint).collect::<Vec<_>>())
    .bind(scans.iter().map(|s| s.at).collect::<Vec<_>>())
    .bind(scans.iter().map(|s| s.phone.x()).collect::<Vec<_>>())
    .bind(scans.iter().map(|s| s.phone.y()).collect::<Vec<_>>())
    .bind(scans.iter().map(|s| s.accuracy as f32).collect::<Vec<_>>())
    .bind(scans.iter().map(|s| s.far).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    patrols::close(&mut tx, area_id, id, end).await?;
    tx.commit().await?;
    Ok(())
}
