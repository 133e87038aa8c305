//! The rounds an area agreed with its security company, and compliance
//! against them over a period (the computation is `compliance.rs`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime};
use kvo_api::rounds::{Compliance, NewRoundAgreement, RoundAgreement};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    PatrolError,
    compliance::{PatrolScans, compliance},
    may_administer, may_read_rounds,
};
use crate::{auth::Principal, error::Error};

/// The most nights one compliance request covers.
pub const MAX_NIGHTS: i64 = 92;

/// Stores an agreement: it must hold on its own, name only the area's
/// checkpoints, and its window may not overlap another of the area's.
pub async fn create(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    req: NewRoundAgreement,
) -> Result<RoundAgreement, PatrolError> {
    may_administer(p.access(area_id)?.role)?;
    insert(pool, area_id, req).await
}

/// Stores an agreement after the checks of [`create`] (also `kvo round agree`).
pub async fn insert(
    pool: &PgPool,
    area_id: Uuid,
    mut req: NewRoundAgreement,
) -> Result<RoundAgreement, PatrolError> {
    req.name = req.name.trim().to_string();
    req.check()?;
    let mut tx = pool.begin().await?;
    // One agreement at a time per area, so two overlapping ones cannot both pass.
    sqlx::query!("SELECT id FROM areas WHERE id = $1 FOR UPDATE", area_id).fetch_one(&mut *tx).await?;
    let known: Vec<Uuid> = sqlx::query_scalar!(
        "SELECT id FROM checkpoints WHERE area_id = $1 AND id = ANY($2) AND archived_at IS NULL",
        area_id,
        &req.checkpoints
    )
    .fetch_all(&mut *tx)
    .await?;
    if let Some(unknown) = req.checkpoints.iter().find(|c| !known.contains(c)) {
        return Err(PatrolError::UnknownCheckpoint(*unknown));
    }
    for other in read(&mut *tx, area_id).await? {
        if other.terms.overlaps(&req) {
            return Err(PatrolError::Overlaps(other.terms.name));
        }
    }
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO round_agreements (area_id, id, name, window_start, window_end, rounds,
                                       min_gap_minutes, max_round_minutes, checkpoint_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        area_id,
        id,
        req.name,
        req.window_start,
        req.window_end,
        req.rounds as i32,
        req.min_gap_minutes as i32,
        req.max_round_minutes as i32,
        &req.checkpoints
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RoundAgreement { id, area_id, terms: req })
}

/// The area's agreements by window start.
async fn read(db: impl sqlx::PgExecutor<'_>, area_id: Uuid) -> Result<Vec<RoundAgreement>, Error> {
    Ok(sqlx::query!(
        "SELECT id, name, window_start, window_end, rounds, min_gap_minutes, max_round_minutes, checkpoint_ids
           FROM round_agreements WHERE area_id = $1 ORDER BY window_start, name",
        area_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| RoundAgreement {
        id: r.id,
        area_id,
        terms: NewRoundAgreement {
            name: r.name,
            window_start: r.window_start,
            window_end: r.window_end,
            rounds: r.rounds as u32,
            min_gap_minutes: r.min_gap_minutes as u32,
            max_round_minutes: r.max_round_minutes as u32,
            checkpoints: r.checkpoint_ids,
        },
    })
    .collect())
}

/// The area's agreements, for those who may read rounds.
pub async fn list(pool: &PgPool, p: &Principal, area_id: Uuid) -> Result<Vec<RoundAgreement>, PatrolError> {
    may_read_rounds(p.access(area_id)?.role)?;
    Ok(read(pool, area_id).await?)
}

/// Agreements of an area, without a permission check (for the round report).
pub(crate) async fn of_area(pool: &PgPool, area_id: Uuid) -> Result<Vec<RoundAgreement>, Error> {
    read(pool, area_id).await
}

/// Ends an agreement. Compliance is computed on request, so its past
/// nights are no longer reported either.
pub async fn delete(pool: &PgPool, p: &Principal, area_id: Uuid, id: Uuid) -> Result<(), PatrolError> {
    may_administer(p.access(area_id)?.role)?;
    let n = sqlx::query!("DELETE FROM round_agreements WHERE area_id = $1 AND id = $2", area_id, id)
        .execute(pool)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound.into());
    }
    Ok(())
}

/// Compliance with every agreement of the area over the nights `from..=to`.
pub async fn report(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Compliance, PatrolError> {
    may_read_rounds(p.access(area_id)?.role)?;
    super::period(from, to, MAX_NIGHTS)?;
    let agreements = read(pool, area_id).await?;
    // Every counted scan from the first night's evening to the morning after
    // the last (a day either side covers any window and the time zone).
    let since = (from - Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    let until = (to + Duration::days(3)).and_time(NaiveTime::MIN).and_utc();
    let rows = sqlx::query!(
        r#"SELECT s.patrol_id AS "patrol_id!", pa.guard_id, s.checkpoint_id, s.scanned_at
             FROM checkpoint_scans s JOIN patrols pa ON pa.area_id = s.area_id AND pa.id = s.patrol_id
            WHERE s.area_id = $1 AND s.scanned_at >= $2 AND s.scanned_at < $3
              AND NOT s.far AND NOT s.outside_patrol"#,
        area_id,
        since,
        until
    )
    .fetch_all(pool)
    .await?;
    let mut patrols: BTreeMap<Uuid, PatrolScans> = BTreeMap::new();
    for r in rows {
        patrols
            .entry(r.patrol_id)
            .or_insert_with(|| PatrolScans { patrol_id: r.patrol_id, guard_id: r.guard_id, scans: vec![] })
            .scans
            .push((r.checkpoint_id, r.scanned_at));
    }
    let patrols: Vec<PatrolScans> = patrols.into_values().collect();
    Ok(Compliance {
        area_id,
        from,
        to,
        agreements: agreements.iter().map(|a| compliance(a, from, to, &patrols)).collect(),
    })
}
