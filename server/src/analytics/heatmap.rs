//! `GET /api/v1/areas/{id}/heatmap`: counts per H3 cell as an RFC 7946
//! FeatureCollection, either cell polygons or weighted points for MapLibre's
//! heatmap layer.

use std::sync::{Arc, LazyLock};

use h3o::Resolution;
use sqlx::PgPool;

use super::error::{AnalyticsError, Result};
use super::{Filter, RawFilter, cells, privacy::Disclosure, rollup};
use crate::{areas::AreaCache, auth::AreaAccess, cache::Cache};

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
) -> Result<Vec<u8>> {
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
/// totals and the smallest count shown (`suppressed_below`) as foreign
/// members, written as GeoJSON bytes. A cell's text (id, outline, centre)
/// never changes, so it is made once per process ([`cell_text`]); a
/// zoomed-out region view is hundreds of cells.
pub fn collection(
    mut shown: Vec<(h3o::CellIndex, i64)>,
    res: Resolution,
    filter: &Filter,
    suppressed_below: i64,
    points: bool,
) -> Vec<u8> {
    use std::fmt::Write;
    shown.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: i64 = shown.iter().map(|c| c.1).sum();
    let max = shown.first().map_or(0, |c| c.1);
    let per_cell = if points { 160 } else { 420 };
    let mut out = String::with_capacity(200 + shown.len() * per_cell);
    out.push_str(r#"{"type":"FeatureCollection","features":["#);
    for (i, &(cell, n)) in shown.iter().enumerate() {
        let text = cell_text(cell);
        let share = round4(n as f64 / total.max(1) as f64);
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail. `{:?}` keeps a share of 1 a
        // fraction (`1.0`), as JSON readers that tell them apart expect.
        if points {
            let weight = round4(n as f64 / max.max(1) as f64);
            _ = write!(
                out,
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":{}}},"properties":{{"cell":"{}","count":{n},"share":{share:?},"weight":{weight:?}}}}}"#,
                text.centre, text.id
            );
        } else {
            _ = write!(
                out,
                r#"{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":[{}]}},"properties":{{"cell":"{}","count":{n},"share":{share:?}}}}}"#,
                text.ring, text.id
            );
        }
    }
    let to = filter.until.pred_opt().map_or_else(|| "null".to_string(), |d| format!(r#""{d}""#));
    _ = write!(
        out,
        r#"],"resolution":{},"from":"{}","to":{to},"total":{total},"max":{max},"suppressed_below":{suppressed_below}}}"#,
        u8::from(res),
        filter.from
    );
    out.into_bytes()
}

/// A cell's id, outline (a closed ring, [`cells::ring`]) and centre as
/// GeoJSON text, coordinates to 7 decimals (about 1 cm).
struct CellText {
    id: Box<str>,
    ring: Box<str>,
    centre: Box<str>,
}

/// The text of `cell`, from a process-wide cache of at most 32 MB
/// (some 100,000 cells; a cell is never stale).
fn cell_text(cell: h3o::CellIndex) -> Arc<CellText> {
    static TEXTS: LazyLock<Cache<h3o::CellIndex, Arc<CellText>>> = LazyLock::new(|| {
        Cache::new(None, 32 * 1024 * 1024, |_, t| 64 + t.id.len() + t.ring.len() + t.centre.len())
    });
    if let Some(t) = TEXTS.get(&cell) {
        return t;
    }
    let point = |[lon, lat]: [f64; 2]| format!("[{},{}]", round7(lon), round7(lat));
    let ring: Vec<String> = cells::ring(cell).into_iter().map(point).collect();
    let text = Arc::new(CellText {
        id: cell.to_string().into(),
        ring: format!("[{}]", ring.join(",")).into(),
        centre: point(cells::centre(cell)).into(),
    });
    TEXTS.put(cell, text.clone());
    text
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use h3o::LatLng;

    fn filter() -> Filter {
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let until = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        Filter { from, until, categories: None, statuses: None }
    }

    #[test]
    fn the_written_collection_is_geojson_largest_first() {
        let centre = LatLng::new(52.25, 6.16).unwrap().to_cell(Resolution::Nine);
        let cells: Vec<_> = centre.grid_disk::<Vec<_>>(1).into_iter().zip([5, 1, 9, 3, 3, 2, 7]).collect();
        for points in [false, true] {
            let body = collection(cells.clone(), Resolution::Nine, &filter(), 3, points);
            let fc: geojson::FeatureCollection = serde_json::from_slice(&body).expect("GeoJSON");
            let meta = fc.foreign_members.as_ref().unwrap();
            assert_eq!(meta["total"], 30);
            assert_eq!(meta["max"], 9);
            assert_eq!(
                (meta["from"].as_str(), meta["to"].as_str()),
                (Some("2026-01-01"), Some("2026-03-31"))
            );
            assert_eq!((meta["resolution"].as_u64(), meta["suppressed_below"].as_u64()), (Some(9), Some(3)));
            let counts: Vec<i64> =
                fc.features.iter().map(|f| f.property("count").unwrap().as_i64().unwrap()).collect();
            assert_eq!(counts, [9, 7, 5, 3, 3, 2, 1]);
            let first = &fc.features[0];
            let cell: h3o::CellIndex = first.property("cell").unwrap().as_str().unwrap().parse().unwrap();
            assert_eq!(cells.iter().find(|c| c.0 == cell).unwrap().1, 9);
            assert_eq!(first.property("share").unwrap().as_f64(), Some(0.3));
            match &first.geometry.as_ref().unwrap().value {
                geojson::GeometryValue::Polygon { coordinates } => {
                    let ring = &coordinates[0];
                    assert_eq!(ring.len(), 7, "six corners, closed");
                    assert_eq!(ring.first(), ring.last());
                    let expected = cells::ring(cell);
                    for (got, want) in ring.iter().zip(&expected) {
                        assert!((got[0] - want[0]).abs() < 1e-7 && (got[1] - want[1]).abs() < 1e-7);
                    }
                    assert!(!points);
                }
                geojson::GeometryValue::Point { coordinates } => {
                    let c = cells::centre(cell);
                    assert!((coordinates[0] - c[0]).abs() < 1e-7 && (coordinates[1] - c[1]).abs() < 1e-7);
                    assert_eq!(first.property("weight").unwrap().as_f64(), Some(1.0));
                    assert!(points);
                }
                other => panic!("{other:?}"),
            }
        }
        let empty = collection(vec![], Resolution::Nine, &filter(), 1, false);
        let fc: geojson::FeatureCollection = serde_json::from_slice(&empty).unwrap();
        assert!(fc.features.is_empty());
    }
}
