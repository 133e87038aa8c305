//! What the werkgroep's map shows of the rounds: coverage against risk per
//! cell (how often patrols passed where incidents occurred), the routes of a
//! period, and each checkpoint's hit rate.

use std::collections::HashMap;

use chrono::NaiveDate;
use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use kvo_api::rounds::{CheckpointHits, HourBand};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{PatrolError, may_read_rounds};
use crate::{analytics::cells, auth::Principal};

/// The longest period the coverage map covers.
pub const MAX_COVERAGE_DAYS: i64 = 366;
/// The longest period whose routes are drawn at once.
pub const MAX_ROUTE_DAYS: i64 = 31;

/// Per coverage cell (H3 resolution 10) in `from..=to`, optionally one hour
/// band: incidents and patrol passes, exact (folded counts plus the pending
/// deltas), as GeoJSON hexagons. `unreached` marks cells with incidents and
/// no pass.
pub async fn cells(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    band: Option<HourBand>,
) -> Result<FeatureCollection, PatrolError> {
    may_read_rounds(p.access(area_id)?.role)?;
    let until = super::period(from, to, MAX_COVERAGE_DAYS)?;
    let rows = sqlx::query!(
        r#"SELECT cell AS "cell!", sum(incidents)::int8 AS "incidents!", sum(passes)::int8 AS "passes!" FROM (
               SELECT cell, incidents, passes FROM coverage_counts
                WHERE area_id = $1 AND day >= $2 AND day < $3 AND ($4::int2 IS NULL OR band = $4)
               UNION ALL
               SELECT kvo_coverage_cell(cell), n, 0 FROM heat_delta
                WHERE area_id = $1 AND day >= $2 AND day < $3
                  AND ($4::int2 IS NULL OR kvo_hour_band(week_hour) = $4)
           ) s GROUP BY cell HAVING sum(incidents) > 0 OR sum(passes) > 0"#,
        area_id,
        from,
        until,
        band.map(HourBand::index)
    )
    .fetch_all(pool)
    .await?;
    let mut rows: Vec<_> = rows
        .into_iter()
        .filter_map(|r| Some((cells::from_db(r.cell)?, r.incidents.max(0), r.passes)))
        .collect();
    rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (mut incidents, mut unreached) = (0, 0);
    let features = rows
        .iter()
        .map(|&(cell, n, passes)| {
            incidents += n;
            unreached += i64::from(n > 0 && passes == 0) * n;
            let mut props = JsonObject::new();
            props.insert("cell".into(), json!(cell.to_string()));
            props.insert("incidents".into(), json!(n));
            props.insert("passes".into(), json!(passes));
            props.insert("unreached".into(), json!(n > 0 && passes == 0));
            Feature {
                bbox: None,
                geometry: Some(Geometry::new(GeometryValue::Polygon {
                    coordinates: vec![cells::ring(cell).into_iter().map(Into::into).collect()],
                })),
                id: None,
                properties: Some(props),
                foreign_members: None,
            }
        })
        .collect();
    let mut meta = JsonObject::new();
    meta.insert("from".into(), json!(from));
    meta.insert("to".into(), json!(to));
    meta.insert("band".into(), json!(band));
    meta.insert("incidents".into(), json!(incidents));
    meta.insert("incidents_unreached".into(), json!(unreached));
    Ok(FeatureCollection { bbox: None, features, foreign_members: Some(meta) })
}

/// The routes of the patrols that started in `from..=to` (Dutch days), as
/// GeoJSON lines with the guard, times and number of scans.
pub async fn routes(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<FeatureCollection, PatrolError> {
    may_read_rounds(p.access(area_id)?.role)?;
    let until = super::period(from, to, MAX_ROUTE_DAYS)?;
    let rows = sqlx::query!(
        r#"SELECT pa.id, pe.display_name, pa.started_at, pa.ended_at,
                  (SELECT count(*) FROM checkpoint_scans s WHERE s.area_id = pa.area_id AND s.patrol_id = pa.id)
                      AS "scans!",
                  ST_AsGeoJSON(ST_Simplify(pa.route, 0.00001), 6) AS "route!"
             FROM patrols pa JOIN people pe ON pe.id = pa.guard_id
            WHERE pa.area_id = $1 AND pa.route IS NOT NULL
              AND kvo_local_day(pa.started_at) >= $2 AND kvo_local_day(pa.started_at) < $3
            ORDER BY pa.started_at"#,
        area_id,
        from,
        until
    )
    .fetch_all(pool)
    .await?;
    let mut features = Vec::with_capacity(rows.len());
    for r in rows {
        let geometry: Geometry = r.route.parse().map_err(anyhow::Error::from)?;
        let mut props = JsonObject::new();
        props.insert("patrol_id".into(), json!(r.id));
        props.insert("guard".into(), json!(r.display_name));
        props.insert("started_at".into(), json!(r.started_at));
        props.insert("ended_at".into(), json!(r.ended_at));
        props.insert("scans".into(), json!(r.scans));
        features.push(Feature {
            bbox: None,
            geometry: Some(geometry),
            id: None,
            properties: Some(props),
            foreign_members: None,
        });
    }
    Ok(FeatureCollection { bbox: None, features, foreign_members: None })
}

/// Every active checkpoint with its hit rate over `from..=to`.
pub async fn hits(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CheckpointHits>, PatrolError> {
    let list = super::checkpoints::list(pool, p, area_id, false).await?;
    let until = super::period(from, to, MAX_COVERAGE_DAYS)?;
    let days_hit: HashMap<Uuid, i64> = sqlx::query!(
        r#"SELECT checkpoint_id, count(DISTINCT kvo_local_day(scanned_at)) AS "days!" FROM checkpoint_scans
            WHERE area_id = $1 AND NOT far AND NOT outside_patrol
              AND scanned_at >= ($2::date - 1)::timestamptz AND scanned_at < ($3::date + 1)::timestamptz
              AND kvo_local_day(scanned_at) >= $2 AND kvo_local_day(scanned_at) < $3
            GROUP BY checkpoint_id"#,
        area_id,
        from,
        until
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.checkpoint_id, r.days))
    .collect();
    let days = (until - from).num_days();
    Ok(list
        .into_iter()
        .map(|c| {
            let hit = days_hit.get(&c.id).copied().unwrap_or(0);
            CheckpointHits { checkpoint: c, days, days_hit: hit, hit_rate: hit as f64 / days as f64 }
        })
        .collect())
}
