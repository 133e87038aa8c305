//! H3 cells (h3o): the cell of an incident, resolutions, and cell outlines
//! as RFC 7946 rings.

use h3o::{CellIndex, LatLng, Resolution};

use super::error::{AnalyticsError, Result};

/// The resolution stored with every incident (about 25 m edge, 0.2 ha).
pub const FINEST: Resolution = Resolution::Eleven;
/// The resolutions the rollup keeps.
pub const LEVELS: std::ops::RangeInclusive<u8> = 7..=11;

/// The finest cell of a point, as stored in `incidents.cell`.
pub fn cell_of(lat: f64, lon: f64) -> Option<i64> {
    let ll = LatLng::new(lat, lon).ok()?;
    Some(u64::from(ll.to_cell(FINEST)) as i64)
}

/// A stored cell id back as a cell.
pub fn from_db(cell: i64) -> Option<CellIndex> {
    CellIndex::try_from(cell as u64).ok()
}

/// The heatmap's resolution policy, the one place it is decided: about one
/// cell per 15–40 pixels at the map's zoom, and never finer than the period
/// allows (see [`super::heatmap::max_days`]). The map sends its zoom; from
/// each of these zooms on, the next finer resolution may apply
/// (`/api/v1/ui-config` publishes them, so the map asks again only then).
pub const ZOOM_BREAKS: [f64; 2] = [12.5, 13.5];

/// The resolution of a heatmap over `days` days at map zoom `zoom`.
pub fn for_view(days: i64, zoom: f64) -> Resolution {
    let by_period = if days > 1_800 {
        8
    } else if days > 700 {
        9
    } else {
        10
    };
    let by_zoom = 8 + ZOOM_BREAKS.iter().filter(|b| zoom >= **b).count() as u8;
    Resolution::try_from(by_period.min(by_zoom)).expect("8-10 are resolutions")
}

/// The zoom below which a map shows a region rather than an area.
pub const REGION_ZOOM: f64 = 10.0;

/// The resolution of a heatmap across several areas: as [`for_view`], and
/// the coarsest cells (about 1.4 km) when the map is zoomed out to a region.
pub fn for_region_view(days: i64, zoom: f64) -> Resolution {
    if zoom < REGION_ZOOM { Resolution::Seven } else { for_view(days, zoom) }
}

/// Parses a `resolution` parameter (7–11).
pub fn resolution(r: u8) -> Result<Resolution> {
    if !LEVELS.contains(&r) {
        return Err(AnalyticsError::Resolution(r));
    }
    Ok(Resolution::try_from(r).expect("7-11 are resolutions"))
}

/// The cell's outline as a closed ring of `[lon, lat]`, counter-clockwise
/// (the right-hand rule of RFC 7946 for an exterior ring).
pub fn ring(cell: CellIndex) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = cell.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect();
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    if let Some(&first) = ring.first() {
        ring.push(first);
    }
    ring
}

/// The centre of a cell as `[lon, lat]`.
pub fn centre(cell: CellIndex) -> [f64; 2] {
    let ll = LatLng::from(cell);
    [ll.lng(), ll.lat()]
}

/// Twice the signed area (shoelace); positive when counter-clockwise.
pub fn signed_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// The bounding box `[minLon, minLat, maxLon, maxLat]` of a ring.
pub fn bbox(ring: &[[f64; 2]]) -> [f64; 4] {
    ring.iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
        [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])]
    })
}

/// A polygon as OGC WKB (little-endian), for handing cells to PostGIS.
pub fn wkb_polygon(ring: &[[f64; 2]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(13 + ring.len() * 16);
    out.push(1);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(ring.len() as u32).to_le_bytes());
    for p in ring {
        out.extend_from_slice(&p[0].to_le_bytes());
        out.extend_from_slice(&p[1].to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_coarsens_with_zoom_and_period() {
        let r = |days, zoom| u8::from(for_view(days, zoom));
        assert_eq!([r(28, 11.0), r(28, 12.5), r(28, 13.0), r(28, 13.5), r(28, 17.0)], [8, 9, 9, 10, 10]);
        assert_eq!([r(365, 15.0), r(701, 15.0), r(1_801, 15.0), r(1_801, 12.0)], [10, 9, 8, 8]);
        // Never finer than the period allows.
        for days in [1, 28, 700, 701, 1_800, 1_801, 3_660] {
            for zoom in [0.0, 12.5, 13.5, 22.0] {
                assert!(days <= super::super::heatmap::max_days(for_view(days, zoom)), "{days} {zoom}");
            }
        }
    }

    #[test]
    fn rings_are_closed_and_counter_clockwise() {
        let cell = from_db(cell_of(52.2500, 6.1600).unwrap()).unwrap();
        assert_eq!(cell.resolution(), FINEST);
        let r = ring(cell);
        assert_eq!(r.first(), r.last());
        assert!(r.len() >= 7);
        assert!(signed_area(&r) > 0.0);
        let c = centre(cell);
        let b = bbox(&r);
        assert!(b[0] < c[0] && c[0] < b[2] && b[1] < c[1] && c[1] < b[3]);
        assert!((c[0] - 6.16).abs() < 0.001 && (c[1] - 52.25).abs() < 0.001);
    }

    #[test]
    fn resolutions_outside_the_rollup_are_refused() {
        assert!(resolution(6).is_err());
        assert!(resolution(12).is_err());
        assert_eq!(resolution(10).unwrap(), Resolution::Ten);
    }

    #[test]
    fn sql_parent_formula_matches_h3o() {
        // The same bit operation as kvo_h3_parent in migrations/0004.
        let sql_parent = |cell: i64, res: i64| -> i64 {
            (cell & !(15i64 << 52)) | (res << 52) | ((1i64 << (3 * (15 - res))) - 1)
        };
        for (lat, lon) in [(52.25, 6.16), (52.105, 5.07), (-33.9, 18.4), (64.1, -21.9)] {
            let fine = cell_of(lat, lon).unwrap();
            for r in LEVELS {
                let want = from_db(fine).unwrap().parent(Resolution::try_from(r).unwrap()).unwrap();
                assert_eq!(sql_parent(fine, i64::from(r)), u64::from(want) as i64, "res {r}");
            }
        }
    }
}
