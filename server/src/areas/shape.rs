//! The one check of a boundary or zone a beheerder draws or uploads: GeoJSON
//! polygons, closed rings, WGS 84 inside the Netherlands, a reasonable size,
//! and simple (no self-intersection, checked by PostGIS, which also says
//! where). Every problem names the place it is about, so the console can
//! point at it.

use geo::{ChamberlainDuquetteArea, MultiPolygon, Polygon};
use sqlx::PgConnection;

/// The Netherlands (European part, with the Wadden and a margin) in lon/lat.
pub const NETHERLANDS: ((f64, f64), (f64, f64)) = ((3.2, 50.7), (7.3, 53.7));

/// What a drawn shape is for; it decides the allowed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Area,
    Zone,
}

impl Purpose {
    /// Smallest and largest surface in m²: an area from a single street
    /// (0.1 ha) to a whole rural municipality (250 km²); a zone from a square
    /// (100 m²).
    pub fn size_m2(self) -> (f64, f64) {
        match self {
            Purpose::Area => (1_000.0, 250e6),
            Purpose::Zone => (100.0, 250e6),
        }
    }
}

/// Why a shape was refused, with the spot (lon, lat) where that applies.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeProblem {
    #[error("not GeoJSON: {0}")]
    NotGeoJson(String),
    #[error("expected a Polygon or MultiPolygon, found {0}")]
    NotPolygon(String),
    #[error("ring {ring} is not closed: it must end where it starts")]
    RingNotClosed { ring: usize, at: (f64, f64) },
    #[error("ring {ring} has fewer than 4 positions")]
    TooFewPoints { ring: usize },
    #[error("position {at:?} is not longitude/latitude in WGS 84")]
    NotLonLat { at: (f64, f64) },
    #[error("position {at:?} lies outside the Netherlands")]
    OutsideNetherlands { at: (f64, f64) },
    #[error("surface {m2:.0} m² is below the minimum of {min:.0} m²")]
    TooSmall { m2: f64, min: f64 },
    #[error("surface {m2:.0} m² is above the maximum of {max:.0} m²")]
    TooLarge { m2: f64, max: f64 },
    /// PostGIS's reason, e.g. "Self-intersection".
    #[error("not a simple polygon: {reason}")]
    NotSimple { reason: String, at: Option<(f64, f64)> },
    #[error("{percent:.0} % of the zone lies outside its area")]
    ZoneOutsideArea { percent: f64, at: Option<(f64, f64)> },
    #[error("the zone overlaps zone `{zone}`")]
    ZoneOverlap { zone: String, at: Option<(f64, f64)> },
}

impl ShapeProblem {
    /// The spot the problem is about, if it has one (lon, lat).
    pub fn at(&self) -> Option<(f64, f64)> {
        match self {
            ShapeProblem::RingNotClosed { at, .. }
            | ShapeProblem::NotLonLat { at }
            | ShapeProblem::OutsideNetherlands { at } => Some(*at),
            ShapeProblem::NotSimple { at, .. }
            | ShapeProblem::ZoneOutsideArea { at, .. }
            | ShapeProblem::ZoneOverlap { at, .. } => *at,
            _ => None,
        }
    }

    /// Dutch and English, for the problem document.
    pub fn texts(&self) -> (String, String) {
        let spot = |at: Option<(f64, f64)>| match at {
            Some((lon, lat)) => (format!(" (bij {lat:.6}, {lon:.6})"), format!(" (at {lat:.6}, {lon:.6})")),
            None => (String::new(), String::new()),
        };
        let (nl_at, en_at) = spot(self.at());
        let (nl, en) = match self {
            ShapeProblem::NotGeoJson(e) => {
                (format!("dit is geen geldige GeoJSON: {e}"), format!("this is not valid GeoJSON: {e}"))
            }
            ShapeProblem::NotPolygon(kind) => (
                format!("verwacht een vlak (Polygon of MultiPolygon), gevonden: {kind}"),
                format!("expected a Polygon or MultiPolygon, found {kind}"),
            ),
            ShapeProblem::RingNotClosed { ring, .. } => (
                format!("rand {ring} is niet gesloten: het laatste punt moet gelijk zijn aan het eerste"),
                format!("ring {ring} is not closed: its last position must equal its first"),
            ),
            ShapeProblem::TooFewPoints { ring } => (
                format!("rand {ring} heeft minder dan 4 punten"),
                format!("ring {ring} has fewer than 4 positions"),
            ),
            ShapeProblem::NotLonLat { .. } => (
                "de coördinaten zijn geen lengte/breedte in WGS 84 (zijn het RD-coördinaten?)".into(),
                "the coordinates are not longitude/latitude in WGS 84 (are they RD coordinates?)".into(),
            ),
            ShapeProblem::OutsideNetherlands { .. } => (
                "het vlak ligt (deels) buiten Nederland".into(),
                "the shape lies (partly) outside the Netherlands".into(),
            ),
            ShapeProblem::TooSmall { m2, min } => (
                format!("het vlak is {m2:.0} m², kleiner dan de ondergrens van {min:.0} m²"),
                format!("the shape is {m2:.0} m², below the minimum of {min:.0} m²"),
            ),
            ShapeProblem::TooLarge { m2, max } => (
                format!("het vlak is {:.1} km², groter dan de bovengrens van {:.0} km²", m2 / 1e6, max / 1e6),
                format!("the shape is {:.1} km², above the maximum of {:.0} km²", m2 / 1e6, max / 1e6),
            ),
            ShapeProblem::NotSimple { reason, .. } => {
                let nl = match reason.as_str() {
                    r if r.contains("elf-intersection") => "de rand snijdt zichzelf",
                    r if r.contains("Hole lies outside") => "een gat ligt buiten de rand",
                    r if r.contains("Too few points") => "een rand heeft te weinig punten",
                    r if r.contains("Nested shells") || r.contains("Interior is disconnected") => {
                        "de delen van het vlak liggen op of in elkaar"
                    }
                    _ => "het vlak is ongeldig",
                };
                (format!("{nl} ({reason})"), format!("the shape is not simple: {reason}"))
            }
            ShapeProblem::ZoneOutsideArea { percent, .. } => (
                format!("{percent:.0} % van de zone ligt buiten het gebied"),
                format!("{percent:.0} % of the zone lies outside the area"),
            ),
            ShapeProblem::ZoneOverlap { zone, .. } => (
                format!("de zone overlapt met zone ‘{zone}’; een melding hoort in één zone"),
                format!("the zone overlaps zone ‘{zone}’; a report belongs to one zone"),
            ),
        };
        (nl + &nl_at, en + &en_at)
    }
}

/// A shape that passed [`check`]: the polygons and their GeoJSON text for PostGIS.
#[derive(Debug, Clone)]
pub struct Shape {
    pub polygons: MultiPolygon<f64>,
    pub geojson: String,
}

/// Polygons as a GeoJSON value (for code that holds them as `geo` types).
pub fn to_value(mp: &MultiPolygon<f64>) -> serde_json::Value {
    serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(mp)))
        .expect("GeoJSON serialises")
}

/// Everything about a drawn shape's form that can be checked without the
/// database: GeoJSON polygons, closed rings, lon/lat in the Netherlands.
pub fn parse(value: &serde_json::Value) -> Result<Shape, ShapeProblem> {
    let gj = serde_json::from_value::<geojson::GeoJson>(value.clone())
        .map_err(|e| ShapeProblem::NotGeoJson(e.to_string()))?;
    let mut polygons: Vec<Vec<Vec<geojson::Position>>> = Vec::new();
    let mut take = |g: Option<geojson::Geometry>| -> Result<(), ShapeProblem> {
        match g.map(|g| g.value) {
            Some(geojson::GeometryValue::Polygon { coordinates }) => polygons.push(coordinates),
            Some(geojson::GeometryValue::MultiPolygon { coordinates }) => polygons.extend(coordinates),
            Some(other) => return Err(ShapeProblem::NotPolygon(other.type_name().to_string())),
            None => return Err(ShapeProblem::NotPolygon("a feature without geometry".into())),
        }
        Ok(())
    };
    match gj {
        geojson::GeoJson::Geometry(g) => take(Some(g))?,
        geojson::GeoJson::Feature(f) => take(f.geometry)?,
        geojson::GeoJson::FeatureCollection(fc) => {
            fc.features.into_iter().try_for_each(|f| take(f.geometry))?
        }
    }
    if polygons.is_empty() {
        return Err(ShapeProblem::NotPolygon("nothing".into()));
    }
    let ((w, s), (e, n)) = NETHERLANDS;
    let mut out = Vec::with_capacity(polygons.len());
    let mut ring_no = 0;
    for rings in polygons {
        let mut lines = Vec::with_capacity(rings.len());
        for ring in rings {
            ring_no += 1;
            if ring.len() < 4 {
                return Err(ShapeProblem::TooFewPoints { ring: ring_no });
            }
            let mut coords = Vec::with_capacity(ring.len());
            for p in &ring {
                let at = (p[0], p[1]);
                if !at.0.is_finite()
                    || !at.1.is_finite()
                    || !(-180.0..=180.0).contains(&at.0)
                    || !(-90.0..=90.0).contains(&at.1)
                {
                    return Err(ShapeProblem::NotLonLat { at });
                }
                if !(w..=e).contains(&at.0) || !(s..=n).contains(&at.1) {
                    return Err(ShapeProblem::OutsideNetherlands { at });
                }
                coords.push(geo::Coord { x: at.0, y: at.1 });
            }
            if coords.first() != coords.last() {
                return Err(ShapeProblem::RingNotClosed { ring: ring_no, at: (ring[0][0], ring[0][1]) });
            }
            lines.push(geo::LineString(coords));
        }
        let mut lines = lines.into_iter();
        let exterior = lines.next().expect("a polygon has a ring");
        out.push(Polygon::new(exterior, lines.collect()));
    }
    let polygons = MultiPolygon(out);
    let geojson = geojson::Geometry::new(geojson::GeometryValue::from(&polygons)).to_string();
    Ok(Shape { polygons, geojson })
}

/// Whether a simple shape's surface suits its purpose (measured on the
/// ellipsoid; meaningless before [`check_simple`], as a bow tie's halves cancel).
pub fn check_size(shape: &Shape, purpose: Purpose) -> Result<(), ShapeProblem> {
    let m2 = shape.polygons.chamberlain_duquette_unsigned_area();
    let (min, max) = purpose.size_m2();
    if m2 < min {
        return Err(ShapeProblem::TooSmall { m2, min });
    }
    if m2 > max {
        return Err(ShapeProblem::TooLarge { m2, max });
    }
    Ok(())
}

/// Whether PostGIS finds the shape simple; if not, why and where.
pub async fn check_simple(
    conn: &mut PgConnection,
    shape: &Shape,
) -> Result<Result<(), ShapeProblem>, sqlx::Error> {
    let row: (bool, Option<String>, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT d.valid, d.reason, ST_X(d.location), ST_Y(d.location)
           FROM ST_IsValidDetail(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) d",
    )
    .bind(&shape.geojson)
    .fetch_one(conn)
    .await?;
    Ok(match row {
        (true, ..) => Ok(()),
        (false, reason, x, y) => {
            Err(ShapeProblem::NotSimple { reason: reason.unwrap_or_else(|| "invalid".into()), at: x.zip(y) })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(lon: f64, lat: f64, d: f64) -> serde_json::Value {
        json!({"type":"Polygon","coordinates":[[[lon,lat],[lon+d,lat],[lon+d,lat+d],[lon,lat+d],[lon,lat]]]})
    }

    #[test]
    fn a_square_in_deventer_passes() {
        let s = parse(&square(6.155, 52.245, 0.005)).unwrap();
        check_size(&s, Purpose::Area).unwrap();
        assert_eq!(s.polygons.0.len(), 1);
        assert!(s.geojson.contains("Polygon"));
    }

    #[test]
    fn each_problem_says_what_and_where() {
        let open = json!({"type":"Polygon","coordinates":[[[6.1,52.2],[6.2,52.2],[6.2,52.3],[6.1,52.3]]]});
        assert_eq!(parse(&open).unwrap_err(), ShapeProblem::RingNotClosed { ring: 1, at: (6.1, 52.2) });
        let rd = square(155_000.0, 463_000.0, 100.0);
        assert!(matches!(parse(&rd), Err(ShapeProblem::NotLonLat { .. })));
        let paris = square(2.35, 48.85, 0.01);
        assert_eq!(parse(&paris).unwrap_err().at(), Some((2.35, 48.85)));
        let size = |d| check_size(&parse(&square(5.0, 52.0, d)).unwrap(), Purpose::Area);
        assert!(matches!(size(0.0001), Err(ShapeProblem::TooSmall { .. })));
        assert!(matches!(size(0.5), Err(ShapeProblem::TooLarge { .. })));
        assert!(
            check_size(&parse(&square(5.0, 52.0, 0.0002)).unwrap(), Purpose::Zone).is_ok(),
            "300 m² is a zone"
        );
        let point = json!({"type":"Point","coordinates":[6.1,52.2]});
        assert_eq!(parse(&point).unwrap_err(), ShapeProblem::NotPolygon("Point".into()));
        assert!(matches!(parse(&json!({"type":"Polygon"})), Err(ShapeProblem::NotGeoJson(_))));
        let (nl, en) = ShapeProblem::OutsideNetherlands { at: (2.35, 48.85) }.texts();
        assert!(nl.contains("buiten Nederland") && nl.contains("48.850000, 2.350000"), "{nl}");
        assert!(en.contains("outside the Netherlands"), "{en}");
    }
}
