//! The public view (issue 16 §3, docs/privacy.md): an area that publishes
//! gets its figures shown to everyone — the last 52 weeks against the 52
//! before and the heatmap of 170 m cells — exactly as an ondernemer sees
//! them: aggregated, counts below 3 hidden (`privacy::Disclosure`), never a
//! report, text, photo or name.

use chrono::Duration;
use kvo_api::{
    Role,
    analysis::{PublicCategory, PublicView},
    wire::AreaKind,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    RawFilter,
    analysis::{self, AnalysisQuery},
    error::{AnalyticsError, Result},
    heatmap::{self, View},
    privacy::Disclosure,
};
use crate::{areas::AreaCache, auth::AreaAccess, column, error::Error};

/// The public view of the area with `slug`, if it publishes one (404 otherwise).
pub async fn view(pool: &PgPool, areas: &AreaCache, slug: &str) -> Result<PublicView> {
    let row: Option<(Uuid, String, Option<String>, String)> =
        sqlx::query_as("SELECT id, name, municipality, kind FROM areas WHERE slug = $1 AND public_view")
            .bind(slug)
            .fetch_optional(pool)
            .await
            .map_err(Error::from)?;
    let (area_id, name, municipality, kind) = row.ok_or(AnalyticsError::Other(Error::NotFound))?;
    // Read as a member who gets aggregates only, and whose own reports are none.
    let access = AreaAccess { area_id, person_id: Uuid::new_v4(), role: Role::Ondernemer };
    let today = crate::nl_time::today();
    let filter =
        RawFilter { from: Some(today - Duration::days(363)), to: Some(today), ..RawFilter::default() };
    let query = AnalysisQuery { filter: filter.clone(), resolution: Some(9), ..AnalysisQuery::default() };
    let analysis = analysis::analyse(pool, areas, &access, &query).await?;
    let cells = heatmap::build(pool, areas, &access, &filter, View::Resolution(9), false).await?;
    // Per category, counted as the rollup counts (`kvo_counts`: placed, not merged), by Dutch day.
    let (from, cmp_from) = (analysis.period.from, analysis.comparison.from);
    let (until, cmp_until) = (analysis.period.to, analysis.comparison.to);
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT category,
                count(*) FILTER (WHERE kvo_local_day(occurred_at) BETWEEN $2 AND $3),
                count(*) FILTER (WHERE kvo_local_day(occurred_at) BETWEEN $4 AND $5)
           FROM incidents
          WHERE area_id = $1 AND kvo_counts(cell, merged_into)
            AND occurred_at >= ($4::date - 1)::timestamptz AND occurred_at < ($3::date + 2)::timestamptz
          GROUP BY category",
    )
    .bind(area_id)
    .bind(from)
    .bind(until)
    .bind(cmp_from)
    .bind(cmp_until)
    .fetch_all(pool)
    .await
    .map_err(Error::from)?;
    let index = areas.get(pool, area_id).await?;
    let mut categories: Vec<PublicCategory> = index
        .categories()
        .iter()
        .filter_map(|c| {
            let (_, cur, prev) = rows.iter().find(|r| r.0 == c.code)?;
            Some(PublicCategory {
                code: c.code.clone(),
                label_nl: c.label_nl.clone(),
                label_en: c.label_en.clone(),
                theme: c.theme,
                dimension: c.dimension,
                counts: analysis::change(Disclosure::Aggregated, [*cur, *prev]),
            })
        })
        .collect();
    categories.sort_by(|a, b| b.counts.current.cmp(&a.counts.current).then(a.code.cmp(&b.code)));
    Ok(PublicView {
        name,
        municipality,
        kind: column::code(&kind, AreaKind::from_code).map_err(Error::from)?,
        slug: slug.to_string(),
        analysis,
        categories,
        heatmap: serde_json::from_slice(&cells).map_err(|e| Error::from(anyhow::Error::from(e)))?,
    })
}
