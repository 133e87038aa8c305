//! The round report of one patrol: route, duration, distance, checkpoints
//! hit and missed, and what was reported on the way.

use std::collections::HashSet;

use chrono::Utc;
use kvo_api::rounds::{CheckpointRef, Finding, PatrolReport};
use sqlx::PgPool;
use uuid::Uuid;

use super::{PatrolError, agreements, compliance::night_of, may_read_rounds, scans};
use crate::{auth::Principal, error::Error, nl_time};

/// The report of patrol `id`, for those who may read rounds.
pub async fn of_patrol(pool: &PgPool, p: &Principal, id: Uuid) -> Result<PatrolReport, PatrolError> {
    let patrol = super::get(pool, p, id).await?;
    let area_id = patrol.area_id;
    may_read_rounds(p.access(area_id)?.role)?;
    let facts = sqlx::query!(
        r#"SELECT pe.display_name,
                  COALESCE(ST_Length(COALESCE(pa.route,
                      (SELECT ST_MakeLine(geom ORDER BY at) FROM patrol_points pp
                        WHERE pp.area_id = pa.area_id AND pp.patrol_id = pa.id))::geography), 0) AS "distance_m!"
             FROM patrols pa JOIN people pe ON pe.id = pa.guard_id
            WHERE pa.area_id = $1 AND pa.id = $2"#,
        area_id,
        id
    )
    .fetch_one(pool)
    .await?;
    let scans = scans::of_patrol(pool, area_id, id).await?;

    let agreement = agreements::of_area(pool, area_id)
        .await?
        .into_iter()
        .find(|a| night_of(a, nl_time::local(patrol.started_at)).is_some());
    let checkpoints = sqlx::query!(
        "SELECT id, name FROM checkpoints WHERE area_id = $1 AND (archived_at IS NULL OR id = ANY($2))
          ORDER BY name",
        area_id,
        &scans.iter().map(|s| s.checkpoint_id).collect::<Vec<_>>()
    )
    .fetch_all(pool)
    .await?;
    let hit: HashSet<Uuid> = scans.iter().filter(|s| !s.far).map(|s| s.checkpoint_id).collect();
    let expected: Vec<CheckpointRef> = match &agreement {
        Some(a) => a
            .terms
            .checkpoints
            .iter()
            .filter_map(|c| checkpoints.iter().find(|r| r.id == *c))
            .map(|r| CheckpointRef { id: r.id, name: r.name.clone() })
            .collect(),
        None => checkpoints.iter().map(|r| CheckpointRef { id: r.id, name: r.name.clone() }).collect(),
    };
    let (checkpoints_hit, checkpoints_missed) = expected.into_iter().partition(|c| hit.contains(&c.id));

    let findings = sqlx::query!(
        r#"SELECT i.id, i.category, i.occurred_at, ST_Y(i.geom) AS "lat!", ST_X(i.geom) AS "lon!", i.description,
                  COALESCE(array_agg(ph.id ORDER BY ph.id) FILTER (WHERE ph.id IS NOT NULL), '{}') AS "photo_ids!"
             FROM incidents i LEFT JOIN photos ph ON ph.area_id = i.area_id AND ph.incident_id = i.id
            WHERE i.area_id = $1 AND i.patrol_id = $2
            GROUP BY i.area_id, i.id ORDER BY i.occurred_at, i.id"#,
        area_id,
        id
    )
    .fetch_all(pool)
    .await
    .map_err(Error::from)?
    .into_iter()
    .map(|r| Finding {
        incident_id: r.id,
        category: r.category,
        occurred_at: r.occurred_at,
        lat: r.lat,
        lon: r.lon,
        description: r.description,
        photo_ids: r.photo_ids,
    })
    .collect();

    let duration_s = (patrol.ended_at.unwrap_or_else(Utc::now) - patrol.started_at).num_seconds().max(0);
    Ok(PatrolReport {
        guard_name: facts.display_name,
        duration_s,
        distance_m: facts.distance_m,
        agreement,
        scans,
        checkpoints_hit,
        checkpoints_missed,
        findings,
        patrol,
    })
}
