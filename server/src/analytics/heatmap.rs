//! `GET /api/v1/areas/{id}/heatmap`: counts per H3 cell as an RFC 7946
//! FeatureCollection, either cell polygons or weighted points for MapLibre's
//! heatmap layer.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use h3o::Resolution;
use serde_json::json;

use super::{Filter, cells, filter_params, privacy::Disclosure, rollup};
use crate::{
    auth::AreaAccess,
    error::{AppError, AppResult},
    state::AppState,
};

filter_params! {
    /// Filters and form of the heatmap.
    pub struct HeatmapParams {
        /// H3 resolution: 7 (coarse, about 1.4 km) to 11 (fine, about 25 m). Default 10.
        pub resolution: Option<u8>,
        /// `cells` (hexagons, default) or `points` (cell centres with a `weight` of 0–1).
        pub shape: Option<String>,
    }
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
pub fn check_cost(res: Resolution, f: &Filter) -> AppResult<()> {
    let max = max_days(res);
    if f.days() > max {
        let years = max / 365;
        return Err(AppError::bad_request(
            "resolution",
            format!(
                "resolutie {} kan hoogstens {years} jaar tonen; kies een grovere resolutie of een kortere periode",
                u8::from(res)
            ),
            format!(
                "resolution {} covers at most {years} years; choose a coarser resolution or a shorter period",
                u8::from(res)
            ),
        ));
    }
    Ok(())
}

/// Builds the heatmap for `access.area_id`.
pub async fn build(state: &AppState, access: &AreaAccess, q: &HeatmapParams) -> AppResult<FeatureCollection> {
    let area = state.areas.get(&state.pool, access.area_id).await?;
    let filter = Filter::resolve(q.raw(), &area, crate::nl_time::today())?;
    let res = cells::resolution(q.resolution, 10)?;
    let points = match q.shape.as_deref() {
        None | Some("cells") => false,
        Some("points") => true,
        Some(_) => {
            return Err(AppError::bad_request(
                "shape",
                "shape moet cells of points zijn",
                "shape must be cells or points",
            ));
        }
    };
    check_cost(res, &filter)?;
    let disclosure = Disclosure::of(access.role);
    let counts = rollup::cell_counts(&state.pool, access.area_id, res, &filter).await?;
    let mut shown: Vec<(h3o::CellIndex, i64)> =
        counts.into_iter().filter_map(|(c, n)| disclosure.count(n).map(|n| (c, n))).collect();
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
    meta.insert(
        "suppressed_below".into(),
        json!(disclosure.count(1).map_or(super::privacy::MIN_COUNT, |_| 1)),
    );
    Ok(FeatureCollection { bbox: None, features, foreign_members: Some(meta) })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
