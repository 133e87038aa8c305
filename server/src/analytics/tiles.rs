//! `GET /api/v1/areas/{id}/tiles/{z}/{x}/{y}`: Mapbox vector tiles made by
//! PostGIS (ST_AsMVT). Zoomed out, a tile holds the rollup's cells (layer
//! `cells`); from zoom 16 on, the individual incidents (layer `incidents`:
//! id, category, status, occurred_at; nothing personal) for roles that may
//! see them, and the finest cells for the others.
//!
//! Tiles are cached in memory under the area's data version
//! ([`rollup::version`]), which changes with every added, changed or removed
//! incident, from any process; a cached tile costs one small query.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use h3o::Resolution;
use sha2::{Digest, Sha256};

use super::{Filter, FilterParams, cells, privacy::Disclosure, rollup};
use crate::{
    auth::AreaAccess,
    error::{AppError, AppResult},
    state::AppState,
};

/// The deepest zoom served (MapLibre overzooms beyond it).
pub const MAX_ZOOM: u8 = 22;
/// From this zoom on, tiles hold individual incidents.
pub const POINTS_FROM_ZOOM: u8 = 16;
/// At most this many incidents in one tile (the newest), which keeps a tile
/// far below 500 KB.
pub const MAX_POINTS: i64 = 5_000;
/// Tiles larger than this are never sent.
pub const MAX_TILE_BYTES: usize = 500 * 1024;

/// A tile and its entity tag.
#[derive(Clone)]
pub struct Tile {
    pub bytes: Arc<Vec<u8>>,
    pub etag: String,
}

/// The H3 resolution of the cells shown at zoom `z`: cells of about 10–30
/// pixels across at Dutch latitudes.
pub fn resolution_for_zoom(z: u8) -> Resolution {
    match z {
        0..=11 => Resolution::Seven,
        12..=13 => Resolution::Eight,
        14 => Resolution::Nine,
        15 => Resolution::Ten,
        _ => Resolution::Eleven,
    }
}

/// The tile's bounds in degrees `[west, south, east, north]`.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| (std::f64::consts::PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    [lon(f64::from(x)), lat(f64::from(y) + 1.0), lon(f64::from(x) + 1.0), lat(f64::from(y))]
}

/// Checks the tile address.
pub fn check_address(z: u8, x: u32, y: u32) -> AppResult<()> {
    if z > MAX_ZOOM {
        return Err(AppError::bad_request(
            "z",
            format!("zoomniveau {z} bestaat niet; het hoogste is {MAX_ZOOM}"),
            format!("zoom level {z} does not exist; the highest is {MAX_ZOOM}"),
        ));
    }
    let n = 1u64 << z;
    if u64::from(x) >= n || u64::from(y) >= n {
        return Err(AppError::bad_request(
            "x",
            "deze tegel bestaat niet op dit zoomniveau",
            "this tile does not exist at this zoom level",
        ));
    }
    Ok(())
}

/// A tile for `access.area_id`, from the cache when the area's data did not change.
pub async fn tile(
    state: &AppState,
    access: &AreaAccess,
    z: u8,
    x: u32,
    y: u32,
    q: &FilterParams,
) -> AppResult<Tile> {
    check_address(z, x, y)?;
    let area = state.areas.get(&state.pool, access.area_id).await?;
    let filter = Filter::resolve(q.raw(), &area, crate::nl_time::today())?;
    let disclosure = Disclosure::of(access.role);
    let points = z >= POINTS_FROM_ZOOM && disclosure.individual_incidents();
    let res = resolution_for_zoom(z);
    if !points {
        super::heatmap::check_cost(res, &filter)?;
    }
    let key = format!("{}/{z}/{x}/{y}?{}&{}", access.area_id, filter.key(), disclosure.code());
    let version = rollup::version(&state.pool, access.area_id).await?;
    if let Some(t) = state.tiles.get(&key, version) {
        state.metrics.tile_served(true);
        return Ok(t);
    }
    let bytes = if points {
        incident_tile(state, access, z, x, y, &filter).await?
    } else {
        cell_tile(state, access, z, x, y, res, &filter, disclosure).await?
    };
    if bytes.len() > MAX_TILE_BYTES {
        // Cannot happen with MAX_POINTS; refuse rather than send a huge tile.
        return Err(AppError::Internal(anyhow::anyhow!("tile of {} bytes", bytes.len())));
    }
    let etag =
        format!("\"{}\"", &hex::encode(Sha256::digest(format!("{key}#{}.{}", version.0, version.1)))[..32]);
    let t = Tile { bytes: Arc::new(bytes), etag };
    state.tiles.put(key, version, t.clone());
    state.metrics.tile_served(false);
    Ok(t)
}

#[allow(clippy::too_many_arguments)]
async fn cell_tile(
    state: &AppState,
    access: &AreaAccess,
    z: u8,
    x: u32,
    y: u32,
    res: Resolution,
    filter: &Filter,
    disclosure: Disclosure,
) -> AppResult<Vec<u8>> {
    let counts = rollup::cell_counts(&state.pool, access.area_id, res, filter).await?;
    let [w, s, e, n] = tile_bounds(z, x, y);
    // A little margin, as the tile has a buffer.
    let (mx, my) = ((e - w) * 0.02, (n - s) * 0.02);
    let (mut wkb, mut ids, mut ns) = (vec![], vec![], vec![]);
    for (cell, count) in counts {
        let Some(count) = disclosure.count(count) else { continue };
        let ring = cells::ring(cell);
        let b = cells::bbox(&ring);
        if b[2] < w - mx || b[0] > e + mx || b[3] < s - my || b[1] > n + my {
            continue;
        }
        wkb.push(cells::wkb_polygon(&ring));
        ids.push(cell.to_string());
        ns.push(count);
    }
    if wkb.is_empty() {
        return Ok(vec![]);
    }
    let tile: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT ST_AsMVT(t, 'cells', 4096, 'geom') FROM (
             SELECT ST_AsMVTGeom(ST_Transform(ST_GeomFromWKB(u.w, 4326), 3857), ST_TileEnvelope($1, $2, $3),
                                 4096, 64, true) AS geom,
                    u.cell, u.count
               FROM unnest($4::bytea[], $5::text[], $6::int8[]) AS u(w, cell, count)
         ) t WHERE geom IS NOT NULL",
    )
    .bind(i32::from(z))
    .bind(x as i32)
    .bind(y as i32)
    .bind(&wkb)
    .bind(&ids)
    .bind(&ns)
    .fetch_one(&state.pool)
    .await?;
    Ok(tile.unwrap_or_default())
}

async fn incident_tile(
    state: &AppState,
    access: &AreaAccess,
    z: u8,
    x: u32,
    y: u32,
    filter: &Filter,
) -> AppResult<Vec<u8>> {
    let tile: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT ST_AsMVT(t, 'incidents', 4096, 'geom') FROM (
             SELECT ST_AsMVTGeom(ST_Transform(i.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
                    i.id::text AS id, i.category, i.status,
                    extract(epoch FROM i.occurred_at)::int8 AS occurred_at
               FROM incidents i
              WHERE i.area_id = $4 AND kvo_counts(i.cell, i.merged_into)
                AND i.geom && ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326)
                AND i.occurred_at >= ($5::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
                AND i.occurred_at < ($6::date::timestamp AT TIME ZONE 'Europe/Amsterdam')
                AND ($7::text[] IS NULL OR i.category = ANY($7)) AND ($8::text[] IS NULL OR i.status = ANY($8))
              ORDER BY i.occurred_at DESC
              LIMIT $9
         ) t WHERE geom IS NOT NULL",
    )
    .bind(i32::from(z))
    .bind(x as i32)
    .bind(y as i32)
    .bind(access.area_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(&filter.categories)
    .bind(&filter.statuses)
    .bind(MAX_POINTS)
    .fetch_one(&state.pool)
    .await?;
    Ok(tile.unwrap_or_default())
}

/// Tiles by key, each with the data version it was made from; the oldest
/// entries go first when the byte budget is spent.
pub struct TileCache {
    inner: Mutex<CacheInner>,
    budget: usize,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<String, ((i64, i64), Tile)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Default for TileCache {
    fn default() -> Self {
        TileCache::with_budget(64 * 1024 * 1024)
    }
}

impl TileCache {
    /// A cache holding at most `budget` bytes of tiles.
    pub fn with_budget(budget: usize) -> TileCache {
        TileCache { inner: Mutex::default(), budget }
    }

    fn get(&self, key: &str, version: (i64, i64)) -> Option<Tile> {
        let inner = self.inner.lock().expect("tile cache poisoned");
        inner.map.get(key).filter(|(v, _)| *v == version).map(|(_, t)| t.clone())
    }

    fn put(&self, key: String, version: (i64, i64), tile: Tile) {
        let mut inner = self.inner.lock().expect("tile cache poisoned");
        let size = tile.bytes.len() + key.len();
        if let Some((_, old)) = inner.map.insert(key.clone(), (version, tile)) {
            inner.bytes -= old.bytes.len() + key.len();
        } else {
            inner.order.push_back(key);
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            let Some(k) = inner.order.pop_front() else { break };
            if let Some((_, t)) = inner.map.remove(&k) {
                inner.bytes -= t.bytes.len() + k.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_bounds_of_a_deventer_tile() {
        // Zoom 14 tile holding Deventer's Brink (6.16 E, 52.25 N).
        let (x, y) = (8472, 5393);
        let [w, s, e, n] = tile_bounds(14, x, y);
        assert!(w < 6.16 && 6.16 < e && s < 52.25 && 52.25 < n, "{w} {s} {e} {n}");
        assert!(check_address(14, x, y).is_ok());
        assert!(check_address(23, 0, 0).is_err());
        assert!(check_address(2, 4, 0).is_err());
    }

    #[test]
    fn the_cache_keeps_to_its_budget_and_its_versions() {
        let c = TileCache::with_budget(1_000);
        let t = |n: usize| Tile { bytes: Arc::new(vec![0; n]), etag: String::new() };
        c.put("a".into(), (1, 0), t(400));
        c.put("b".into(), (1, 0), t(400));
        assert!(c.get("a", (1, 0)).is_some());
        assert!(c.get("a", (1, 1)).is_none(), "another version is a miss");
        c.put("c".into(), (1, 0), t(400));
        assert!(c.get("a", (1, 0)).is_none(), "the oldest went first");
        assert!(c.get("c", (1, 0)).is_some());
        c.put("c".into(), (2, 0), t(100));
        assert!(c.get("c", (2, 0)).is_some());
    }
}
