//! The werkgroep's incident table: the filtered incidents of an area, sorted
//! by any column, a page at a time, with the total. The same filter — the
//! period, categories and statuses of [`Filter`] plus the row filters here
//! (zone, assigned organisation, aangifte) — drives the table's exports, so
//! "export" gives exactly the rows the table shows.

use kvo_api::{
    analysis::{IncidentTable, SortOrder, TableRow, TableSort},
    follow_up::Organisation,
    wire::IncidentStatus,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Filter, RawFilter,
    error::{AnalyticsError, Result},
    privacy::Disclosure,
};
use crate::{areas::AreaCache, auth::AreaAccess, column};

/// The most rows one page holds.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Filters on single incidents, beside the period, categories and statuses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFilter {
    /// In one of these zones …
    pub zones: Option<Vec<Uuid>>,
    /// … or in none ("zonder zone").
    pub no_zone: bool,
    pub assigned: Option<Vec<Organisation>>,
    /// Only with (true) or without (false) a police report.
    pub aangifte: Option<bool>,
}

/// The SQL condition on `incidents i` of the single incidents a [`Filter`]
/// and a [`RowFilter`] take: the area ($1), the counted incidents of the
/// period ($2, $3 as days), categories ($4), statuses ($5), zones ($6),
/// no zone ($7), organisations ($8) and aangifte ($9). The one formulation,
/// for the table and the exports; bind with [`bind_rows!`].
pub const FILTERED: &str = "i.area_id = $1 AND kvo_counts(i.cell, i.merged_into)
    AND i.occurred_at >= ($2::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
    AND i.occurred_at < ($3::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
    AND ($4::text[] IS NULL OR i.category = ANY($4)) AND ($5::text[] IS NULL OR i.status = ANY($5))
    AND ($6::uuid[] IS NULL AND NOT $7 OR i.zone_id = ANY($6) OR ($7 AND i.zone_id IS NULL))
    AND ($8::text[] IS NULL OR i.assigned_to = ANY($8))
    AND ($9::bool IS NULL OR i.aangifte = $9)";

impl RowFilter {
    /// The organisations' codes, for binding.
    pub fn assigned_codes(&self) -> Option<Vec<&'static str>> {
        self.assigned.as_deref().map(Organisation::codes)
    }
}

/// Binds the nine parameters of [`FILTERED`]: the area, a [`Filter`] and a [`RowFilter`].
#[macro_export]
macro_rules! bind_rows {
    ($q:expr, $area:expr, $f:expr, $r:expr) => {
        $q.bind($area)
            .bind($f.from)
            .bind($f.until)
            .bind(&$f.categories)
            .bind($f.status_codes())
            .bind($r.zones.clone())
            .bind($r.no_zone)
            .bind($r.assigned_codes())
            .bind($r.aangifte)
    };
}

fn sort_sql(sort: TableSort) -> &'static str {
    match sort {
        TableSort::OccurredAt => "i.occurred_at",
        TableSort::Category => "i.category",
        TableSort::Zone => "z.name",
        TableSort::Status => "i.status",
        TableSort::AssignedTo => "i.assigned_to",
        TableSort::DueDate => "i.due_date",
        TableSort::Damage => "i.damage_cents",
        TableSort::Confirmations => "kvo_confirmations(i.area_id, i.id)",
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    category: String,
    zone_id: Option<Uuid>,
    zone_name: Option<String>,
    status: String,
    assigned_to: Option<String>,
    due_date: Option<chrono::NaiveDate>,
    aangifte: bool,
    damage_cents: Option<i64>,
    confirmations: i64,
    description: Option<String>,
    street: Option<String>,
    asset_id: Option<Uuid>,
    asset_kind: Option<String>,
    asset_external_id: Option<String>,
    total: i64,
}

/// One page of the table (`page` from 0).
#[allow(clippy::too_many_arguments)]
pub async fn page(
    pool: &PgPool,
    areas: &AreaCache,
    access: &AreaAccess,
    raw: &RawFilter,
    rows: &RowFilter,
    sort: TableSort,
    order: SortOrder,
    page: u32,
    page_size: u32,
) -> Result<IncidentTable> {
    if !Disclosure::of(access.role).individual_incidents() {
        return Err(AnalyticsError::ExportIncidents);
    }
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(AnalyticsError::PageSize(page_size));
    }
    let area = areas.get(pool, access.area_id).await?;
    let filter = Filter::resolve(raw, &area, crate::nl_time::today())?;
    let dir = match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    let sql = format!(
        "SELECT i.id, i.occurred_at, i.category, i.zone_id, z.name AS zone_name, i.status, i.assigned_to, i.due_date,
                i.aangifte, i.damage_cents, kvo_confirmations(i.area_id, i.id) AS confirmations, i.description,
                kvo_street_name(i.area_id, i.geom) AS street, i.asset_id, a.kind AS asset_kind,
                a.external_id AS asset_external_id, count(*) OVER () AS total
           FROM incidents i LEFT JOIN zones z ON z.area_id = i.area_id AND z.id = i.zone_id
                LEFT JOIN assets a ON a.area_id = i.area_id AND a.id = i.asset_id
          WHERE {FILTERED}
          ORDER BY {} {dir} NULLS LAST, i.id {dir}
          LIMIT $10 OFFSET $11",
        sort_sql(sort)
    );
    let q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    let found: Vec<Row> = crate::bind_rows!(q, access.area_id, filter, rows)
        .bind(i64::from(page_size))
        .bind(i64::from(page) * i64::from(page_size))
        .fetch_all(pool)
        .await?;
    // A page beyond the last has no row to carry the total: count on its own.
    let total = match found.first() {
        Some(r) => r.total,
        None if page > 0 => {
            let sql = format!("SELECT count(*) FROM incidents i WHERE {FILTERED}");
            let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
            crate::bind_rows!(q, access.area_id, filter, rows).fetch_one(pool).await?
        }
        None => 0,
    };
    let rows = found
        .into_iter()
        .map(|r| {
            Ok(TableRow {
                id: r.id,
                occurred_at: r.occurred_at,
                category: r.category,
                zone_id: r.zone_id,
                zone_name: r.zone_name,
                status: column::code(&r.status, IncidentStatus::from_code)?,
                assigned_to: column::code_opt(r.assigned_to.as_deref(), Organisation::from_code)?,
                due_date: r.due_date,
                aangifte: r.aangifte,
                damage_eur: r.damage_cents.map(|c| c as f64 / 100.0),
                confirmations: r.confirmations,
                description: r.description,
                street: r.street,
                asset: match (r.asset_id, r.asset_kind, r.asset_external_id) {
                    (Some(id), Some(kind), Some(external_id)) => Some(kvo_api::registers::AssetLink {
                        id,
                        kind: column::code(&kind, kvo_api::registers::AssetKind::from_code)?,
                        external_id,
                    }),
                    _ => None,
                },
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(IncidentTable { total, page, page_size, rows })
}
