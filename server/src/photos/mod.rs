//! Photo ingest and delivery: `PUT` a photo of an incident (idempotent on the
//! photo id and the uploaded bytes' SHA-256), and read it or its thumbnail.
//!
//! Order of durability: the image is processed, then its files are written and
//! fsynced, then the row that points at them is committed. A per-content
//! advisory lock makes "write file, insert row" and "delete unreferenced file"
//! mutually exclusive, so a failed upload never leaves an orphan file and never
//! deletes a file another upload has just referenced.

pub mod process;
pub mod store;

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use chrono::{DateTime, Utc};
use kvo_api::wire::Photo;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{
    auth::Principal,
    error::{Error, Result, module_error},
    visibility::locate,
};
use process::CodecError;

/// Why an uploaded photo is refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The bytes are not the ones the client digested: damaged in transit.
    /// Nothing was stored; the client sends it again.
    #[error("photo damaged in transit: its SHA-256 does not match Content-Digest")]
    DigestMismatch,
    /// The id holds another photo (other bytes or another incident).
    #[error("photo {0} already exists with other content")]
    IdTaken(Uuid),
    #[error("not a JPEG, PNG or WebP")]
    Unsupported,
    #[error("{megapixels:.1} megapixels, more than allowed")]
    TooLarge { megapixels: f64 },
    #[error("corrupt or truncated image")]
    Corrupt,
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(PhotoError);
use store::BlobStore;

/// A `photos` row.
#[derive(sqlx::FromRow)]
pub struct PhotoRow {
    pub area_id: Uuid,
    pub id: Uuid,
    pub incident_id: Uuid,
    pub upload_sha256: Vec<u8>,
    pub sha256: Vec<u8>,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub thumb_sha256: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

impl PhotoRow {
    /// The API form, with its URLs.
    pub fn to_wire(&self) -> Photo {
        let base = kvo_api::paths::photo(self.incident_id, self.id);
        Photo {
            id: self.id,
            upload_sha256: hex::encode(&self.upload_sha256),
            sha256: hex::encode(&self.sha256),
            content_type: self.content_type.clone(),
            bytes: self.bytes,
            width: self.width,
            height: self.height,
            thumbnail_url: format!("{base}/thumbnail"),
            url: base,
            received_at: self.received_at,
        }
    }
}

/// Memory one photo may hold while it is processed, per pixel of the largest
/// accepted photo: the decoded pixels (RGBA for PNG and WebP, 4 bytes), the
/// RGB copy (3), the turned copy (3), and the encoder's and thumbnail's
/// buffers (about 1). `kvo bench photo-memory` measures it.
pub const WORST_CASE_BYTES_PER_PIXEL: u64 = 11;

/// How many photos may be processed at once so that the worst legal photo
/// times that number stays within `budget_bytes`: at least one, at most one
/// per core (more would not be faster).
pub fn decode_slots(budget_bytes: u64, max_pixels: u64, cores: usize) -> usize {
    let per_photo = max_pixels.max(1) * WORST_CASE_BYTES_PER_PIXEL;
    ((budget_bytes / per_photo) as usize).clamp(1, cores.max(1))
}

/// What photo ingest and delivery need: the database, the blob store, and
/// the bound on photos processed at once ([`decode_slots`]).
#[derive(Clone)]
pub struct Photos {
    pub pool: PgPool,
    pub store: Arc<dyn BlobStore>,
    pub slots: Arc<Semaphore>,
    pub max_pixels: u64,
}

/// The outcome of a photo upload.
pub enum Stored {
    New(Photo),
    Existing(Photo),
}

/// Stores an uploaded photo of an incident.
pub async fn upload(
    ph: &Photos,
    p: &Principal,
    incident_id: Uuid,
    photo_id: Uuid,
    body: bytes::Bytes,
    declared_sha256: Option<[u8; 32]>,
) -> Result<Stored, PhotoError> {
    let area_id = locate(&ph.pool, p, incident_id).await?.area_id;
    let upload_sha256 = Sha256::digest(&body).to_vec();
    // Damaged in transit: refused before anything is looked at or stored.
    if declared_sha256.is_some_and(|d| d[..] != upload_sha256[..]) {
        return Err(PhotoError::DigestMismatch);
    }
    if let Some(existing) = existing(ph, area_id, photo_id).await? {
        return same_or_conflict(existing, incident_id, &upload_sha256);
    }

    let prepared = {
        let _permit = ph.slots.acquire().await.context("image slots closed")?;
        let max_pixels = ph.max_pixels;
        tokio::task::spawn_blocking(move || process::prepare(&body, max_pixels))
            .await
            .context("photo task")?
            .map_err(|e| match e {
                CodecError::Unsupported => PhotoError::Unsupported,
                CodecError::TooLarge { megapixels } => PhotoError::TooLarge { megapixels },
                CodecError::Corrupt => PhotoError::Corrupt,
            })?
    };
    let sha256 = Sha256::digest(&prepared.bytes).to_vec();
    let thumb_sha256 = Sha256::digest(&prepared.thumb).to_vec();

    let mut tx = ph.pool.begin().await?;
    lock_content(&mut tx, &[&sha256, &thumb_sha256]).await?;
    let store = ph.store.clone();
    let (full, thumb) = (prepared.bytes, prepared.thumb);
    let (full_len, thumb_len) = (full.len() as i64, thumb.len() as i64);
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        store.put(&full)?;
        store.put(&thumb)?;
        Ok(())
    })
    .await
    .context("photo store task")?;
    if let Err(e) = written {
        drop(tx);
        cleanup(ph, &[&sha256, &thumb_sha256]).await;
        return Err(anyhow::Error::new(e).context("writing photo").into());
    }
    let row = sqlx::query_as!(
        PhotoRow,
        "INSERT INTO photos (area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width,
                             height, thumb_sha256, thumb_bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (area_id, id) DO NOTHING
         RETURNING area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width, height,
                   thumb_sha256, received_at",
        area_id,
        photo_id,
        incident_id,
        &upload_sha256,
        &sha256,
        prepared.content_type,
        full_len,
        prepared.width as i32,
        prepared.height as i32,
        &thumb_sha256,
        thumb_len,
        p.person_id
    )
    .fetch_optional(&mut *tx)
    .await;
    let committed = match row {
        Ok(Some(row)) => tx.commit().await.map(|()| Some(row)),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match committed {
        Ok(Some(row)) => Ok(Stored::New(row.to_wire())),
        // Another upload of the same photo id won the race.
        Ok(None) => {
            cleanup(ph, &[&sha256, &thumb_sha256]).await;
            let existing = existing(ph, area_id, photo_id).await?.context("photo vanished")?;
            same_or_conflict(existing, incident_id, &upload_sha256)
        }
        Err(e) => {
            cleanup(ph, &[&sha256, &thumb_sha256]).await;
            Err(e.into())
        }
    }
}

async fn existing(ph: &Photos, area_id: Uuid, photo_id: Uuid) -> Result<Option<PhotoRow>> {
    Ok(sqlx::query_as!(
        PhotoRow,
        "SELECT area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width,
                height, thumb_sha256, received_at
           FROM photos WHERE area_id = $1 AND id = $2",
        area_id,
        photo_id
    )
    .fetch_optional(&ph.pool)
    .await?)
}

fn same_or_conflict(
    existing: PhotoRow,
    incident_id: Uuid,
    upload_sha256: &[u8],
) -> Result<Stored, PhotoError> {
    if existing.incident_id == incident_id && existing.upload_sha256 == upload_sha256 {
        Ok(Stored::Existing(existing.to_wire()))
    } else {
        Err(PhotoError::IdTaken(existing.id))
    }
}

/// Transaction-scoped advisory locks on content hashes, taken in a fixed order.
async fn lock_content(conn: &mut sqlx::PgConnection, hashes: &[&[u8]]) -> Result<(), sqlx::Error> {
    let mut keys: Vec<i64> =
        hashes.iter().map(|h| i64::from_be_bytes(h[..8].try_into().expect("sha256 has 32 bytes"))).collect();
    keys.sort_unstable();
    keys.dedup();
    for k in keys {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(k).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes blobs that no row references, under the same locks as the upload.
async fn cleanup(ph: &Photos, hashes: &[&[u8]]) {
    let result: anyhow::Result<()> = async {
        let mut tx = ph.pool.begin().await?;
        lock_content(&mut tx, hashes).await?;
        for h in hashes {
            let used: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = $1)
                     OR EXISTS (SELECT 1 FROM photos WHERE thumb_sha256 = $1)",
            )
            .bind(*h)
            .fetch_one(&mut *tx)
            .await?;
            if !used {
                let store = ph.store.clone();
                let key = hex::encode(h);
                tokio::task::spawn_blocking(move || store.delete(&key)).await??;
            }
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = ?e, "could not clean up after a failed photo upload");
    }
}

/// Deletes blobs that no row references and that were written more than
/// `min_age` ago: what a crash between writing a blob and committing its row
/// leaves behind. Uses the same locks as an upload, so it never deletes a blob
/// an upload is about to reference. Returns how many were deleted.
pub async fn sweep_orphans(ph: &Photos, min_age: std::time::Duration) -> anyhow::Result<usize> {
    let store = ph.store.clone();
    let keys = tokio::task::spawn_blocking(move || store.list()).await??;
    let cutoff = std::time::SystemTime::now() - min_age;
    let mut deleted = 0;
    for (key, written) in keys.into_iter().filter(|(_, t)| *t < cutoff) {
        let hash = hex::decode(&key)?;
        let referenced: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = $1)
                 OR EXISTS (SELECT 1 FROM photos WHERE thumb_sha256 = $1)",
        )
        .bind(&hash)
        .fetch_one(&ph.pool)
        .await?;
        if !referenced {
            cleanup(ph, &[&hash]).await;
            tracing::info!(%key, ?written, "removed an orphaned photo blob");
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Photos of the given incidents, keyed by incident id.
pub async fn of_incidents(pool: &PgPool, keys: &[(Uuid, Uuid)]) -> Result<HashMap<Uuid, Vec<Photo>>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (areas, ids): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    let rows = sqlx::query_as!(
        PhotoRow,
        "SELECT p.area_id, p.id, p.incident_id, p.upload_sha256, p.sha256, p.content_type, p.bytes,
                p.width, p.height, p.thumb_sha256, p.received_at
           FROM photos p JOIN unnest($1::uuid[], $2::uuid[]) AS k(area_id, id)
             ON p.area_id = k.area_id AND p.incident_id = k.id
          ORDER BY p.received_at, p.id",
        &areas,
        &ids
    )
    .fetch_all(pool)
    .await
    .context("loading photos")?;
    let mut map: HashMap<Uuid, Vec<Photo>> = HashMap::new();
    for r in rows {
        map.entry(r.incident_id).or_default().push(r.to_wire());
    }
    Ok(map)
}

/// Which rendition of a photo to read.
#[derive(Debug, Clone, Copy)]
pub enum Rendition {
    Full,
    Thumbnail,
}

/// The bytes, content type and content hash of a photo the principal may see.
pub async fn read(
    ph: &Photos,
    p: &Principal,
    incident_id: Uuid,
    photo_id: Uuid,
    rendition: Rendition,
) -> Result<(Vec<u8>, String, String)> {
    let area_id = locate(&ph.pool, p, incident_id).await?.area_id;
    let row = existing(ph, area_id, photo_id).await?.filter(|r| r.incident_id == incident_id);
    let row = row.ok_or(Error::NotFound)?;
    let (key, content_type) = match rendition {
        Rendition::Full => (hex::encode(&row.sha256), row.content_type),
        Rendition::Thumbnail => (hex::encode(&row.thumb_sha256), "image/jpeg".to_string()),
    };
    let store = ph.store.clone();
    let k = key.clone();
    let bytes = tokio::task::spawn_blocking(move || store.get(&k))
        .await
        .context("photo read task")?
        .context("reading photo")?
        .with_context(|| format!("photo blob {key} is missing"))?;
    Ok((bytes, content_type, key))
}

#[cfg(test)]
mod tests {
    use super::decode_slots;

    #[test]
    fn the_budget_bounds_the_photos_processed_at_once() {
        // 40 megapixels at 11 bytes: 440 MB a photo.
        assert_eq!(decode_slots(1 << 30, 40_000_000, 8), 2);
        assert_eq!(decode_slots(4 << 30, 40_000_000, 8), 8, "nine would fit; eight cores");
        assert_eq!(decode_slots(4 << 30, 40_000_000, 16), 9);
        assert_eq!(decode_slots(100 << 20, 40_000_000, 8), 1, "never none");
        assert_eq!(decode_slots(64 << 30, 40_000_000, 2), 2, "never more than the cores");
    }
}
