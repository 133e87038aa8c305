//! Reading the gemeente's registers (docs/registers.md): the assets near a
//! reporter (a lighting report gets the nearest lamp post offered), the
//! assets of an area for the map, the assets with repeated reports ("lichtmast
//! 0412: 4 meldingen in 6 maanden"), and the check of a report's link to an
//! asset. Streets name places through the SQL function `kvo_street_name`
//! (migration 0015). Importing is administration: `admin/registers.rs`.

use chrono::{DateTime, Months, NaiveDate, Utc};
use kvo_api::{
    ValidationError,
    registers::{
        Asset, AssetKind, AssetLink, NEAREST_MAX, NEAREST_RADIUS_M, NearestAsset, RepeatedAsset, kinds_for,
    },
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    analytics::privacy::Disclosure,
    auth::Principal,
    column,
    error::{Error, module_error},
};

/// Why a register read was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The role sees no individual reports (an ondernemer), so no counts per asset (403).
    #[error("the role sees no reports per asset")]
    Forbidden,
    /// The period is turned around or longer than allowed (422).
    #[error("period {0} – {1} is not valid")]
    Period(NaiveDate, NaiveDate),
    /// `min_reports` outside 2–100 (422).
    #[error("min_reports {0} is outside 2–100")]
    MinReports(u32),
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(RegisterError);

/// The longest period of the repeated-reports list, in days.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

#[derive(sqlx::FromRow)]
struct AssetRow {
    id: Uuid,
    kind: String,
    external_id: String,
    name: Option<String>,
    lat: f64,
    lon: f64,
    street: Option<String>,
    removed: bool,
}

impl AssetRow {
    fn into_wire(self) -> Result<Asset, RegisterError> {
        Ok(Asset {
            id: self.id,
            kind: column::code(&self.kind, AssetKind::from_code)?,
            external_id: self.external_id,
            name: self.name,
            lat: self.lat,
            lon: self.lon,
            street: self.street,
            removed: self.removed,
        })
    }
}

const ASSET_COLUMNS: &str = "a.id, a.kind, a.external_id, a.name, ST_Y(a.geom) AS lat, ST_X(a.geom) AS lon,
        kvo_street_name(a.area_id, a.geom) AS street, a.removed_at IS NOT NULL AS removed";

/// The assets a report of `category` at a point may be about, nearest
/// first: of the kinds the category is about, still in the register, within
/// [`NEAREST_RADIUS_M`] plus the phone's accuracy (at most 50 m more). Any
/// member of the area may ask (a lamp post is public); empty for a category
/// about no asset.
pub async fn nearest(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    category: &str,
    loc: kvo_api::Location,
) -> Result<Vec<NearestAsset>, RegisterError> {
    p.access(area_id)?;
    let kinds = kinds_for(category);
    if kinds.is_empty() {
        return Ok(vec![]);
    }
    let radius = NEAREST_RADIUS_M + loc.accuracy_m().unwrap_or(0.0).min(50.0);
    #[derive(sqlx::FromRow)]
    struct Near {
        #[sqlx(flatten)]
        asset: AssetRow,
        distance_m: f64,
    }
    let rows: Vec<Near> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSET_COLUMNS}, ST_Distance(a.geom::geography, p.geom::geography) AS distance_m
           FROM assets a, (SELECT ST_SetSRID(ST_MakePoint($3, $4), 4326) AS geom) p
          WHERE a.area_id = $1 AND a.kind = ANY($2) AND a.removed_at IS NULL
            AND a.geom && ST_Expand(p.geom, 0.002)
            AND ST_DWithin(a.geom::geography, p.geom::geography, $5)
          ORDER BY distance_m, a.external_id
          LIMIT $6"
    )))
    .bind(area_id)
    .bind(AssetKind::codes(kinds))
    .bind(loc.lon())
    .bind(loc.lat())
    .bind(radius)
    .bind(NEAREST_MAX as i64)
    .fetch_all(pool)
    .await
    .map_err(Error::from)?;
    rows.into_iter()
        .map(|r| Ok(NearestAsset { asset: r.asset.into_wire()?, distance_m: r.distance_m }))
        .collect()
}

/// The area's assets still in the register, optionally of one kind, for the
/// map. Any member of the area may read them.
pub async fn list(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    kind: Option<AssetKind>,
) -> Result<Vec<Asset>, RegisterError> {
    p.access(area_id)?;
    let rows: Vec<AssetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSET_COLUMNS} FROM assets a
          WHERE a.area_id = $1 AND a.removed_at IS NULL AND ($2::text IS NULL OR a.kind = $2)
          ORDER BY a.kind, a.external_id"
    )))
    .bind(area_id)
    .bind(kind.map(AssetKind::code))
    .fetch_all(pool)
    .await
    .map_err(Error::from)?;
    rows.into_iter().map(AssetRow::into_wire).collect()
}

/// Assets with at least `min_reports` reports that occurred in the period
/// (Dutch calendar days, `from` to `to` inclusive; default the last six
/// months), most reports first. Merged duplicates are not counted twice.
/// Only for roles that see individual reports.
pub async fn repeated(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    min_reports: Option<u32>,
) -> Result<Vec<RepeatedAsset>, RegisterError> {
    let access = p.access(area_id)?;
    if !Disclosure::of(access.role).individual_incidents() {
        return Err(RegisterError::Forbidden);
    }
    let to = to.unwrap_or_else(crate::nl_time::today);
    let from = from.unwrap_or_else(|| to.checked_sub_months(Months::new(6)).unwrap_or(to));
    if from > to || (to - from).num_days() > MAX_PERIOD_DAYS {
        return Err(RegisterError::Period(from, to));
    }
    let min = min_reports.unwrap_or(2);
    if !(2..=100).contains(&min) {
        return Err(RegisterError::MinReports(min));
    }
    #[derive(sqlx::FromRow)]
    struct Rep {
        #[sqlx(flatten)]
        asset: AssetRow,
        reports: i64,
        open: i64,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    }
    let rows: Vec<Rep> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSET_COLUMNS}, r.reports, r.open, r.first, r.last
           FROM (SELECT asset_id, count(*) AS reports,
                        count(*) FILTER (WHERE status IN ('nieuw', 'in_behandeling', 'heropend')) AS open,
                        min(occurred_at) AS first, max(occurred_at) AS last
                   FROM incidents
                  WHERE area_id = $1 AND asset_id IS NOT NULL AND merged_into IS NULL
                    AND occurred_at >= ($2::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
                    AND occurred_at < (($3::date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam')
                  GROUP BY asset_id
                 HAVING count(*) >= $4) r
           JOIN assets a ON a.area_id = $1 AND a.id = r.asset_id
          ORDER BY r.reports DESC, r.last DESC, a.external_id"
    )))
    .bind(area_id)
    .bind(from)
    .bind(to)
    .bind(i64::from(min))
    .fetch_all(pool)
    .await
    .map_err(Error::from)?;
    rows.into_iter()
        .map(|r| {
            Ok(RepeatedAsset {
                asset: r.asset.into_wire()?,
                reports: r.reports as u32,
                open: r.open as u32,
                first: r.first,
                last: r.last,
            })
        })
        .collect()
}

/// The street at each point (lon, lat) of an area, in order (`None` where
/// no street lies within 60 m, or none is imported).
pub async fn street_names(
    pool: &PgPool,
    area_id: Uuid,
    points: &[(f64, f64)],
) -> Result<Vec<Option<String>>, Error> {
    if points.is_empty() {
        return Ok(vec![]);
    }
    let names: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT kvo_street_name($1, ST_SetSRID(ST_MakePoint(lon, lat), 4326))
           FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS p(lon, lat, n) ORDER BY n",
    )
    .bind(area_id)
    .bind(points.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(points.iter().map(|p| p.1).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(names)
}

/// The link of a new report to an asset: the asset must be in the report's
/// area and of a kind its category is about. An asset since removed from the
/// register may still be named (the phone offered it from the register it
/// had); its reports keep the link.
pub async fn link(pool: &PgPool, area_id: Uuid, asset_id: Uuid, category: &str) -> Result<AssetLink, Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT kind, external_id FROM assets WHERE area_id = $1 AND id = $2")
            .bind(area_id)
            .bind(asset_id)
            .fetch_optional(pool)
            .await?;
    let (kind, external_id) = row.ok_or(ValidationError::Other {
        field: "asset_id",
        reason: "no such asset in this area",
        reason_nl: "dit object staat niet in het register van dit gebied",
    })?;
    let kind = column::code(&kind, AssetKind::from_code)?;
    if !kinds_for(category).contains(&kind) {
        return Err(ValidationError::Other {
            field: "asset_id",
            reason: "a report of this category is not about this kind of asset",
            reason_nl: "een melding van deze categorie gaat niet over dit soort object",
        }
        .into());
    }
    Ok(AssetLink { id: asset_id, kind, external_id })
}
