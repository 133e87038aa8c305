//! Checkpoints: places on the round with a printed tag (a QR code; an NFC
//! tag carries the same id), registered by the beheerder, and their sheet
//! of QR codes to print.

use kvo_api::{
    Location, ValidationError,
    rounds::{Checkpoint, NewCheckpoint},
};
use sqlx::PgPool;
use uuid::Uuid;

use super::{PatrolError, may_administer, may_read_rounds};
use crate::{areas::AreaCache, auth::Principal, error::Error};

/// A fresh tag id like `CP-7Q4M-XR2D` (40 random bits; unique over the installation).
fn new_tag() -> String {
    let c = crate::auth::random_code(8);
    format!("CP-{}-{}", &c[0..4], &c[4..8])
}

/// Registers a checkpoint for the beheerder.
pub async fn register(
    pool: &PgPool,
    areas: &AreaCache,
    p: &Principal,
    area_id: Uuid,
    req: NewCheckpoint,
) -> Result<Checkpoint, PatrolError> {
    may_administer(p.access(area_id)?.role)?;
    insert(pool, areas, area_id, req).await
}

/// Stores a checkpoint with a fresh tag; it must lie inside the area (the
/// one rule, for the API and `kvo checkpoint add`).
pub async fn insert(
    pool: &PgPool,
    areas: &AreaCache,
    area_id: Uuid,
    req: NewCheckpoint,
) -> Result<Checkpoint, PatrolError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::Other {
            field: "name",
            reason: "must be 1 to 100 characters",
            reason_nl: "moet 1 tot 100 tekens zijn",
        }
        .into());
    }
    let loc = Location::new(req.lat, req.lon, None)?;
    areas.get(pool, area_id).await?.locate(loc.lat(), loc.lon(), 0.0)?;
    let id = Uuid::new_v4();
    // A tag collision (1 in 2^40 per pair) is retried rather than surfaced.
    for _ in 0..3 {
        let tag = new_tag();
        let done = sqlx::query!(
            "INSERT INTO checkpoints (area_id, id, tag, name, geom)
             VALUES ($1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326))
             ON CONFLICT (tag) DO NOTHING",
            area_id,
            id,
            tag,
            name,
            loc.lon(),
            loc.lat()
        )
        .execute(pool)
        .await?
        .rows_affected()
            == 1;
        if done {
            return Ok(Checkpoint {
                id,
                area_id,
                tag,
                name: name.to_string(),
                lat: loc.lat(),
                lon: loc.lon(),
                archived: false,
            });
        }
    }
    Err(Error::Internal(anyhow::anyhow!("no free checkpoint tag after 3 tries")).into())
}

/// The area's checkpoints by name; archived ones only when asked.
pub async fn list(
    pool: &PgPool,
    p: &Principal,
    area_id: Uuid,
    with_archived: bool,
) -> Result<Vec<Checkpoint>, PatrolError> {
    may_read_rounds(p.access(area_id)?.role)?;
    Ok(sqlx::query!(
        r#"SELECT id, tag, name, ST_Y(geom) AS "lat!", ST_X(geom) AS "lon!", archived_at IS NOT NULL AS "archived!"
             FROM checkpoints WHERE area_id = $1 AND ($2 OR archived_at IS NULL)
            ORDER BY name, tag"#,
        area_id,
        with_archived
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Checkpoint {
        id: r.id,
        area_id,
        tag: r.tag,
        name: r.name,
        lat: r.lat,
        lon: r.lon,
        archived: r.archived,
    })
    .collect())
}

/// Archives a checkpoint: its scans stay, new scans of its tag are refused.
pub async fn archive(pool: &PgPool, p: &Principal, area_id: Uuid, id: Uuid) -> Result<(), PatrolError> {
    may_administer(p.access(area_id)?.role)?;
    let n = sqlx::query!(
        "UPDATE checkpoints SET archived_at = COALESCE(archived_at, now()) WHERE area_id = $1 AND id = $2",
        area_id,
        id
    )
    .execute(pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::NotFound.into());
    }
    Ok(())
}

/// The printable sheet: one card per checkpoint with its QR code, name and
/// tag id, eight to an A4 page. Plain HTML that prints without scripts.
pub fn sheet_html(area_name: &str, checkpoints: &[Checkpoint]) -> anyhow::Result<String> {
    let esc =
        |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut cards = String::new();
    for c in checkpoints.iter().filter(|c| !c.archived) {
        let svg = crate::invites::qr_svg(&c.tag, 220)?;
        let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
        cards.push_str(&format!(
            "<figure class=\"card\">{svg}<figcaption><strong>{}</strong><br><code>{}</code></figcaption></figure>\n",
            esc(&c.name),
            esc(&c.tag)
        ));
    }
    if cards.is_empty() {
        cards = "<p>Dit gebied heeft nog geen controlepunten.</p>".into();
    }
    Ok(format!(
        "<!doctype html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <title>Controlepunten {name}</title><link rel=\"stylesheet\" href=\"/checkpoints.css\"></head>\
         <body><h1>Controlepunten – {name}</h1>\
         <p class=\"hint\">Hang elke kaart op zijn plek. Scan de code tijdens de ronde met de KVO-app; \
         een NFC-tag met dezelfde code werkt ook.</p>\n<main class=\"sheet\">{cards}</main></body></html>\n",
        name = esc(area_name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_tag_reads_back_as_itself() {
        let tag = new_tag();
        assert!(tag.starts_with("CP-") && tag.len() == 12, "{tag}");
        assert_eq!(kvo_api::rounds::normalize_tag(&format!(" {} ", tag.to_lowercase())), tag);
    }
}
