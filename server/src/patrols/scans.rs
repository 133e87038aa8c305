//! A guard scans a checkpoint's tag. The scan comes through the phone's
//! offline queue like a report: idempotent on the phone's id. A scan far from
//! its checkpoint, or not during a patrol of its guard, is stored flagged.

use chrono::{SubsecRound, Utc};
use kvo_api::{
    Location,
    rounds::{NewScan, Scan, is_far, normalize_tag},
    validate::check_occurred_at,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{PatrolError, may_patrol, rename_field};
use crate::{auth::Principal, error::Error};

/// Records a scan; `true` when it is new, `false` for a retry of the same scan.
pub async fn record(pool: &PgPool, p: &Principal, req: NewScan) -> Result<(bool, Scan), PatrolError> {
    let access = p.access(req.area_id)?;
    may_patrol(access.role)?;
    let pos = Location::new(req.position.lat, req.position.lon, req.position.accuracy_m)?;
    let scanned_at = req.scanned_at.trunc_subsecs(6);
    check_occurred_at(scanned_at, Utc::now()).map_err(|e| rename_field(e, "scanned_at"))?;
    let tag = normalize_tag(&req.tag);

    let checkpoint = sqlx::query!(
        r#"SELECT area_id, id, name, archived_at IS NOT NULL AS "archived!",
                  ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography) AS "distance_m!"
             FROM checkpoints WHERE tag = $1"#,
        tag,
        pos.lon(),
        pos.lat()
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| PatrolError::UnknownTag(kvo_api::validate::shown(&req.tag)))?;
    if checkpoint.area_id != req.area_id {
        return Err(PatrolError::TagOtherArea(tag));
    }
    if checkpoint.archived {
        return Err(PatrolError::CheckpointArchived(checkpoint.name));
    }

    let outside_patrol = match req.patrol_id {
        None => true,
        Some(patrol_id) => {
            let patrol = sqlx::query!(
                "SELECT started_at, ended_at FROM patrols WHERE area_id = $1 AND id = $2 AND guard_id = $3",
                req.area_id,
                patrol_id,
                access.person_id
            )
            .fetch_optional(pool)
            .await?
            .ok_or(PatrolError::UnknownPatrol(patrol_id))?;
            scanned_at < patrol.started_at || patrol.ended_at.is_some_and(|end| scanned_at > end)
        }
    };
    let far = is_far(checkpoint.distance_m, pos.accuracy_m());

    let inserted = sqlx::query!(
        "INSERT INTO checkpoint_scans (area_id, id, checkpoint_id, guard_id, patrol_id, scanned_at, geom,
                                       accuracy_m, distance_m, far, outside_patrol)
         VALUES ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326), $9, $10, $11, $12)
         ON CONFLICT (area_id, id) DO NOTHING",
        req.area_id,
        req.id,
        checkpoint.id,
        access.person_id,
        req.patrol_id,
        scanned_at,
        pos.lon(),
        pos.lat(),
        pos.accuracy_m().map(|a| a as f32),
        checkpoint.distance_m as f32,
        far,
        outside_patrol
    )
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let scan = Scan {
            id: req.id,
            checkpoint_id: checkpoint.id,
            checkpoint_name: checkpoint.name,
            guard_id: access.person_id,
            patrol_id: req.patrol_id,
            scanned_at,
            distance_m: f64::from(checkpoint.distance_m as f32),
            far,
            outside_patrol,
        };
        return Ok((true, scan));
    }
    // A retry, or another scan under this id: what was stored decides.
    let scan = get(pool, req.area_id, req.id).await?;
    let same = scan.checkpoint_id == checkpoint.id
        && scan.guard_id == access.person_id
        && scan.scanned_at == scanned_at
        && scan.patrol_id == req.patrol_id;
    if !same {
        return Err(PatrolError::ScanIdTaken(req.id));
    }
    Ok((false, scan))
}

/// One stored scan.
async fn get(pool: &PgPool, area_id: Uuid, id: Uuid) -> Result<Scan, Error> {
    sqlx::query_as!(
        Scan,
        r#"SELECT s.id, s.checkpoint_id, c.name AS checkpoint_name, s.guard_id, s.patrol_id,
                  s.scanned_at, s.distance_m::float8 AS "distance_m!", s.far, s.outside_patrol
             FROM checkpoint_scans s JOIN checkpoints c ON c.area_id = s.area_id AND c.id = s.checkpoint_id
            WHERE s.area_id = $1 AND s.id = $2"#,
        area_id,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)
}

/// A patrol's scans in time order.
pub async fn of_patrol(pool: &PgPool, area_id: Uuid, patrol_id: Uuid) -> Result<Vec<Scan>, Error> {
    Ok(sqlx::query_as!(
        Scan,
        r#"SELECT s.id, s.checkpoint_id, c.name AS checkpoint_name, s.guard_id, s.patrol_id,
                  s.scanned_at, s.distance_m::float8 AS "distance_m!", s.far, s.outside_patrol
             FROM checkpoint_scans s JOIN checkpoints c ON c.area_id = s.area_id AND c.id = s.checkpoint_id
            WHERE s.area_id = $1 AND s.patrol_id = $2 ORDER BY s.scanned_at, s.id"#,
        area_id,
        patrol_id
    )
    .fetch_all(pool)
    .await?)
}
