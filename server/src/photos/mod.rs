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

use anyhow::Context;
use chrono::{DateTime, Utc};
use kvo_api::wire::Photo;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    auth::Principal,
    error::{AppError, AppResult},
    state::AppState,
};
use process::PhotoError;

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
        let base = format!("/api/v1/incidents/{}/photos/{}", self.incident_id, self.id);
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

const SELECT_PHOTO: &str =
    "SELECT area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width,
        height, thumb_sha256, received_at FROM photos";

/// The area of an incident the principal may see and add photos to.
async fn visible_incident(state: &AppState, p: &Principal, incident_id: Uuid) -> AppResult<Uuid> {
    // Reuses the incident visibility rule: an ondernemer reaches only their own reports.
    let incident = crate::incidents::get(&state.pool, p, incident_id).await?;
    Ok(incident.area_id)
}

/// The outcome of a photo upload.
pub enum Stored {
    New(Photo),
    Existing(Photo),
}

/// Stores an uploaded photo of an incident.
pub async fn upload(
    state: &AppState,
    p: &Principal,
    incident_id: Uuid,
    photo_id: Uuid,
    body: bytes::Bytes,
) -> AppResult<Stored> {
    let area_id = visible_incident(state, p, incident_id).await?;
    let upload_sha256 = Sha256::digest(&body).to_vec();
    if let Some(existing) = existing(state, area_id, photo_id).await? {
        return same_or_conflict(existing, incident_id, &upload_sha256);
    }

    let prepared = {
        let _permit = state.image_slots.acquire().await.context("image slots closed")?;
        let max_pixels = state.config.max_photo_pixels;
        tokio::task::spawn_blocking(move || process::prepare(&body, max_pixels))
            .await
            .context("photo task")?
            .map_err(|e| match e {
                PhotoError::Unsupported => AppError::UnsupportedMediaType,
                PhotoError::TooLarge { megapixels } => AppError::ImageTooLarge { megapixels },
                PhotoError::Corrupt => AppError::BadImage,
            })?
    };
    let sha256 = Sha256::digest(&prepared.bytes).to_vec();
    let thumb_sha256 = Sha256::digest(&prepared.thumb).to_vec();

    let mut tx = state.pool.begin().await?;
    lock_content(&mut tx, &[&sha256, &thumb_sha256]).await?;
    let store = state.store.clone();
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
        cleanup(state, &[&sha256, &thumb_sha256]).await;
        return Err(AppError::Internal(anyhow::Error::new(e).context("writing photo")));
    }
    let row: Result<Option<PhotoRow>, sqlx::Error> = sqlx::query_as(
        "INSERT INTO photos (area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width,
                             height, thumb_sha256, thumb_bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (area_id, id) DO NOTHING
         RETURNING area_id, id, incident_id, upload_sha256, sha256, content_type, bytes, width, height,
                   thumb_sha256, received_at",
    )
    .bind(area_id)
    .bind(photo_id)
    .bind(incident_id)
    .bind(&upload_sha256)
    .bind(&sha256)
    .bind(prepared.content_type)
    .bind(full_len)
    .bind(prepared.width as i32)
    .bind(prepared.height as i32)
    .bind(&thumb_sha256)
    .bind(thumb_len)
    .bind(p.person_id)
    .fetch_optional(&mut *tx)
    .await;
    let committed = match row {
        Ok(Some(row)) => tx.commit().await.map(|()| Some(row)),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match committed {
        Ok(Some(row)) => {
            state.metrics.photo_ingested(full_len as u64);
            Ok(Stored::New(row.to_wire()))
        }
        // Another upload of the same photo id won the race.
        Ok(None) => {
            cleanup(state, &[&sha256, &thumb_sha256]).await;
            let existing = existing(state, area_id, photo_id).await?.context("photo vanished")?;
            same_or_conflict(existing, incident_id, &upload_sha256)
        }
        Err(e) => {
            cleanup(state, &[&sha256, &thumb_sha256]).await;
            Err(e.into())
        }
    }
}

async fn existing(state: &AppState, area_id: Uuid, photo_id: Uuid) -> AppResult<Option<PhotoRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_PHOTO} WHERE area_id = $1 AND id = $2")))
        .bind(area_id)
        .bind(photo_id)
        .fetch_optional(&state.pool)
        .await?)
}

fn same_or_conflict(existing: PhotoRow, incident_id: Uuid, upload_sha256: &[u8]) -> AppResult<Stored> {
    if existing.incident_id == incident_id && existing.upload_sha256 == upload_sha256 {
        Ok(Stored::Existing(existing.to_wire()))
    } else {
        Err(AppError::Conflict {
            nl: "Er bestaat al een foto met dit id, met een andere inhoud.".into(),
            en: "A photo with this id already exists, with different content.".into(),
        })
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
async fn cleanup(state: &AppState, hashes: &[&[u8]]) {
    let result: anyhow::Result<()> = async {
        let mut tx = state.pool.begin().await?;
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
                let store = state.store.clone();
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
pub async fn sweep_orphans(state: &AppState, min_age: std::time::Duration) -> anyhow::Result<usize> {
    let store = state.store.clone();
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
        .fetch_one(&state.pool)
        .await?;
        if !referenced {
            cleanup(state, &[&hash]).await;
            tracing::info!(%key, ?written, "removed an orphaned photo blob");
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Which rendition of a photo to read.
#[derive(Debug, Clone, Copy)]
pub enum Rendition {
    Full,
    Thumbnail,
}

/// The bytes, content type and content hash of a photo the principal may see.
pub async fn read(
    state: &AppState,
    p: &Principal,
    incident_id: Uuid,
    photo_id: Uuid,
    rendition: Rendition,
) -> AppResult<(Vec<u8>, String, String)> {
    let area_id = visible_incident(state, p, incident_id).await?;
    let row = existing(state, area_id, photo_id).await?.filter(|r| r.incident_id == incident_id);
    let row = row.ok_or(AppError::NotFound)?;
    let (key, content_type) = match rendition {
        Rendition::Full => (hex::encode(&row.sha256), row.content_type),
        Rendition::Thumbnail => (hex::encode(&row.thumb_sha256), "image/jpeg".to_string()),
    };
    let store = state.store.clone();
    let k = key.clone();
    let bytes = tokio::task::spawn_blocking(move || store.get(&k))
        .await
        .context("photo read task")?
        .context("reading photo")?
        .with_context(|| format!("photo blob {key} is missing"))?;
    Ok((bytes, content_type, key))
}
