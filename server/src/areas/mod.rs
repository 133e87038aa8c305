//! Areas, zones and categories: creating them (the `kvo` tool), reading them
//! (API), and an in-memory index of each area's geometry that the ingest
//! path uses to check "inside the area" and to find the zone without a
//! spatial query. `shape` is the one check of a drawn boundary or zone.

pub mod shape;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use geo::{Coord, Distance, Euclidean, Intersects, MapCoords, MultiPolygon, Point};
use h3o::{
    CellIndex, Resolution,
    geom::{ContainmentMode, TilerBuilder},
};
use kvo_api::{
    Dimension, Theme, ValidationError,
    questions::{Answers, Question, check_answers},
    wire::{Area, AreaKind, CategoryInfo, CategoryList, Zone},
};
use sqlx::{PgConnection, PgPool, types::Json};
use uuid::Uuid;

use crate::{
    cache::Cache,
    column,
    error::{Error, Result},
};

/// How long an area's index is trusted before its version is checked again.
/// Areas, zones and categories change rarely and also from the `kvo` tool
/// (another process); a change is seen by every server within this time.
const INDEX_TTL: Duration = Duration::from_secs(10);

/// Parses GeoJSON text (a Polygon, MultiPolygon, Feature or a FeatureCollection
/// of polygons) into one MultiPolygon.
pub fn parse_polygon_geojson(text: &str) -> anyhow::Result<MultiPolygon<f64>> {
    let gj: geojson::GeoJson = text.parse().context("not valid GeoJSON")?;
    let mut polys = Vec::new();
    let mut push = |g: geojson::Geometry| -> anyhow::Result<()> {
        match geo::Geometry::<f64>::try_from(g).context("unsupported geometry")? {
            geo::Geometry::Polygon(p) => polys.push(p),
            geo::Geometry::MultiPolygon(mp) => polys.extend(mp.0),
            other => bail!("expected a Polygon or MultiPolygon, found {other:?}"),
        }
        Ok(())
    };
    match gj {
        geojson::GeoJson::Geometry(g) => push(g)?,
        geojson::GeoJson::Feature(f) => push(f.geometry.context("feature has no geometry")?)?,
        geojson::GeoJson::FeatureCollection(fc) => {
            for f in fc.features {
                push(f.geometry.context("feature has no geometry")?)?;
            }
        }
    }
    if polys.is_empty() {
        bail!("no polygon found");
    }
    for p in &polys {
        for c in p.exterior().coords() {
            if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
                bail!("coordinate {},{} is not lon/lat in WGS 84", c.x, c.y);
            }
        }
    }
    Ok(MultiPolygon(polys))
}

/// Reads an area with its (live) zones.
pub async fn get_area(pool: &PgPool, area_id: Uuid) -> Result<Area> {
    get_area_in(&mut *pool.acquire().await?, area_id).await
}

/// [`get_area`] on a connection (inside a transaction).
pub async fn get_area_in(conn: &mut PgConnection, area_id: Uuid) -> Result<Area> {
    let a = sqlx::query!(
        r#"SELECT name, kind, municipality, ST_AsGeoJSON(boundary, 7) AS "boundary!",
                  baseline_from, baseline_to, archived_at
             FROM areas WHERE id = $1"#,
        area_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    let zones = sqlx::query!(
        r#"SELECT id, name, ST_AsGeoJSON(geom, 7) AS "geometry!" FROM zones
            WHERE area_id = $1 AND deleted_at IS NULL ORDER BY name"#,
        area_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Area {
        id: area_id,
        name: a.name,
        kind: column::code(&a.kind, AreaKind::from_code)?,
        municipality: a.municipality,
        boundary: serde_json::from_str(&a.boundary).context("PostGIS GeoJSON")?,
        zones: zones
            .into_iter()
            .map(|z| Ok(Zone { id: z.id, name: z.name, geometry: serde_json::from_str(&z.geometry)? }))
            .collect::<anyhow::Result<_>>()?,
        baseline_from: a.baseline_from,
        baseline_to: a.baseline_to,
        archived_at: a.archived_at,
    })
}

/// Sets (or clears) the area's nul-meting period, first and last day inclusive.
pub async fn set_baseline(
    pool: &PgPool,
    area_id: Uuid,
    period: Option<(NaiveDate, NaiveDate)>,
) -> anyhow::Result<()> {
    if let Some((from, to)) = period
        && from > to
    {
        bail!("the baseline starts after it ends");
    }
    let n = sqlx::query("UPDATE areas SET baseline_from = $2, baseline_to = $3 WHERE id = $1")
        .bind(area_id)
        .bind(period.map(|p| p.0))
        .bind(period.map(|p| p.1))
        .execute(pool)
        .await?
        .rows_affected();
    if n == 0 {
        bail!("area {area_id} does not exist");
    }
    Ok(())
}

/// The enabled categories of an area, in display order, with their extra
/// questions.
pub async fn categories(pool: &PgPool, area_id: Uuid) -> Result<CategoryList> {
    let categories = read_categories(pool, &[area_id])
        .await?
        .remove(&area_id)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, enabled)| *enabled)
        .map(|(c, _)| c)
        .collect();
    Ok(CategoryList { area_id, categories })
}

/// What the ingest path needs to know of an area, held in memory.
#[derive(Debug)]
pub struct AreaIndex {
    id: Uuid,
    /// `areas.index_version` when this was read.
    version: i64,
    boundary: MultiPolygon<f64>,
    /// An archived area accepts nothing new.
    archived: bool,
    zones: Vec<(Uuid, String, MultiPolygon<f64>)>,
    enabled: HashSet<String>,
    /// Every category of the area, also disabled ones (their history still counts).
    categories: Vec<CategoryInfo>,
    /// The nul-meting period, inclusive.
    baseline: Option<(NaiveDate, NaiveDate)>,
    /// The H3 cells covering the area, per resolution 7–11, computed on first use.
    coverage: [OnceLock<Arc<Vec<CellIndex>>>; 5],
}

/// Every category of the areas `ids` in display order, and whether it is
/// enabled: the one reader behind the published list and the areas' indexes.
async fn read_categories(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<(CategoryInfo, bool)>>> {
    let rows = sqlx::query!(
        r#"SELECT area_id, code, label_nl, label_en, theme, dimension, urgent, enabled,
                  questions AS "questions: Json<Vec<Question>>"
             FROM categories WHERE area_id = ANY($1) ORDER BY area_id, sort_order, code"#,
        ids
    )
    .fetch_all(pool)
    .await?;
    let mut by_area: HashMap<Uuid, Vec<(CategoryInfo, bool)>> = HashMap::new();
    for r in rows {
        let meta = CategoryInfo {
            theme: column::code_opt(r.theme.as_deref(), Theme::from_code)?,
            dimension: column::code_opt(r.dimension.as_deref(), Dimension::from_code)?,
            code: r.code,
            label_nl: r.label_nl,
            label_en: r.label_en,
            urgent: r.urgent,
            questions: r.questions.0,
        };
        by_area.entry(r.area_id).or_default().push((meta, r.enabled));
    }
    Ok(by_area)
}

/// Where a reported point falls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub zone_id: Option<Uuid>,
}

impl AreaIndex {
    /// The area's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Checks the category and the location of a report: the point must lie in
    /// the area or within `margin_m` of its boundary. Returns the zone it lies in.
    pub fn place(
        &self,
        category: &str,
        lat: f64,
        lon: f64,
        margin_m: f64,
    ) -> Result<Placement, ValidationError> {
        if self.archived {
            return Err(ValidationError::Other {
                field: "area_id",
                reason: "the area has been archived and accepts no new reports",
                reason_nl: "het gebied is gearchiveerd en neemt geen nieuwe meldingen aan",
            });
        }
        if !self.enabled.contains(category) {
            return Err(ValidationError::Category(kvo_api::validate::shown(category)));
        }
        self.locate(lat, lon, margin_m)
    }

    /// Checks that a point lies in the area or within `margin_m` of its
    /// boundary, and returns the zone it lies in.
    pub fn locate(&self, lat: f64, lon: f64, margin_m: f64) -> Result<Placement, ValidationError> {
        let p = Point::new(lon, lat);
        if !self.boundary.intersects(&p) {
            let distance_m = distance_m(&self.boundary, p);
            if distance_m > margin_m {
                return Err(ValidationError::OutsideArea { distance_m, margin_m });
            }
            return Ok(Placement { zone_id: None });
        }
        let zone_id = self.zones.iter().find(|(_, _, g)| g.intersects(&p)).map(|(id, _, _)| *id);
        Ok(Placement { zone_id })
    }

    /// Checks a report's answers against its (enabled) category's questions.
    pub fn check_answers(&self, category: &str, answers: &Answers) -> Result<(), ValidationError> {
        let questions = self.category(category).map(|c| c.questions.as_slice()).unwrap_or_default();
        check_answers(questions, answers)
    }

    /// The name of one of the area's zones.
    pub fn zone_name(&self, id: Uuid) -> Option<&str> {
        self.zones.iter().find(|(z, _, _)| *z == id).map(|(_, n, _)| n.as_str())
    }

    /// The zones as (id, name), sorted by name.
    pub fn zones(&self) -> impl Iterator<Item = (Uuid, &str)> {
        self.zones.iter().map(|(id, name, _)| (*id, name.as_str()))
    }

    /// Every category of the area, enabled or not, in display order.
    pub fn categories(&self) -> &[CategoryInfo] {
        &self.categories
    }

    /// Whether reports of a category are accepted.
    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(code)
    }

    /// One category by code.
    pub fn category(&self, code: &str) -> Option<&CategoryInfo> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The nul-meting period (first and last day), if the werkgroep set one.
    pub fn baseline(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.baseline
    }

    /// The H3 cells at `res` (7–11) that cover the area's boundary.
    pub fn coverage(&self, res: Resolution) -> Arc<Vec<CellIndex>> {
        let slot = &self.coverage[usize::from(u8::from(res)).saturating_sub(7).min(4)];
        slot.get_or_init(|| {
            let mut tiler = TilerBuilder::new(res).containment_mode(ContainmentMode::Covers).build();
            for p in &self.boundary.0 {
                // The boundary was validated by PostGIS when it was stored.
                if let Err(e) = tiler.add(p.clone()) {
                    tracing::warn!(error = %e, "area boundary cannot be tiled");
                }
            }
            let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
            cells.sort_unstable();
            cells.dedup();
            Arc::new(cells)
        })
        .clone()
    }
}

/// Distance in metres from `p` to `mp`, on a local equirectangular projection
/// around `p` (well under 1 % error at the scale of an area).
fn distance_m(mp: &MultiPolygon<f64>, p: Point<f64>) -> f64 {
    const M_PER_DEG_LAT: f64 = 110_574.0;
    let m_per_deg_lon = 111_320.0 * p.y().to_radians().cos();
    let project =
        |c: Coord<f64>| Coord { x: (c.x - p.x()) * m_per_deg_lon, y: (c.y - p.y()) * M_PER_DEG_LAT };
    let local = mp.map_coords(project);
    Euclidean.distance(&Point::new(0.0, 0.0), &local)
}

/// An area as the administrator lists it.
#[derive(Debug, Clone)]
pub struct AreaSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: AreaKind,
    pub incidents: i64,
}

/// Every area with its number of incidents, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<AreaSummary>> {
    let rows = sqlx::query!(
        r#"SELECT a.id, a.name, a.kind,
                  (SELECT count(*) FROM incidents i WHERE i.area_id = a.id) AS "incidents!"
             FROM areas a ORDER BY a.name"#
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let kind = column::code(&r.kind, AreaKind::from_code)?;
            Ok(AreaSummary { id: r.id, name: r.name, kind, incidents: r.incidents })
        })
        .collect()
}

/// Area indexes by id, loaded on demand. An entry is trusted for
/// [`INDEX_TTL`]; after that one query compares its version with the
/// database's (`areas.index_version`, bumped by triggers on every change from
/// any process) and only a changed area is loaded again (ADR 0020).
pub struct AreaCache(Cache<Uuid, Arc<AreaIndex>>);

impl Default for AreaCache {
    fn default() -> Self {
        AreaCache::with_ttl(INDEX_TTL)
    }
}

impl AreaCache {
    /// A cache that trusts an entry for `ttl` before revalidating it.
    pub fn with_ttl(ttl: Duration) -> Self {
        AreaCache(Cache::with_ttl(ttl, 10_000))
    }

    /// The index of `area_id`, from memory or freshly loaded.
    pub async fn get(&self, pool: &PgPool, area_id: Uuid) -> Result<Arc<AreaIndex>> {
        if let Some(idx) = self.0.get(&area_id) {
            return Ok(idx);
        }
        let mut all = self.get_many(pool, &[area_id]).await?;
        all.pop().ok_or(Error::NotFound)
    }

    /// The indexes of `ids`, in their order: those trusted from memory, the
    /// others revalidated together with one query and loaded together with
    /// three. An id that names no area is [`Error::NotFound`].
    pub async fn get_many(&self, pool: &PgPool, ids: &[Uuid]) -> Result<Vec<Arc<AreaIndex>>> {
        let mut found: HashMap<Uuid, Arc<AreaIndex>> = HashMap::with_capacity(ids.len());
        let mut doubt = Vec::new();
        for id in ids {
            match self.0.get(id) {
                Some(idx) => _ = found.insert(*id, idx),
                None => doubt.push(*id),
            }
        }
        if !doubt.is_empty() {
            let versions = sqlx::query!("SELECT id, index_version FROM areas WHERE id = ANY($1)", &doubt)
                .fetch_all(pool)
                .await?;
            let mut changed = Vec::new();
            for v in versions {
                match self.0.get_any_age(&v.id) {
                    Some(idx) if idx.version == v.index_version => {
                        self.0.put(v.id, idx.clone());
                        found.insert(v.id, idx);
                    }
                    _ => changed.push(v.id),
                }
            }
            for idx in load_indexes(pool, &changed).await? {
                let idx = Arc::new(idx);
                self.0.put(idx.id, idx.clone());
                found.insert(idx.id, idx);
            }
        }
        ids.iter().map(|id| found.get(id).cloned().ok_or(Error::NotFound)).collect()
    }

    /// Forgets an area's index after a change (in this process; others
    /// see the new version after [`INDEX_TTL`]).
    pub fn forget(&self, area_id: Uuid) {
        self.0.remove(&area_id);
    }
}

/// The indexes of the areas `ids` (those that exist), read together. The
/// version is read with the boundary and before the zones and categories, so
/// an index is never older than the version it carries.
async fn load_indexes(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<AreaIndex>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let areas = sqlx::query!(
        r#"SELECT id, index_version, ST_AsGeoJSON(boundary) AS "boundary!", baseline_from, baseline_to,
                  archived_at
             FROM areas WHERE id = ANY($1)"#,
        ids
    )
    .fetch_all(pool)
    .await?;
    let mut zones: HashMap<Uuid, Vec<_>> = HashMap::new();
    for z in sqlx::query!(
        r#"SELECT area_id, id, name, ST_AsGeoJSON(geom) AS "geometry!" FROM zones
            WHERE area_id = ANY($1) AND deleted_at IS NULL ORDER BY area_id, name"#,
        ids
    )
    .fetch_all(pool)
    .await?
    {
        zones.entry(z.area_id).or_default().push((z.id, z.name, parse_polygon_geojson(&z.geometry)?));
    }
    let mut categories = read_categories(pool, ids).await?;
    areas
        .into_iter()
        .map(|a| {
            let rows = categories.remove(&a.id).unwrap_or_default();
            let enabled = rows.iter().filter(|(_, on)| *on).map(|(c, _)| c.code.clone()).collect();
            Ok(AreaIndex {
                id: a.id,
                version: a.index_version,
                boundary: parse_polygon_geojson(&a.boundary)?,
                archived: a.archived_at.is_some(),
                zones: zones.remove(&a.id).unwrap_or_default(),
                enabled,
                categories: rows.into_iter().map(|(c, _)| c).collect(),
                baseline: a.baseline_from.zip(a.baseline_to),
                coverage: Default::default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> AreaIndex {
        // About 680 m × 1,110 m around Deventer's Brink.
        let gj = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.245],[6.165,52.255],[6.155,52.255],[6.155,52.245]]]}"#;
        let zone = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.160,52.245],[6.160,52.250],[6.155,52.250],[6.155,52.245]]]}"#;
        AreaIndex {
            id: Uuid::nil(),
            version: 1,
            boundary: parse_polygon_geojson(gj).unwrap(),
            archived: false,
            zones: vec![(Uuid::nil(), "Brink".into(), parse_polygon_geojson(zone).unwrap())],
            enabled: ["diefstal".to_string()].into(),
            categories: vec![],
            baseline: None,
            coverage: Default::default(),
        }
    }

    #[test]
    fn inside_finds_zone_and_margin_is_measured_in_metres() {
        let a = square();
        assert_eq!(a.place("diefstal", 52.247, 6.157, 50.0).unwrap().zone_id, Some(Uuid::nil()));
        assert_eq!(a.place("diefstal", 52.252, 6.162, 50.0).unwrap().zone_id, None);
        // 0.0005° of latitude north of the boundary is about 55 m.
        let just_out = a.place("diefstal", 52.2555, 6.160, 100.0);
        assert_eq!(just_out.unwrap().zone_id, None);
        match a.place("diefstal", 52.2555, 6.160, 50.0) {
            Err(ValidationError::OutsideArea { distance_m, .. }) => {
                assert!((distance_m - 55.3).abs() < 1.0, "{distance_m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disabled_category_is_refused() {
        assert_eq!(
            square().place("graffiti", 52.247, 6.157, 50.0),
            Err(ValidationError::Category("graffiti".into()))
        );
    }

    #[test]
    fn geojson_parsing_rejects_non_polygons_and_projected_coordinates() {
        assert!(parse_polygon_geojson(r#"{"type":"Point","coordinates":[5,52]}"#).is_err());
        assert!(parse_polygon_geojson(
            r#"{"type":"Polygon","coordinates":[[[155000,463000],[156000,463000],[156000,464000],[155000,463000]]]}"#
        )
        .is_err());
        assert!(parse_polygon_geojson("nonsense").is_err());
    }
}
