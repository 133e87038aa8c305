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
const MAX_DUPLICATES: i64 = 5;

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

/// Open reports of `category` near `(lon, lat)` around `at`, within the
/// category's radius and weeks: what a new report may duplicate. A hint
/// only: the report is already stored, so a failure here is logged, not
/// returned.
pub async fn possible_duplicates(
    pool: &PgPool,
    area_id: Uuid,
    id: Uuid,
    category: &str,
    at_point: (f64, f64),
    at: DateTime<Utc>,
) -> Vec<PossibleDuplicate> {
    duplicates(pool, area_id, id, category, at_point, at).await.unwrap_or_else(|e| {
        tracing::warn!(error = ?e, %id, "looking for possible duplicates failed");
        vec![]
    })
}

async fn duplicates(
    pool: &PgPool,
    area_id: Uuid,
    id: Uuid,
    category: &str,
    (lon, lat): (f64, f64),
    at: DateTime<Utc>,
) -> Result<Vec<PossibleDuplicate>> {
    // The nearest open reports of the category (a KNN scan of the partial
    // index of migration 0008, bounded by a box: 1° is at least 60 km up to
    // 57° latitude), then the exact distance. Its cost does not grow with the
    // number of reports around the point.
    let rows = sqlx::query!(
        r#"WITH c AS MATERIALIZED (
             SELECT duplicate_radius_m AS r, make_interval(weeks => duplicate_weeks) AS w
               FROM categories WHERE area_id = $1 AND code = $2
         ), near AS (
             SELECT i.id, i.category, i.occurred_at, i.status,
                    ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint($4, $5), 4326)::geography) AS d
               FROM incidents i
              WHERE i.area_id = $1 AND i.category = $2 AND i.id <> $3
                AND i.merged_into IS NULL AND i.status IN ('nieuw', 'in_behandeling', 'heropend')
                AND i.geom && ST_Expand(ST_SetSRID(ST_MakePoint($4, $5), 4326), (SELECT r FROM c) / 60000.0)
                AND i.occurred_at BETWEEN $6::timestamptz - (SELECT w FROM c) AND $6::timestamptz + (SELECT w FROM c)
              ORDER BY i.geom <-> ST_SetSRID(ST_MakePoint($4, $5), 4326)
              LIMIT 12
         )
         SELECT near.id AS "id!", near.category AS "category!", near.occurred_at AS "occurred_at!",
                near.status AS "status!", near.d AS "d!"
           FROM near, c WHERE near.d <= c.r ORDER BY near.d, near.occurred_at DESC LIMIT $7"#,
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
    rows.into_iter()
        .map(|r| {
            Ok(PossibleDuplicate {
                id: r.id,
                category: r.category,
                occurred_at: r.occurred_at,
                status: column::code(&r.status, IncidentStatus::from_code)?,
                distance_m: (r.d * 10.0).round() / 10.0,
            })
        })
        .collect()
}
