//! Incident ingest (idempotent on the phone's UUID) and reading incidents back
//! with the visibility rules of each role. New reports are written together
//! (`batch.rs`, group commit).

pub mod batch;

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use kvo_api::{
    CategoryCode, Description, Location, ValidationError,
    follow_up::Organisation,
    questions::Answers,
    registers::{AssetKind, AssetLink},
    validate::check_occurred_at,
    wire::{Incident, IncidentPage, IncidentStatus, NewIncident, Photo, WireLocation},
};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::{
    areas::AreaCache,
    auth::Principal,
    column,
    error::{Error, Result, module_error},
    photos,
    visibility::{VISIBLE, Visibility, bind_visibility},
};

/// Why a report or a listing of reports is refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// The id holds another report (a different request under the same id).
    #[error("incident {0} already exists with other data")]
    IdTaken(Uuid),
    #[error("bbox is not minLon,minLat,maxLon,maxLat")]
    Bbox,
    #[error("bbox lies outside the world or is turned inside out")]
    BboxRange,
    #[error("cursor is not one this server wrote")]
    Cursor,
    #[error("limit {0} is outside 1–500")]
    Limit(i64),
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(IncidentError);

/// Stores a report and its first status-history row in one statement; returns
/// `received_at`, or no row when the id already exists. Binds: area, id,
/// category, lon, lat, accuracy, occurred_at, description, reporter, zone,
/// patrol, request hash, H3 cell, answers, anonymous. The rollup triggers count it in the same
/// statement. `bench ingest` measures its ceiling with this too; answers and
/// anonymity are left at their defaults there.
pub const INSERT_INCIDENT: &str = "WITH ins AS (
         INSERT INTO incidents (area_id, id, category, geom, accuracy_m, occurred_at, description,
                                reporter_id, zone_id, patrol_id, request_hash, cell, answers, anonymous)
         VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, $9, $10, $11, $12, $13,
                 coalesce($14, '{}'), coalesce($15, false))
         ON CONFLICT (area_id, id) DO NOTHING
         RETURNING area_id, id, reporter_id, received_at
     ), hist AS (
         INSERT INTO incident_status_history (area_id, incident_id, status, changed_by, changed_at)
         SELECT area_id, id, 'nieuw', reporter_id, received_at FROM ins
     )
     SELECT received_at FROM ins";

/// The outcome of `POST /api/v1/incidents`.
pub enum Created {
    /// A new incident was stored (201).
    New(Incident),
    /// The same request was made before; this is what was stored then (200).
    Existing(Incident),
}

/// Validates and stores a report. The insert and its first status-history row
/// are one statement, committed before the caller answers.
pub async fn create(
    pool: &PgPool,
    ingest: &batch::Batcher,
    areas: &AreaCache,
    margin_m: f64,
    p: &Principal,
    req: NewIncident,
) -> Result<Created, IncidentError> {
    let access = p.access(req.area_id)?;
    let loc = Location::new(req.location.lat, req.location.lon, req.location.accuracy_m)?;
    let description = match &req.description {
        Some(d) => Description::parse(d)?,
        None => None,
    };
    // PostgreSQL keeps microseconds; answer with exactly what is stored.
    let occurred_at = req.occurred_at.trunc_subsecs(6);
    check_occurred_at(occurred_at, Utc::now())?;
    let area = areas.get(pool, req.area_id).await?;
    let placement = area.place(&req.category, loc.lat(), loc.lon(), margin_m)?;
    area.check_answers(&req.category, &req.answers)?;
    let asset = match req.asset_id {
        Some(id) => Some(crate::registers::link(pool, req.area_id, id, &req.category).await?),
        None => None,
    };
    let request_hash = request_hash(&req, access.person_id);
    let cell = crate::analytics::cells::cell_of(loc.lat(), loc.lon());

    let row = batch::Row {
        area_id: req.area_id,
        id: req.id,
        category: req.category.clone(),
        lon: loc.lon(),
        lat: loc.lat(),
        accuracy_m: loc.accuracy_m().map(|a| a as f32),
        occurred_at,
        description: description.as_ref().map(|d| d.as_str().to_string()),
        reporter_id: access.person_id,
        zone_id: placement.zone_id,
        patrol_id: req.patrol_id,
        request_hash: request_hash.clone(),
        cell,
        answers: serde_json::to_value(&req.answers).map_err(anyhow::Error::from)?,
        anonymous: req.anonymous,
        asset_id: asset.as_ref().map(|a| a.id),
    };
    let written = ingest.insert(row).await.map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("incidents_area_id_patrol_id_fkey") => {
            IncidentError::from(ValidationError::Other {
                field: "patrol_id",
                reason: "no such patrol in this area",
                reason_nl: "deze surveillanceronde bestaat niet in dit gebied",
            })
        }
        _ => e.into(),
    })?;

    // Open reports nearby of the same category, found in the insert's
    // statement, offered on both answers.
    let possible_duplicates = written
        .nearby
        .into_iter()
        .map(|n| crate::duplicates::possible(n.id, n.category, n.occurred_at, &n.status, n.distance_m))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(received_at) = written.received_at {
        return Ok(Created::New(Incident {
            id: req.id,
            area_id: req.area_id,
            category: req.category,
            location: WireLocation { lat: loc.lat(), lon: loc.lon(), accuracy_m: loc.accuracy_m() },
            occurred_at,
            received_at,
            description: description.map(Description::into_inner),
            status: IncidentStatus::Nieuw,
            zone_id: placement.zone_id,
            zone_name: placement.zone_id.and_then(|z| area.zone_name(z)).map(str::to_string),
            patrol_id: req.patrol_id,
            poor_accuracy: loc.is_poor(),
            photos: vec![],
            assigned_to: None,
            merged_into: None,
            possible_duplicates,
            answers: req.answers,
            anonymous: req.anonymous,
            confirmations: 0,
            asset,
            street: written.street,
        }));
    }
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT request_hash FROM incidents WHERE area_id = $1 AND id = $2")
            .bind(req.area_id)
            .bind(req.id)
            .fetch_one(pool)
            .await?;
    if stored != request_hash {
        return Err(IncidentError::IdTaken(req.id));
    }
    let mut incident = get(pool, p, req.id).await?;
    incident.possible_duplicates = possible_duplicates;
    Ok(Created::Existing(incident))
}

/// SHA-256 over the reporter and the request as sent, to tell a retry from a
/// different report that reuses the id.
fn request_hash(req: &NewIncident, reporter: Uuid) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(reporter.as_bytes());
    h.update(serde_json::to_vec(req).expect("wire types serialise"));
    h.finalize().to_vec()
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: Uuid,
    area_id: Uuid,
    category: String,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f32>,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    description: Option<String>,
    status: String,
    zone_id: Option<Uuid>,
    zone_name: Option<String>,
    patrol_id: Option<Uuid>,
    assigned_to: Option<String>,
    merged_into: Option<Uuid>,
    answers: Json<Answers>,
    anonymous: bool,
    confirmations: i64,
    asset_id: Option<Uuid>,
    asset_kind: Option<String>,
    asset_external_id: Option<String>,
    street: Option<String>,
}

const SELECT_INCIDENTS: &str = "SELECT i.id, i.area_id, i.category, ST_Y(i.geom) AS lat, ST_X(i.geom) AS lon,
        i.accuracy_m, i.occurred_at, i.received_at, i.description, i.status, i.zone_id,
        z.name AS zone_name, i.patrol_id, i.assigned_to, i.merged_into, i.answers, i.anonymous,
        kvo_confirmations(i.area_id, i.id) AS confirmations, i.asset_id, a.kind AS asset_kind,
        a.external_id AS asset_external_id, kvo_street_name(i.area_id, i.geom) AS street
   FROM incidents i LEFT JOIN zones z ON z.area_id = i.area_id AND z.id = i.zone_id
        LEFT JOIN assets a ON a.area_id = i.area_id AND a.id = i.asset_id";

/// One incident, if the principal may see it; 404 otherwise.
pub async fn get(pool: &PgPool, p: &Principal, id: Uuid) -> Result<Incident> {
    let vis = Visibility::of(p, None, false)?;
    let query = sqlx::query_as::<_, IncidentRow>(sqlx::AssertSqlSafe(format!(
        "{SELECT_INCIDENTS}
          WHERE {VISIBLE} AND i.id = $4
          LIMIT 1"
    )));
    let row: Option<IncidentRow> = bind_visibility!(query, vis).bind(id).fetch_optional(pool).await?;
    let row = row.ok_or(Error::NotFound)?;
    let mut photos = photos::of_incidents(pool, &[(row.area_id, row.id)]).await?;
    to_wire(row, &mut photos)
}

/// What `GET /api/v1/incidents` asks for.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// Only this area (default: all of the principal's).
    pub area_id: Option<Uuid>,
    /// `minLon,minLat,maxLon,maxLat`.
    pub bbox: Option<String>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
    pub categories: Option<Vec<CategoryCode>>,
    pub statuses: Option<Vec<IncidentStatus>>,
    /// Only the principal's own reports.
    pub mine: bool,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn parse_bbox(raw: &str) -> Result<[f64; 4], IncidentError> {
    let err = || IncidentError::Bbox;
    let v: Vec<f64> =
        raw.split(',').map(|s| s.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| err())?;
    let [a, b, c, d] = v[..] else {
        return Err(err());
    };
    if !(a <= c
        && b <= d
        && [a, c].iter().all(|x| (-180.0..=180.0).contains(x))
        && [b, d].iter().all(|y| (-90.0..=90.0).contains(y)))
    {
        return Err(IncidentError::BboxRange);
    }
    Ok([a, b, c, d])
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{}", at.timestamp_micros(), id.simple())
}

fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), IncidentError> {
    let err = || IncidentError::Cursor;
    let (ts, id) = raw.split_once('_').ok_or_else(err)?;
    let at = DateTime::from_timestamp_micros(ts.parse().map_err(|_| err())?).ok_or_else(err)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| err())?))
}

/// A page of the incidents the principal may see, newest first (keyset paging).
pub async fn list(pool: &PgPool, p: &Principal, q: &ListQuery) -> Result<IncidentPage, IncidentError> {
    let vis = Visibility::of(p, q.area_id, q.mine)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(IncidentError::Limit(limit));
    }
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let query = sqlx::query_as::<_, IncidentRow>(sqlx::AssertSqlSafe(format!(
        "{SELECT_INCIDENTS}
          WHERE {VISIBLE}
            AND ($4::timestamptz IS NULL OR i.occurred_at >= $4)
            AND ($5::timestamptz IS NULL OR i.occurred_at < $5)
            AND ($6::float8 IS NULL OR i.geom && ST_MakeEnvelope($6, $7, $8, $9, 4326))
            AND ($10::text[] IS NULL OR i.category = ANY($10))
            AND ($11::text[] IS NULL OR i.status = ANY($11))
            AND ($12::timestamptz IS NULL OR (i.occurred_at, i.id) < ($12, $13))
          ORDER BY i.occurred_at DESC, i.id DESC
          LIMIT $14"
    )));
    let rows: Vec<IncidentRow> = bind_visibility!(query, vis)
        .bind(q.from)
        .bind(q.to)
        .bind(bbox.map(|b| b[0]))
        .bind(bbox.map(|b| b[1]))
        .bind(bbox.map(|b| b[2]))
        .bind(bbox.map(|b| b[3]))
        .bind(q.categories.as_ref().map(|v| v.iter().map(CategoryCode::as_str).collect::<Vec<_>>()))
        .bind(q.statuses.as_deref().map(IncidentStatus::codes))
        .bind(cursor.map(|c| c.0))
        .bind(cursor.map(|c| c.1))
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<IncidentRow> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = more.then(|| rows.last().map(|r| encode_cursor(r.occurred_at, r.id))).flatten();
    let keys: Vec<(Uuid, Uuid)> = rows.iter().map(|r| (r.area_id, r.id)).collect();
    let mut photos = photos::of_incidents(pool, &keys).await?;
    let items = rows.into_iter().map(|r| to_wire(r, &mut photos)).collect::<Result<_>>()?;
    Ok(IncidentPage { items, next_cursor })
}

fn to_wire(r: IncidentRow, photos: &mut HashMap<Uuid, Vec<Photo>>) -> Result<Incident> {
    let accuracy_m = r.accuracy_m.map(f64::from);
    let status = column::code(&r.status, IncidentStatus::from_code)?;
    let assigned_to = column::code_opt(r.assigned_to.as_deref(), Organisation::from_code)?;
    Ok(Incident {
        photos: photos.remove(&r.id).unwrap_or_default(),
        id: r.id,
        area_id: r.area_id,
        category: r.category,
        location: WireLocation { lat: r.lat, lon: r.lon, accuracy_m },
        occurred_at: r.occurred_at,
        received_at: r.received_at,
        description: r.description,
        status,
        zone_id: r.zone_id,
        zone_name: r.zone_name,
        patrol_id: r.patrol_id,
        poor_accuracy: accuracy_m.is_some_and(|a| a > kvo_api::validate::POOR_ACCURACY_M),
        assigned_to,
        merged_into: r.merged_into,
        possible_duplicates: vec![],
        answers: r.answers.0,
        anonymous: r.anonymous,
        confirmations: r.confirmations,
        asset: match (r.asset_id, r.asset_kind, r.asset_external_id) {
            (Some(id), Some(kind), Some(external_id)) => {
                Some(AssetLink { id, kind: column::code(&kind, AssetKind::from_code)?, external_id })
            }
            _ => None,
        },
        street: r.street,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let at = DateTime::from_timestamp_micros(1_760_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        assert!(decode_cursor("x_y").is_err());
    }

    #[test]
    fn bbox_is_checked() {
        assert!(parse_bbox("6.1,52.2,6.2,52.3").is_ok());
        assert!(parse_bbox("6.2,52.2,6.1,52.3").is_err());
        assert!(parse_bbox("6.1,52.2,6.2").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
    }
}
