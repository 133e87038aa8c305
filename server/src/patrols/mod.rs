//! The collectieve beveiliger's work: patrols (start, idempotent on the
//! phone's id; route points, idempotent on their time; end), checkpoints and
//! their scans, the agreed rounds, compliance against them, and the round
//! report of a patrol.

pub mod agreements;
pub mod checkpoints;
pub mod compliance;
pub mod coverage;
pub mod report;
pub mod scans;

use chrono::{DateTime, SubsecRound, Utc};
use kvo_api::{
    Location, Role, ValidationError,
    validate::check_occurred_at,
    wire::{NewPatrol, Patrol, RoutePoints},
};
use uuid::Uuid;

use sqlx::PgPool;

use crate::{
    auth::Principal,
    error::{Error, Result, module_error},
};

/// Why a request about patrols, checkpoints or rounds is refused.
#[derive(Debug, thiserror::Error)]
pub enum PatrolError {
    #[error("only guards patrol")]
    NotAGuard,
    #[error("patrol {0} already exists")]
    IdTaken(Uuid),
    #[error("patrol {0} has ended")]
    Ended(Uuid),
    #[error("{sent} points in one request, at most {max}")]
    TooManyPoints { sent: usize, max: usize },
    #[error("only the beheerder sets up checkpoints and rounds")]
    NotBeheerder,
    #[error("rounds are not shown to this role")]
    RoundsHidden,
    #[error("scan {0} already exists, with different data")]
    ScanIdTaken(Uuid),
    #[error("no checkpoint has tag {0:?}")]
    UnknownTag(String),
    #[error("tag {0:?} belongs to another area")]
    TagOtherArea(String),
    #[error("checkpoint {0:?} is archived")]
    CheckpointArchived(String),
    #[error("patrol {0} is not one of this guard's")]
    UnknownPatrol(Uuid),
    #[error("checkpoint {0} is not one of this area's")]
    UnknownCheckpoint(Uuid),
    #[error(transparent)]
    Agreement(#[from] kvo_api::rounds::AgreementProblem),
    #[error("the window overlaps agreement {0:?}")]
    Overlaps(String),
    #[error("period from {from} to {to} is empty or longer than {max} nights")]
    Period { from: chrono::NaiveDate, to: chrono::NaiveDate, max: i64 },
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(PatrolError);

/// The most route points one request may carry.
pub const MAX_POINTS_PER_REQUEST: usize = 5_000;

pub(crate) fn may_patrol(role: Role) -> Result<(), PatrolError> {
    match role {
        Role::Beveiliger | Role::Werkgroep | Role::Beheerder | Role::Politie => Ok(()),
        _ => Err(PatrolError::NotAGuard),
    }
}

/// The days `from..=to`, at most `max` of them; returns the day after `to`.
pub(crate) fn period(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    max: i64,
) -> Result<chrono::NaiveDate, PatrolError> {
    if to < from || (to - from).num_days() + 1 > max {
        return Err(PatrolError::Period { from, to, max });
    }
    Ok(to + chrono::Duration::days(1))
}

/// Checkpoints and agreements are the beheerder's to set up.
pub(crate) fn may_administer(role: Role) -> Result<(), PatrolError> {
    if role.administers() { Ok(()) } else { Err(PatrolError::NotBeheerder) }
}

/// Rounds, routes and compliance are for the werkgroep, the partners and the
/// guards; an ondernemer sees none of them.
pub(crate) fn may_read_rounds(role: Role) -> Result<(), PatrolError> {
    if role.sees_all_incidents() { Ok(()) } else { Err(PatrolError::RoundsHidden) }
}

/// Starts a patrol; a retry with the same id returns it unchanged.
pub async fn start(pool: &PgPool, p: &Principal, req: NewPatrol) -> Result<(bool, Patrol), PatrolError> {
    let access = p.access(req.area_id)?;
    may_patrol(access.role)?;
    let started_at = req.started_at.trunc_subsecs(6);
    check_occurred_at(started_at, Utc::now()).map_err(|e| rename_field(e, "started_at"))?;
    let inserted = sqlx::query(
        "INSERT INTO patrols (area_id, id, guard_id, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (area_id, id) DO NOTHING",
    )
    .bind(req.area_id)
    .bind(req.id)
    .bind(access.person_id)
    .bind(started_at)
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    let patrol = get(pool, p, req.id).await?;
    if !inserted && (patrol.guard_id != access.person_id || patrol.started_at != started_at) {
        return Err(PatrolError::IdTaken(req.id));
    }
    Ok((inserted, patrol))
}

pub(crate) fn rename_field(e: ValidationError, field: &'static str) -> ValidationError {
    match e {
        ValidationError::OccurredInFuture { .. } => {
            ValidationError::Other { field, reason: "lies in the future", reason_nl: "ligt in de toekomst" }
        }
        ValidationError::OccurredTooLongAgo => ValidationError::Other {
            field,
            reason: "lies more than a year back",
            reason_nl: "ligt meer dan een jaar terug",
        },
        other => other,
    }
}

/// The patrol's area, if the principal is its guard and it is still open.
async fn own_open_patrol(pool: &PgPool, p: &Principal, id: Uuid) -> Result<Uuid, PatrolError> {
    let areas: Vec<Uuid> = p.areas().map(|a| a.area_id).collect();
    let row = sqlx::query!(
        "SELECT area_id, guard_id, ended_at FROM patrols WHERE id = $1 AND area_id = ANY($2)",
        id,
        &areas
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    if row.guard_id != p.person_id {
        return Err(Error::NotFound.into());
    }
    if row.ended_at.is_some() {
        return Err(PatrolError::Ended(id));
    }
    Ok(row.area_id)
}

/// Appends route points; points already stored (same time) are skipped.
pub async fn add_points(
    pool: &PgPool,
    p: &Principal,
    id: Uuid,
    req: RoutePoints,
) -> Result<Patrol, PatrolError> {
    if req.points.len() > MAX_POINTS_PER_REQUEST {
        return Err(PatrolError::TooManyPoints { sent: req.points.len(), max: MAX_POINTS_PER_REQUEST });
    }
    let area_id = own_open_patrol(pool, p, id).await?;
    let (mut lons, mut lats, mut ats, mut cells) = (vec![], vec![], vec![], vec![]);
    for pt in &req.points {
        let loc = Location::new(pt.lat, pt.lon, None)?;
        lons.push(loc.lon());
        lats.push(loc.lat());
        ats.push(pt.at);
        cells.push(crate::analytics::cells::cell_of(loc.lat(), loc.lon()));
    }
    sqlx::query(
        "INSERT INTO patrol_points (area_id, patrol_id, at, geom, cell)
         SELECT $1, $2, at, ST_SetSRID(ST_MakePoint(lon, lat), 4326), cell
           FROM unnest($3::float8[], $4::float8[], $5::timestamptz[], $6::int8[]) AS u(lon, lat, at, cell)
         ON CONFLICT DO NOTHING",
    )
    .bind(area_id)
    .bind(id)
    .bind(&lons)
    .bind(&lats)
    .bind(&ats)
    .bind(&cells)
    .execute(pool)
    .await?;
    Ok(get(pool, p, id).await?)
}

/// Ends a patrol, stores its route line and counts its passes for coverage, once.
pub async fn end(
    pool: &PgPool,
    p: &Principal,
    id: Uuid,
    ended_at: DateTime<Utc>,
) -> Result<Patrol, PatrolError> {
    let area_id = match own_open_patrol(pool, p, id).await {
        Err(PatrolError::Ended(_)) => return Ok(get(pool, p, id).await?), // already ended: idempotent
        other => other?,
    };
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "SELECT started_at, ended_at FROM patrols WHERE area_id = $1 AND id = $2 FOR UPDATE",
        area_id,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if row.started_at > ended_at {
        return Err(PatrolError::from(ValidationError::Other {
            field: "ended_at",
            reason: "lies before the start",
            reason_nl: "ligt voor het begin",
        }));
    }
    // Ended by a concurrent request meanwhile: that one counted the passes.
    if row.ended_at.is_none() {
        close(&mut tx, area_id, id, ended_at).await?;
    }
    tx.commit().await?;
    Ok(get(pool, p, id).await?)
}

/// What ending a patrol does, in the caller's transaction: the end time, the
/// route line from the points, and its passes counted for coverage. Call it
/// once per patrol (`end` and the demo do).
pub async fn close(
    tx: &mut sqlx::PgConnection,
    area_id: Uuid,
    id: Uuid,
    ended_at: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE patrols SET ended_at = $3,
                route = (SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(geom ORDER BY at) END
                           FROM patrol_points WHERE area_id = $1 AND patrol_id = $2)
          WHERE area_id = $1 AND id = $2",
        area_id,
        id,
        ended_at
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("SELECT kvo_count_passes($1, $2)", area_id, id).execute(&mut *tx).await?;
    Ok(())
}

/// A patrol with its route, for those who may read rounds (its guard, the
/// werkgroep, the partners; not an ondernemer).
pub async fn read(pool: &PgPool, p: &Principal, id: Uuid) -> Result<Patrol, PatrolError> {
    let patrol = get(pool, p, id).await?;
    may_read_rounds(p.access(patrol.area_id)?.role)?;
    Ok(patrol)
}

/// A patrol with its route (stored, or built from the points so far).
pub async fn get(pool: &PgPool, p: &Principal, id: Uuid) -> Result<Patrol> {
    let areas: Vec<Uuid> = p.areas().map(|a| a.area_id).collect();
    let r = sqlx::query!(
        r#"SELECT pa.id, pa.area_id, pa.guard_id, pa.started_at, pa.ended_at,
                (SELECT count(*) FROM patrol_points pp
                  WHERE pp.area_id = pa.area_id AND pp.patrol_id = pa.id) AS "point_count!",
                ST_AsGeoJSON(COALESCE(pa.route,
                    (SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(geom ORDER BY at) END
                       FROM patrol_points pp WHERE pp.area_id = pa.area_id AND pp.patrol_id = pa.id)), 7) AS route
           FROM patrols pa WHERE pa.id = $1 AND pa.area_id = ANY($2)"#,
        id,
        &areas
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    let route = r.route.map(|g| serde_json::from_str(&g)).transpose().map_err(anyhow::Error::from)?;
    Ok(Patrol {
        id: r.id,
        area_id: r.area_id,
        guard_id: r.guard_id,
        started_at: r.started_at,
        ended_at: r.ended_at,
        point_count: r.point_count,
        route,
    })
}
