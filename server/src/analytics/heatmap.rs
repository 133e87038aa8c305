//! `GET /api/v1/areas/{id}/heatmap`: counts per H3 cell as an RFC 7946
//! FeatureCollection, either cell polygons or weighted points for MapLibre's
//! heatmap layer.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use h3o::Resolution;
use serde_json::json;

use sqlx::PgPool;

use super::error::{AnalyticsError, Result};
use super::{Filter, RawFilter, cells, privacy::Disclosure, rollup};
use crate::{areas::AreaCache, auth::AreaAccess};

/// What decides the cells' size: an explicit resolution, or the map's zoom
/// (the server's policy, [`cells::for_view`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    Resolution(u8),
    Zoom(f64),
}

/// The longest period a resolution may cover: fine cells over many years
/// would be a large answer that no map can show.
pub fn max_days(res: Resolution) -> i64 {
    match u8::from(res) {
        11 => 731,
        10 => 1_827,
        _ => super::MAX_PERIOD_DAYS,
    }
}

/// Refuses a period too long for the resolution.
pub fn check_cost(res: Resolution, f: &Filter) -> Result<()> {
    let max = max_days(res);
    if f.days() > max {
        let years = max / 365;
        return Err(AnalyticsError::ResolutionSpan { resolution: u8::from(res), years });
    }
    Ok(())
}

/// Builds the heatmap for `access.area_id`.
pub async fn build(
    pool: &PgPool,
    areas: &AreaCache,
    access: &AreaAccess,
    raw: &RawFilter,
    view: View,
    points: bool,
) -> Result<FeatureCollection> {
    let area = areas.get(pool, access.area_id).await?;
    let filter = Filter::resolve(raw, &area, crate::nl_time::today())?;
    let res = match view {
        View::Resolution(r) => cells::resolution(r)?,
        View::Zoom(z) if (0.0..=22.0).contains(&z) => cells::for_view(filter.days(), z),
        View::Zoom(_) => return Err(AnalyticsError::MapZoom),
    };
    check_cost(res, &filter)?;
    let disclosure = Disclosure::of(access.role);
    let counts = rollup::cell_counts(pool, access.area_id, res, &filter).await?;
    let shown: Vec<(h3o::CellIndex, i64)> =
        counts.into_iter().filter_map(|(c, n)| disclosure.count(n).map(|n| (c, n))).collect();
    let suppressed_below = disclosure.count(1).map_or(super::privacy::MIN_COUNT, |_| 1);
    Ok(collection(shown, res, &filter, suppressed_below, points))
}

/// The FeatureCollection of counted cells, largest first, with the period,
/// totals and the smallest count shown (`suppressed_below`) as foreign members.
pub fn collection(
    mut shown: Vec<(h3o::CellIndex, i64)>,
    res: Resolution,
    filter: &Filter,
    suppressed_below: i64,
    points: bool,
) -> FeatureCollection {
    shown.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: i64 = shown.iter().map(|c| c.1).sum();
    let max = shown.first().map_or(0, |c| c.1);

    let features = shown
        .iter()
        .map(|&(cell, n)| {
            let mut props = JsonObject::new();
            props.insert("cell".into(), json!(cell.to_string()));
            props.insert("count".into(), json!(n));
            props.insert("share".into(), json!(round4(n as f64 / total.max(1) as f64)));
            let geometry = if points {
                props.insert("weight".into(), json!(round4(n as f64 / max.max(1) as f64)));
                GeometryValue::new_point(cells::centre(cell))
            } else {
                GeometryValue::Polygon {
                    coordinates: vec![cells::ring(cell).into_iter().map(Into::into).collect()],
                }
            };
            Feature {
                bbox: None,
                geometry: Some(Geometry::new(geometry)),
                id: None,
                properties: Some(props),
                foreign_members: None,
            }
        })
        .collect();
    let mut meta = JsonObject::new();
    meta.insert("resolution".into(), json!(u8::from(res)));
    meta.insert("from".into(), json!(filter.from));
    meta.insert("to".into(), json!(filter.until.pred_opt()));
    meta.insert("total".into(), json!(total));
    meta.insert("max".into(), json!(max));
    meta.insert("suppressed_below".into(), json!(suppressed_below));
    FeatureCollection { bbox: None, features, foreign_members: Some(meta) }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
