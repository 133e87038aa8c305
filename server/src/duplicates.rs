//! "Al gemeld in de buurt": open reports of the same category near a point,
//! offered before a report is sent and in the answer to storing it, and
//! "dit is dezelfde", a confirmation on the existing report instead of a
//! second incident.

use chrono::{DateTime, Utc};
use kvo_api::{
    Location,
    follow_up::PossibleDuplicate,
    wire::{Confirmed, IncidentStatus, NewConfirmation},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    areas::AreaCache,
    auth::Principal,
    column,
    error::{Error, Result},
};

/// How many possible duplicates are offered at most.
pub const MAX_DUPLICATES: i32 = 5;

/// Open reports of `category` near a point now, for a reporter about to send
/// (`GET /areas/{id}/nearby`). Any member of the area may ask: the answer
/// carries only category, age, status and distance, never who or what was written.
pub async fn nearby(
    pool: &PgPool,
    areas: &AreaCache,
    p: &Principal,
    area_id: Uuid,
    category: &str,
    loc: Location,
) -> Result<Vec<PossibleDuplicate>> {
    p.access(area_id)?;
    let area = areas.get(pool, area_id).await?;
    if area.category(category).is_none() {
        return Err(Error::Validation(kvo_api::ValidationError::Category(kvo_api::validate::shown(
            category,
        ))));
    }
    duplicates(pool, area_id, Uuid::nil(), category, (loc.lon(), loc.lat()), Utc::now()).await
}

/// Records "dit is dezelfde" by the principal on incident `incident_id` of
/// an area it belongs to. Idempotent on the confirmation's id, and once per
/// person: a second confirmation by the same person changes nothing.
pub async fn confirm(
    pool: &PgPool,
    p: &Principal,
    incident_id: Uuid,
    req: NewConfirmation,
) -> Result<Confirmed> {
    // The reporter may not have seen the incident itself (an ondernemer sees
    // only their own), so membership of its area is the rule, and an
    // incident in another area is "not found".
    let area: Option<Uuid> = sqlx::query_scalar(
        "SELECT area_id FROM incidents WHERE id = $1 AND area_id = ANY($2) AND merged_into IS NULL",
    )
    .bind(incident_id)
    .bind(p.areas().map(|a| a.area_id).collect::<Vec<_>>())
    .fetch_optional(pool)
    .await?;
    let access = p.access(area.ok_or(Error::NotFound)?)?;
    sqlx::query(
        "INSERT INTO incident_confirmations (area_id, id, incident_id, person_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(access.area_id)
    .bind(req.id)
    .bind(incident_id)
    .bind(access.person_id)
    .execute(pool)
    .await?;
    let confirmations: i64 = sqlx::query_scalar("SELECT kvo_confirmations($1, $2)")
        .bind(access.area_id)
        .bind(incident_id)
        .fetch_one(pool)
        .await?;
    Ok(Confirmed { incident_id, confirmations })
}

async fn duplicates(
    pool: &PgPool,
    area_id: Uuid,
    id: Uuid,
    category: &str,
    (lon, lat): (f64, f64),
    at: DateTime<Utc>,
) -> Result<Vec<PossibleDuplicate>> {
    // The rule is the database's (migration 0013), shared with the batch insert.
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", category AS "category!", occurred_at AS "occurred_at!", status AS "status!",
                  distance_m AS "d!"
             FROM kvo_possible_duplicates($1, $3, $2, $4, $5, $6, $7)"#,
        area_id,
        category,
        id,
        lon,
        lat,
        at,
        MAX_DUPLICATES
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|r| possible(r.id, r.category, r.occurred_at, &r.status, r.d)).collect()
}

/// A row of `kvo_possible_duplicates` as the answer shows it.
pub fn possible(
    id: Uuid,
    category: String,
    occurred_at: DateTime<Utc>,
    status: &str,
    distance_m: f64,
) -> Result<PossibleDuplicate> {
    Ok(PossibleDuplicate {
        id,
        category,
        occurred_at,
        status: column::code(status, IncidentStatus::from_code)?,
        distance_m: (distance_m * 10.0).round() / 10.0,
    })
}
