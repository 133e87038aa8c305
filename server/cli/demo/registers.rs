//! The demo's registers: a handful of streets per area (real names, drawn
//! straight by hand: believable, not surveyed), a lamp post every 30 m along
//! them and a waste bin halfway, imported through the same code as a
//! gemeente's files; then the demo's lighting reports are linked to the
//! nearest lamp post within 50 m, so the werkgroep sees posts reported again
//! and again.

use kvo_api::registers::AssetKind;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use kvo_server::admin::Admin;

/// A street: its name and its line (lon, lat).
pub type Street = (&'static str, [(f64, f64); 2]);

pub const DEVENTER: &[Street] = &[
    ("Bergstraat", [(6.1533, 52.2483), (6.1562, 52.2506)]),
    ("Walstraat", [(6.1528, 52.2522), (6.1566, 52.2500)]),
    ("Assenstraat", [(6.1519, 52.2489), (6.1534, 52.2521)]),
    ("Brink", [(6.1576, 52.2503), (6.1608, 52.2521)]),
    ("Lange Bisschopstraat", [(6.1553, 52.2533), (6.1590, 52.2563)]),
    ("Korte Bisschopstraat", [(6.1590, 52.2528), (6.1601, 52.2546)]),
    ("Keizerstraat", [(6.1600, 52.2531), (6.1642, 52.2521)]),
    ("Nieuwstraat", [(6.1612, 52.2490), (6.1631, 52.2546)]),
];

pub const LAGE_WEIDE: &[Street] = &[
    ("Atoomweg", [(5.0600, 52.1050), (5.0880, 52.1050)]),
    ("Isotopenweg", [(5.0620, 52.1100), (5.0880, 52.1100)]),
    ("Cartesiusweg", [(5.0650, 52.1150), (5.0850, 52.1150)]),
    ("Nijverheidsweg", [(5.0700, 52.0990), (5.0700, 52.1170)]),
    ("Ravenswade", [(5.0820, 52.1000), (5.0820, 52.1170)]),
];

/// Metres between lamp posts along a street.
const LAMP_SPACING_M: f64 = 30.0;
/// How far a lighting report may be from the lamp post it is linked to.
const LINK_WITHIN_M: f64 = 50.0;

/// Points every `spacing` metres along a straight line, both ends included.
fn along(line: [(f64, f64); 2], spacing: f64) -> Vec<(f64, f64)> {
    let [(x0, y0), (x1, y1)] = line;
    let metres_per_lon = 111_320.0 * y0.to_radians().cos();
    let length = ((x1 - x0) * metres_per_lon).hypot((y1 - y0) * 111_320.0);
    let n = (length / spacing).floor().max(1.0) as usize;
    (0..=n).map(|i| i as f64 / n as f64).map(|f| (x0 + f * (x1 - x0), y0 + f * (y1 - y0))).collect()
}

fn points(items: impl IntoIterator<Item = (String, (f64, f64))>) -> Vec<u8> {
    let features: Vec<_> = items
        .into_iter()
        .map(|(id, (lon, lat))| {
            json!({ "type": "Feature", "id": id, "properties": {},
                    "geometry": { "type": "Point", "coordinates": [lon, lat] } })
        })
        .collect();
    serde_json::to_vec(&json!({ "type": "FeatureCollection", "features": features })).expect("JSON")
}

/// Imports the streets, lamp posts and waste bins of an area and links its
/// lighting reports; returns (lamp posts, linked reports).
pub async fn seed(pool: &PgPool, area_id: Uuid, streets: &[Street]) -> anyhow::Result<(u32, u64)> {
    let admin = Admin::server(pool, "");
    let explain = |e: kvo_server::admin::AdminError| anyhow::anyhow!("{e}");
    let lines: Vec<_> = streets
        .iter()
        .map(|(name, [(x0, y0), (x1, y1)])| {
            json!({ "type": "Feature", "properties": { "straatnaam": name },
                    "geometry": { "type": "LineString", "coordinates": [[x0, y0], [x1, y1]] } })
        })
        .collect();
    let file = serde_json::to_vec(&json!({ "type": "FeatureCollection", "features": lines }))?;
    admin.import_streets(area_id, &file).await.map_err(explain)?;

    let lamps = streets.iter().flat_map(|(_, line)| along(*line, LAMP_SPACING_M));
    let lamps = points(lamps.enumerate().map(|(i, p)| (format!("L-{:04}", i + 1), p)));
    let imported = admin.import_register(area_id, AssetKind::Lichtmast, &lamps).await.map_err(explain)?;
    let bins = streets.iter().map(|(_, [(x0, y0), (x1, y1)])| ((x0 + x1) / 2.0, (y0 + y1) / 2.0));
    let bins = points(bins.enumerate().map(|(i, p)| (format!("AB-{:03}", i + 1), p)));
    admin.import_register(area_id, AssetKind::Afvalbak, &bins).await.map_err(explain)?;

    sqlx::query(
        "UPDATE incidents i
            SET asset_id = (SELECT a.id FROM assets a
                             WHERE a.area_id = i.area_id AND a.kind = 'lichtmast' AND a.removed_at IS NULL
                               AND ST_DWithin(a.geom::geography, i.geom::geography, $2)
                             ORDER BY a.geom <-> i.geom LIMIT 1)
          WHERE i.area_id = $1 AND i.category = 'kapotte_verlichting'",
    )
    .bind(area_id)
    .bind(LINK_WITHIN_M)
    .execute(pool)
    .await?;
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM incidents WHERE area_id = $1 AND category = 'kapotte_verlichting' AND asset_id IS NOT NULL",
    )
    .bind(area_id)
    .fetch_one(pool)
    .await?;
    Ok((imported.added, linked as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lamp_posts_stand_every_thirty_metres_from_end_to_end() {
        // Bergstraat is some 320 m long: 10 spans of 32 m, 11 posts.
        let posts = along(DEVENTER[0].1, LAMP_SPACING_M);
        assert_eq!(posts.len(), 11);
        assert_eq!(posts.first(), Some(&DEVENTER[0].1[0]));
        assert_eq!(posts.last(), Some(&DEVENTER[0].1[1]));
        let m = |(a, b): ((f64, f64), (f64, f64))| {
            ((b.0 - a.0) * 111_320.0 * a.1.to_radians().cos()).hypot((b.1 - a.1) * 111_320.0)
        };
        for span in posts.windows(2).map(|w| m((w[0], w[1]))) {
            assert!((LAMP_SPACING_M..LAMP_SPACING_M * 1.2).contains(&span), "{span} m");
        }
    }
}
