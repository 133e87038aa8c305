//! Importing the gemeente's registers (docs/registers.md): an asset register
//! of one kind (lamp posts, waste bins, cameras, benches) and the street
//! centrelines, as GeoJSON or CSV in WGS 84 or RD. What lies outside the area
//! is left out and counted (a gemeente's register covers the whole town).
//!
//! A re-import updates each asset with the same number in place, so the
//! reports linked to it keep their link; an asset no longer in the file is
//! marked removed, never deleted. Streets are replaced as a whole: nothing
//! links to them. Each import is one transaction with its audit entry.

use std::fmt::Write as _;

use kvo_api::{
    admin::AdminAction,
    registers::{AssetKind, ImportProblem, RegisterImport, StreetImport, read_register, read_streets},
};
use serde_json::json;
use uuid::Uuid;

use super::{Admin, AdminError, areas::lock_live_area, audit};

/// How far outside its boundary an asset or street still belongs to the
/// area (m): the lamp posts along a boundary street.
pub const MARGIN_M: f64 = 25.0;

impl Admin<'_> {
    /// Imports the register of `kind` for an area from a GeoJSON or CSV file.
    pub async fn import_register(
        &self,
        area_id: Uuid,
        kind: AssetKind,
        file: &[u8],
    ) -> Result<RegisterImport, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditRegisters)?;
        let parsed = read_register(file)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let (before,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM assets WHERE area_id = $1 AND kind = $2 AND removed_at IS NULL",
        )
        .bind(area_id)
        .bind(kind.code())
        .fetch_one(&mut *tx)
        .await?;
        let items = &parsed.items;
        let (inside, added, updated, removed): (i64, i64, i64, i64) = sqlx::query_as(
            "WITH area AS (
                 SELECT ST_Buffer(boundary::geography, $7)::geometry AS geom FROM areas WHERE id = $1
             ), f AS (
                 SELECT ext, name, ST_Transform(ST_SetSRID(ST_MakePoint(x, y), $3), 4326) AS geom
                   FROM unnest($4::text[], $5::text[], $6::float8[], $8::float8[]) AS f(ext, name, x, y)
             ), inside AS (
                 SELECT f.* FROM f, area WHERE ST_Intersects(area.geom, f.geom)
             ), up AS (
                 INSERT INTO assets AS a (area_id, id, kind, external_id, name, geom)
                 SELECT $1, gen_random_uuid(), $2, ext, name, geom FROM inside
                 ON CONFLICT (area_id, kind, external_id) DO UPDATE
                    SET name = EXCLUDED.name, geom = EXCLUDED.geom, imported_at = now(), removed_at = NULL
                  WHERE a.name IS DISTINCT FROM EXCLUDED.name OR a.removed_at IS NOT NULL
                     OR ST_Distance(a.geom, EXCLUDED.geom) > 1e-7
                 RETURNING (xmax = 0) AS added
             ), gone AS (
                 UPDATE assets SET removed_at = now()
                  WHERE area_id = $1 AND kind = $2 AND removed_at IS NULL
                    AND external_id NOT IN (SELECT ext FROM inside)
                 RETURNING 1
             )
             SELECT (SELECT count(*) FROM inside), (SELECT count(*) FILTER (WHERE added) FROM up),
                    (SELECT count(*) FILTER (WHERE NOT added) FROM up), (SELECT count(*) FROM gone)",
        )
        .bind(area_id)
        .bind(kind.code())
        .bind(parsed.crs.srid())
        .bind(items.iter().map(|a| a.external_id.as_str()).collect::<Vec<_>>())
        .bind(items.iter().map(|a| a.name.as_deref()).collect::<Vec<_>>())
        .bind(items.iter().map(|a| a.x).collect::<Vec<_>>())
        .bind(MARGIN_M)
        .bind(items.iter().map(|a| a.y).collect::<Vec<_>>())
        .fetch_one(&mut *tx)
        .await?;
        if inside == 0 && !items.is_empty() {
            return Err(ImportProblem::NothingInArea.into());
        }
        let summary = RegisterImport {
            kind,
            crs: parsed.crs,
            added: added as u32,
            updated: updated as u32,
            unchanged: (inside - added - updated) as u32,
            removed: removed as u32,
            outside_area: (items.len() as i64 - inside) as u32,
        };
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "register.import",
            kind.code(),
            Some(json!({ "assets": before })),
            Some(json!({ "assets": inside, "import": &summary })),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Replaces the area's street centrelines with those of a GeoJSON file,
    /// clipped to the area (plus the margin).
    pub async fn import_streets(&self, area_id: Uuid, file: &[u8]) -> Result<StreetImport, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditRegisters)?;
        let parsed = read_streets(file)?;
        let wkt: Vec<String> = parsed
            .items
            .iter()
            .map(|s| {
                let mut w = String::from("MULTILINESTRING(");
                for (i, line) in s.lines.iter().enumerate() {
                    w.push_str(if i == 0 { "(" } else { ",(" });
                    for (j, (x, y)) in line.iter().enumerate() {
                        let _ = write!(w, "{}{x} {y}", if j == 0 { "" } else { "," });
                    }
                    w.push(')');
                }
                w.push(')');
                w
            })
            .collect();
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let (before,): (i64,) = sqlx::query_as("SELECT count(*) FROM streets WHERE area_id = $1")
            .bind(area_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM streets WHERE area_id = $1").bind(area_id).execute(&mut *tx).await?;
        let (stored,): (i64,) = sqlx::query_as(
            "WITH area AS (
                 SELECT ST_Buffer(boundary::geography, $5)::geometry AS geom FROM areas WHERE id = $1
             ), f AS (
                 SELECT name, ST_Transform(ST_GeomFromText(wkt, $2), 4326) AS geom
                   FROM unnest($3::text[], $4::text[]) AS f(name, wkt)
             ), clipped AS (
                 SELECT f.name, ST_Multi(ST_CollectionExtract(ST_Intersection(f.geom, area.geom), 2)) AS geom
                   FROM f, area WHERE ST_Intersects(f.geom, area.geom)
             ), ins AS (
                 INSERT INTO streets (area_id, name, geom)
                 SELECT $1, name, geom FROM clipped WHERE NOT ST_IsEmpty(geom)
                 RETURNING 1
             )
             SELECT count(*) FROM ins",
        )
        .bind(area_id)
        .bind(parsed.crs.srid())
        .bind(parsed.items.iter().map(|s| s.name.as_str()).collect::<Vec<_>>())
        .bind(&wkt)
        .bind(MARGIN_M)
        .fetch_one(&mut *tx)
        .await?;
        if stored == 0 && !parsed.items.is_empty() {
            return Err(ImportProblem::NothingInArea.into());
        }
        let summary = StreetImport {
            crs: parsed.crs,
            streets: stored as u32,
            unnamed: parsed.unnamed as u32,
            outside_area: (parsed.items.len() as i64 - stored) as u32,
        };
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "streets.import",
            "streets",
            Some(json!({ "streets": before })),
            Some(json!({ "streets": stored, "import": &summary })),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}
