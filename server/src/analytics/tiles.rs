//! `GET /api/v1/areas/{id}/tiles/{z}/{x}/{y}`: Mapbox vector tiles of the
//! individual incidents (layer `incidents`: id, category, status,
//! occurred_at; nothing personal), made by PostGIS (ST_AsMVT), from zoom 16
//! on and for roles that may see single incidents. Cells at every zoom, for
//! every role, come from the heatmap ([`super::heatmap`]): one delivery path.
//!
//! Tiles are cached in memory under the area's data version
//! ([`rollup::version`]), which changes with every added, changed or removed
//! incident, from any process; a cached tile costs one small query.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use sqlx::PgPool;

use super::error::{AnalyticsError, Result};
use super::{Filter, RawFilter, privacy::Disclosure, rollup};
use crate::{areas::AreaCache, auth::AreaAccess, cache::Cache};

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

/// The tile's bounds in degrees `[west, south, east, north]`.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| (std::f64::consts::PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    [lon(f64::from(x)), lat(f64::from(y) + 1.0), lon(f64::from(x) + 1.0), lat(f64::from(y))]
}

/// Checks the tile address.
pub fn check_address(z: u8, x: u32, y: u32) -> Result<()> {
    if z > MAX_ZOOM {
        return Err(AnalyticsError::Zoom(z));
    }
    let n = 1u64 << z;
    if u64::from(x) >= n || u64::from(y) >= n {
        return Err(AnalyticsError::TileOutside);
    }
    Ok(())
}

/// A tile's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A tile and whether it came from the cache.
pub struct Served {
    pub tile: Tile,
    pub cached: bool,
}

/// A tile for `access.area_id`, from the cache when the area's data did not change.
pub async fn tile(
    pool: &PgPool,
    areas: &AreaCache,
    cache: &TileCache,
    access: &AreaAccess,
    TileId { z, x, y }: TileId,
    raw: &RawFilter,
) -> Result<Served> {
    check_address(z, x, y)?;
    if z < POINTS_FROM_ZOOM {
        return Err(AnalyticsError::TileZoom(z));
    }
    if !Disclosure::of(access.role).individual_incidents() {
        return Err(AnalyticsError::IncidentTiles);
    }
    let area = areas.get(pool, access.area_id).await?;
    let filter = Filter::resolve(raw, &area, crate::nl_time::today())?;
    let key = format!("{}/{z}/{x}/{y}?{}", access.area_id, filter.key());
    let version = rollup::version(pool, access.area_id).await?;
    if let Some((_, tile)) = cache.0.get_if(&key, |(v, _)| *v == version) {
        return Ok(Served { tile, cached: true });
    }
    let bytes = incident_tile(pool, access, TileId { z, x, y }, &filter).await?;
    if bytes.len() > MAX_TILE_BYTES {
        // Cannot happen with MAX_POINTS; refuse rather than send a huge tile.
        return Err(anyhow::anyhow!("tile of {} bytes", bytes.len()).into());
    }
    let etag =
        format!("\"{}\"", &hex::encode(Sha256::digest(format!("{key}#{}.{}", version.0, version.1)))[..32]);
    let t = Tile { bytes: Arc::new(bytes), etag };
    cache.0.put(key, (version, t.clone()));
    Ok(Served { tile: t, cached: false })
}

async fn incident_tile(
    pool: &PgPool,
    access: &AreaAccess,
    TileId { z, x, y }: TileId,
    filter: &Filter,
) -> Result<Vec<u8>> {
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
    .bind(filter.status_codes())
    .bind(MAX_POINTS)
    .fetch_one(pool)
    .await?;
    Ok(tile.unwrap_or_default())
}

/// Tiles by key, each with the data version it was made from; the oldest
/// entries go first when the byte budget is spent.
pub struct TileCache(Cache<String, ((i64, i64), Tile)>);

impl Default for TileCache {
    fn default() -> Self {
        TileCache::with_budget(64 * 1024 * 1024)
    }
}

impl TileCache {
    /// A cache holding at most `budget` bytes of tiles.
    pub fn with_budget(budget: usize) -> TileCache {
        TileCache(Cache::new(None, budget, |k, (_, t)| k.len() + t.bytes.len()))
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
}
