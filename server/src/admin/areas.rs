//! Areas and their zones, as the beheerder draws them. A zone's change
//! moves its incidents in the same transaction (`rezone`), so the rollup's
//! triggers carry the counts along: a deleted zone's incidents count under
//! "zonder zone" from that commit on.

use kvo_api::{
    DEFAULT_CATEGORIES, Dimension, Role, Theme,
    admin::{AdminAction, AreaChange, NewArea, NewZone, ZoneChange},
    category::URGENT_BY_DEFAULT,
    questions::default_questions,
    wire::{Area, Zone},
};
use serde_json::json;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use super::{Admin, AdminError, Length, audit, text};
use crate::areas::{
    self,
    shape::{self, Purpose, Shape, ShapeProblem},
};

fn name(raw: &str, field: &'static str) -> Result<String, AdminError> {
    text(raw, field, Length::Name)
}

fn municipality(raw: Option<&str>) -> Result<Option<String>, AdminError> {
    raw.map(str::trim).filter(|m| !m.is_empty()).map(|m| name(m, "municipality")).transpose()
}

/// Parses and checks a shape completely (PostGIS included).
async fn checked(
    tx: &mut PgConnection,
    value: &serde_json::Value,
    purpose: Purpose,
    field: &'static str,
) -> Result<Shape, AdminError> {
    let s = shape::parse(value).map_err(AdminError::shape(field))?;
    shape::check_simple(tx, &s).await?.map_err(AdminError::shape(field))?;
    shape::check_size(&s, purpose).map_err(AdminError::shape(field))?;
    Ok(s)
}

/// Locks the area's row (zone changes of one area happen one at a time)
/// and refuses an archived area.
pub(super) async fn lock_live_area(tx: &mut PgConnection, area_id: Uuid) -> Result<(), AdminError> {
    let archived: Option<Option<chrono::DateTime<chrono::Utc>>> =
        sqlx::query_scalar("SELECT archived_at FROM areas WHERE id = $1 FOR UPDATE")
            .bind(area_id)
            .fetch_optional(&mut *tx)
            .await?;
    match archived {
        None => Err(crate::error::Error::NotFound.into()),
        Some(Some(_)) => Err(AdminError::Archived),
        Some(None) => Ok(()),
    }
}

/// How much of a drawn zone may stick out of its area: a hand-drawn edge
/// along the boundary. The part outside is cut off when the zone is stored.
const ZONE_SLACK_PCT: f64 = 10.0;

/// The zone's geometry as stored: the drawn shape ($n, GeoJSON) cut to the area ($1).
fn clipped(n: u8) -> String {
    format!(
        "ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON(${n}), 4326),
                                                   (SELECT boundary FROM areas WHERE id = $1)), 3))"
    )
}

/// A zone must lie in its area (within [`ZONE_SLACK_PCT`]) and overlap no other zone.
async fn check_zone_fits(
    tx: &mut PgConnection,
    area_id: Uuid,
    zone_id: Uuid,
    s: &Shape,
) -> Result<(), AdminError> {
    let (outside, x, y): (f64, Option<f64>, Option<f64>) = sqlx::query_as(
        "WITH z AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($2), 4326) AS g),
              d AS (SELECT ST_Difference(z.g, a.boundary) AS g, z.g AS zone FROM z, areas a WHERE a.id = $1)
         SELECT coalesce(100 * ST_Area(d.g::geography) / nullif(ST_Area(d.zone::geography), 0), 0),
                ST_X(ST_PointOnSurface(d.g)), ST_Y(ST_PointOnSurface(d.g))
           FROM d",
    )
    .bind(area_id)
    .bind(&s.geojson)
    .fetch_one(&mut *tx)
    .await?;
    if outside > ZONE_SLACK_PCT {
        return Err(AdminError::Shape {
            field: "geometry",
            problem: ShapeProblem::ZoneOutsideArea { percent: outside, at: x.zip(y) },
        });
    }
    let overlap: Option<(String, Option<f64>, Option<f64>)> = sqlx::query_as(
        "WITH n AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($3), 4326) AS g)
         SELECT z.name, ST_X(ST_PointOnSurface(ST_Intersection(z.geom, n.g))),
                ST_Y(ST_PointOnSurface(ST_Intersection(z.geom, n.g)))
           FROM zones z, n
          WHERE z.area_id = $1 AND z.id <> $2 AND z.deleted_at IS NULL AND ST_Intersects(z.geom, n.g)
            AND ST_Area(ST_Intersection(z.geom, n.g)::geography) > 1.0
          ORDER BY z.name LIMIT 1",
    )
    .bind(area_id)
    .bind(zone_id)
    .bind(&s.geojson)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((zone, x, y)) = overlap {
        return Err(AdminError::Shape {
            field: "geometry",
            problem: ShapeProblem::ZoneOverlap { zone, at: x.zip(y) },
        });
    }
    Ok(())
}

/// Another live zone of the area with this name?
async fn check_zone_name(
    tx: &mut PgConnection,
    area_id: Uuid,
    zone_id: Uuid,
    name: &str,
) -> Result<(), AdminError> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM zones WHERE area_id = $1 AND id <> $2 AND deleted_at IS NULL
                          AND lower(name) = lower($3))",
    )
    .bind(area_id)
    .bind(zone_id)
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    if taken { Err(AdminError::ZoneNameTaken(name.to_string())) } else { Ok(()) }
}

/// Gives every incident of the area within `region` (GeoJSON), or now in
/// `zone_id`, the zone it lies in today: the first live zone by name that
/// contains it, as `AreaIndex::locate` decides for a new report. The rollup's
/// update trigger moves the counts. Returns how many incidents moved.
async fn rezone(
    tx: &mut PgConnection,
    area_id: Uuid,
    zone_id: Uuid,
    region: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "WITH r AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($3), 4326) AS g),
              now_in AS (
                SELECT i.id, (SELECT z.id FROM zones z
                               WHERE z.area_id = $1 AND z.deleted_at IS NULL AND ST_Intersects(z.geom, i.geom)
                               ORDER BY z.name LIMIT 1) AS zone
                  FROM incidents i, r
                 WHERE i.area_id = $1 AND (i.zone_id = $2 OR ST_Intersects(i.geom, r.g)))
         UPDATE incidents i SET zone_id = now_in.zone
           FROM now_in
          WHERE i.area_id = $1 AND i.id = now_in.id AND i.zone_id IS DISTINCT FROM now_in.zone",
    )
    .bind(area_id)
    .bind(zone_id)
    .bind(region)
    .execute(tx)
    .await?;
    Ok(done.rows_affected())
}

async fn zone_row(tx: &mut PgConnection, area_id: Uuid, zone_id: Uuid) -> Result<Zone, AdminError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT name, ST_AsGeoJSON(geom, 7) FROM zones WHERE area_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(area_id)
    .bind(zone_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (name, geometry) = row.ok_or(crate::error::Error::NotFound)?;
    Ok(Zone { id: zone_id, name, geometry: serde_json::from_str(&geometry).map_err(anyhow::Error::from)? })
}

impl Admin<'_> {
    /// Creates an area with the KVO default categories; a person who creates
    /// it becomes its beheerder.
    pub async fn create_area(&self, req: NewArea) -> Result<Area, AdminError> {
        let actor = self.who.check_create_area()?;
        let area_name = name(&req.name, "name")?;
        let municipality = municipality(req.municipality.as_deref())?;
        let mut tx = self.pool.begin().await?;
        let s = checked(&mut tx, &req.boundary, Purpose::Area, "boundary").await?;
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO areas (id, name, kind, municipality, boundary)
             VALUES ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)))",
        )
        .bind(id)
        .bind(&area_name)
        .bind(req.kind.code())
        .bind(&municipality)
        .bind(&s.geojson)
        .execute(&mut *tx)
        .await?;
        for (i, c) in DEFAULT_CATEGORIES.iter().enumerate() {
            sqlx::query(
                "INSERT INTO categories (area_id, code, label_nl, label_en, theme, dimension, sort_order, urgent,
                                         questions)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(c.code)
            .bind(c.label_nl)
            .bind(c.label_en)
            .bind(c.theme.map(Theme::code))
            .bind(c.dimension.map(Dimension::code))
            .bind(i as i32)
            .bind(URGENT_BY_DEFAULT.contains(&c.code))
            .bind(Json(default_questions(c.code)))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(person) = actor.person_id {
            sqlx::query("INSERT INTO memberships (area_id, person_id, role) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(person)
                .bind(Role::Beheerder.code())
                .execute(&mut *tx)
                .await?;
        }
        let after = json!({"name": area_name, "kind": req.kind, "municipality": municipality,
                           "boundary": serde_json::from_str::<serde_json::Value>(&s.geojson).ok()});
        audit::record(&mut tx, Some(id), actor, "area.create", &area_name, None::<()>, Some(after)).await?;
        tx.commit().await?;
        self.forget_credentials();
        Ok(areas::get_area(self.pool, id).await?)
    }

    /// Renames, re-kinds or redraws an area.
    pub async fn change_area(&self, area_id: Uuid, req: AreaChange) -> Result<Area, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditArea)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let before = areas::get_area_in(&mut tx, area_id).await?;
        let new_name = req.name.as_deref().map(|n| name(n, "name")).transpose()?;
        let new_municipality = req.municipality.as_deref().map(|m| municipality(Some(m))).transpose()?;
        let new_boundary = match &req.boundary {
            Some(b) => Some(checked(&mut tx, b, Purpose::Area, "boundary").await?),
            None => None,
        };
        sqlx::query(
            "UPDATE areas SET name = coalesce($2, name), kind = coalesce($3, kind),
                    municipality = CASE WHEN $4 THEN $5 ELSE municipality END,
                    boundary = coalesce(ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)), boundary)
              WHERE id = $1",
        )
        .bind(area_id)
        .bind(&new_name)
        .bind(req.kind.map(|k| k.code()))
        .bind(new_municipality.is_some())
        .bind(new_municipality.clone().flatten())
        .bind(new_boundary.as_ref().map(|s| s.geojson.as_str()))
        .execute(&mut *tx)
        .await?;
        let after = areas::get_area_in(&mut tx, area_id).await?;
        let view = |a: &Area| json!({"name": a.name, "kind": a.kind, "municipality": a.municipality, "boundary": a.boundary});
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "area.update",
            &after.name,
            Some(view(&before)),
            Some(view(&after)),
        )
        .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(after)
    }

    /// Archives an area: its data stays, nothing new is accepted.
    pub async fn archive_area(&self, area_id: Uuid) -> Result<Area, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditArea)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        sqlx::query("UPDATE areas SET archived_at = now() WHERE id = $1")
            .bind(area_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE invites SET revoked_at = now() WHERE area_id = $1 AND revoked_at IS NULL")
            .bind(area_id)
            .execute(&mut *tx)
            .await?;
        let area = areas::get_area_in(&mut tx, area_id).await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "area.archive",
            &area.name,
            None::<()>,
            Some(json!({"archived": true})),
        )
        .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(area)
    }

    /// Draws a new zone; the area's incidents inside it move into it.
    pub async fn add_zone(&self, area_id: Uuid, req: NewZone) -> Result<Zone, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditZones)?;
        let zone_name = name(&req.name, "name")?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let id = Uuid::new_v4();
        check_zone_name(&mut tx, area_id, id, &zone_name).await?;
        let s = checked(&mut tx, &req.geometry, Purpose::Zone, "geometry").await?;
        check_zone_fits(&mut tx, area_id, id, &s).await?;
        let insert = format!(
            "INSERT INTO zones (area_id, id, name, geom, num)
             VALUES ($1, $2, $3, {}, (SELECT coalesce(max(num), 0) + 1 FROM zones WHERE area_id = $1))",
            clipped(4)
        );
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(area_id)
            .bind(id)
            .bind(&zone_name)
            .bind(&s.geojson)
            .execute(&mut *tx)
            .await?;
        let zone = zone_row(&mut tx, area_id, id).await?;
        let moved = rezone(&mut tx, area_id, id, &zone.geometry.to_string()).await?;
        let after = json!({"name": zone.name, "geometry": zone.geometry, "incidents_moved": moved});
        audit::record(&mut tx, Some(area_id), actor, "zone.create", &zone_name, None::<()>, Some(after))
            .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(zone)
    }

    /// Renames or redraws a zone; incidents follow the new line.
    pub async fn change_zone(
        &self,
        area_id: Uuid,
        zone_id: Uuid,
        req: ZoneChange,
    ) -> Result<Zone, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditZones)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let before = zone_row(&mut tx, area_id, zone_id).await?;
        let new_name = req.name.as_deref().map(|n| name(n, "name")).transpose()?;
        if let Some(n) = &new_name {
            check_zone_name(&mut tx, area_id, zone_id, n).await?;
        }
        let new_shape = match &req.geometry {
            Some(g) => {
                let s = checked(&mut tx, g, Purpose::Zone, "geometry").await?;
                check_zone_fits(&mut tx, area_id, zone_id, &s).await?;
                Some(s)
            }
            None => None,
        };
        let update = format!(
            "UPDATE zones SET name = coalesce($3, name), geom = coalesce({}, geom) WHERE area_id = $1 AND id = $2",
            clipped(4)
        );
        sqlx::query(sqlx::AssertSqlSafe(update))
            .bind(area_id)
            .bind(zone_id)
            .bind(&new_name)
            .bind(new_shape.as_ref().map(|s| s.geojson.as_str()))
            .execute(&mut *tx)
            .await?;
        // A rename can change which of two touching zones comes first, so
        // every change re-places the zone's own incidents and those in its new shape.
        let region = new_shape.as_ref().map_or_else(|| before.geometry.to_string(), |s| s.geojson.clone());
        let moved = rezone(&mut tx, area_id, zone_id, &region).await?;
        let zone = zone_row(&mut tx, area_id, zone_id).await?;
        let b = json!({"name": before.name, "geometry": before.geometry});
        let a = json!({"name": zone.name, "geometry": zone.geometry, "incidents_moved": moved});
        audit::record(&mut tx, Some(area_id), actor, "zone.update", &zone.name, Some(b), Some(a)).await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(zone)
    }

    /// Deletes a zone: its incidents count as "zonder zone" from now on; its
    /// row stays so that its number in the rollup is never reused.
    pub async fn delete_zone(&self, area_id: Uuid, zone_id: Uuid) -> Result<(), AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditZones)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let before = zone_row(&mut tx, area_id, zone_id).await?;
        sqlx::query("UPDATE zones SET deleted_at = now() WHERE area_id = $1 AND id = $2")
            .bind(area_id)
            .bind(zone_id)
            .execute(&mut *tx)
            .await?;
        let moved = rezone(&mut tx, area_id, zone_id, &before.geometry.to_string()).await?;
        let b = json!({"name": before.name, "geometry": before.geometry});
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "zone.delete",
            &before.name,
            Some(b),
            Some(json!({"incidents_moved": moved})),
        )
        .await?;
        tx.commit().await?;
        self.areas.forget(area_id);
        Ok(())
    }
}
