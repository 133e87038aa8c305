//! The region view: a person with several areas (a gemeente, a police team,
//! a procesbegeleider) sees them together — one heatmap across the areas and
//! a table of the areas with their trend and what is open. Each area keeps
//! its own rules: a membership reaches only its own area, and an area where
//! the person sees aggregates only has its small counts hidden before
//! anything is added up. The counts come from the rollup of all the areas in
//! one query.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::Duration;
use kvo_api::analysis::{Period, RegionArea, RegionOverview};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Filter, RawFilter, cells,
    error::{AnalyticsError, Result},
    heatmap::{self, View},
    privacy::{Disclosure, MIN_COUNT},
    rollup,
};
use crate::{areas::AreaCache, auth::Principal, cache::Cache, column};

/// The most areas one region view takes.
pub const MAX_AREAS: usize = 1_000;

/// How long a cached region heatmap is trusted at most, beside its data
/// version: a change of an area's categories (which the version does not
/// see) shows within this time.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Region heatmaps by request (areas with their rules, filter, view), each
/// with the data version of its areas; the oldest go first past the budget.
pub struct RegionCache(Cache<String, Versioned>);

/// An answer with the data version it was made from.
type Versioned = ((i64, i64), Bytes);

impl Default for RegionCache {
    fn default() -> Self {
        RegionCache(Cache::new(Some(CACHE_TTL), 32 * 1024 * 1024, |k, (_, b)| k.len() + b.len()))
    }
}

/// The data version of several areas: the sum of their rollup versions
/// (each only grows) and their pending deltas. Any new, changed or folded
/// report changes it.
async fn version_of(pool: &PgPool, ids: &[Uuid]) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT coalesce((SELECT sum(version)::int8 FROM heat_version WHERE area_id = ANY($1)), 0),
                (SELECT count(*) FROM heat_delta WHERE area_id = ANY($1))",
    )
    .bind(ids)
    .fetch_one(pool)
    .await?)
}

/// The person's areas and the filter checked against each of them: the same
/// period; the union of the categories each area resolves the filter to.
/// The person's areas (at most [`MAX_AREAS`]) with the rule each is read by, by id.
fn members_of(p: &Principal) -> Vec<(Uuid, Disclosure)> {
    let mut members: Vec<(Uuid, Disclosure)> =
        p.areas().map(|a| (a.area_id, Disclosure::of(a.role))).collect();
    members.truncate(MAX_AREAS);
    members.sort_by_key(|m| m.0);
    members
}

async fn resolve(
    pool: &PgPool,
    areas: &AreaCache,
    members: Vec<(Uuid, Disclosure)>,
    raw: &RawFilter,
) -> Result<(Vec<(Uuid, Disclosure)>, Filter)> {
    let today = crate::nl_time::today();
    let mut filter: Option<Filter> = None;
    let ids: Vec<Uuid> = members.iter().map(|m| m.0).collect();
    for index in areas.get_many(pool, &ids).await? {
        let f = Filter::resolve(raw, &index, today)?;
        filter = Some(match filter {
            None => f,
            Some(mut acc) => {
                acc.categories = match (acc.categories.take(), f.categories) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        a.sort();
                        a.dedup();
                        Some(a)
                    }
                    _ => None,
                };
                acc
            }
        });
    }
    let filter = filter.ok_or(AnalyticsError::Other(crate::error::Error::NotFound))?;
    Ok((members, filter))
}

/// Counts per cell across the areas, each area's own privacy applied first.
fn merged(
    counts: Vec<(Uuid, h3o::CellIndex, i64)>,
    rule: &HashMap<Uuid, Disclosure>,
) -> Vec<(h3o::CellIndex, i64)> {
    let mut sums: HashMap<h3o::CellIndex, i64> = HashMap::with_capacity(counts.len());
    for (area, cell, n) in counts {
        if let Some(n) = rule.get(&area).and_then(|d| d.count(n)) {
            *sums.entry(cell).or_default() += n;
        }
    }
    sums.into_iter().collect()
}

/// `GET /api/v1/region/heatmap`: one heatmap across all the person's areas,
/// as GeoJSON bytes, from the cache while the areas' data is unchanged.
pub async fn heatmap_json(
    pool: &PgPool,
    areas: &AreaCache,
    cache: &RegionCache,
    p: &Principal,
    raw: &RawFilter,
    view: View,
    points: bool,
) -> Result<Bytes> {
    let members = members_of(p);
    let ids: Vec<Uuid> = members.iter().map(|m| m.0).collect();
    let key = format!("{members:?}|{raw:?}|{view:?}|{points}");
    let version = version_of(pool, &ids).await?;
    if let Some((_, body)) = cache.0.get_if(&key, |(v, _)| *v == version) {
        return Ok(body);
    }
    let body = Bytes::from(heatmap(pool, areas, members, raw, view, points).await?);
    cache.0.put(key, (version, body.clone()));
    Ok(body)
}

/// The region heatmap of `members`, computed.
async fn heatmap(
    pool: &PgPool,
    areas: &AreaCache,
    members: Vec<(Uuid, Disclosure)>,
    raw: &RawFilter,
    view: View,
    points: bool,
) -> Result<Vec<u8>> {
    let (members, filter) = resolve(pool, areas, members, raw).await?;
    let res = match view {
        View::Resolution(r) => cells::resolution(r)?,
        View::Zoom(z) if (0.0..=22.0).contains(&z) => cells::for_region_view(filter.days(), z),
        View::Zoom(_) => return Err(AnalyticsError::MapZoom),
    };
    heatmap::check_cost(res, &filter)?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.0).collect();
    let rule: HashMap<Uuid, Disclosure> = members.into_iter().collect();
    let counts = rollup::cell_counts_of(pool, &ids, res, &filter).await?;
    let suppressed_below = if rule.values().any(|d| *d == Disclosure::Aggregated) { MIN_COUNT } else { 1 };
    Ok(heatmap::collection(merged(counts, &rule), res, &filter, suppressed_below, points))
}

/// `GET /api/v1/region/areas`: each area's count in the period and the one
/// before it, and its open and overdue reports.
pub async fn overview(
    pool: &PgPool,
    areas: &AreaCache,
    p: &Principal,
    raw: &RawFilter,
) -> Result<RegionOverview> {
    let (members, filter) = resolve(pool, areas, members_of(p), raw).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.0).collect();
    let previous =
        Filter { from: filter.from - Duration::days(filter.days()), until: filter.from, ..filter.clone() };
    // The coarsest cells: an area has a few, so the sums are cheap.
    let res = h3o::Resolution::Seven;
    let total = |counts: Vec<(Uuid, h3o::CellIndex, i64)>| {
        let mut by_area: HashMap<Uuid, i64> = HashMap::new();
        for (a, _, n) in counts {
            *by_area.entry(a).or_default() += n;
        }
        by_area
    };
    let (current, before) = tokio::try_join!(
        rollup::cell_counts_of(pool, &ids, res, &filter),
        rollup::cell_counts_of(pool, &ids, res, &previous)
    )?;
    let (current, before) = (total(current), total(before));
    let today = crate::nl_time::today();
    let open: HashMap<Uuid, (i64, i64)> = sqlx::query_as::<_, (Uuid, i64, i64)>(
        "SELECT area_id, count(*), count(*) FILTER (WHERE due_date < $2) FROM incidents
          WHERE area_id = ANY($1) AND merged_into IS NULL AND status IN ('nieuw', 'in_behandeling', 'heropend')
          GROUP BY area_id",
    )
    .bind(&ids)
    .bind(today)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(a, o, d)| (a, (o, d)))
    .collect();
    let names: HashMap<Uuid, (String, String, Option<String>)> =
        sqlx::query_as::<_, (Uuid, String, String, Option<String>)>(
            "SELECT id, name, kind, municipality FROM areas WHERE id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, n, k, m)| (id, (n, k, m)))
        .collect();
    let mut rows = Vec::with_capacity(members.len());
    for access in p.areas().take(MAX_AREAS) {
        let Some((name, kind, municipality)) = names.get(&access.area_id).cloned() else { continue };
        let d = Disclosure::of(access.role);
        let count = |m: &HashMap<Uuid, i64>| d.count(m.get(&access.area_id).copied().unwrap_or(0));
        let (cur, prev) = (count(&current), count(&before));
        let (o, late) = open.get(&access.area_id).copied().unwrap_or((0, 0));
        rows.push(RegionArea {
            area_id: access.area_id,
            name,
            kind: column::code(&kind, kvo_api::wire::AreaKind::from_code)?,
            municipality,
            role: access.role,
            change_pct: match (cur, prev) {
                (Some(c), Some(p)) if p > 0 => Some(((c - p) as f64 * 1000.0 / p as f64).round() / 10.0),
                _ => None,
            },
            current: cur,
            previous: prev,
            open: d.count(o),
            overdue: d.count(late),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.area_id.cmp(&b.area_id)));
    let period = |f: &Filter| Period { from: f.from, to: f.until.pred_opt().unwrap_or(f.until) };
    Ok(RegionOverview { period: period(&filter), previous: period(&previous), areas: rows })
}
