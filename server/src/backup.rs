//! Backup and restore of an installation: a consistent dump of the database
//! (`pg_dump`, one snapshot), then the photo store, then the VAPID key, into
//! one directory; and back into a fresh installation. docs/operations.md.
//!
//! The order makes the copy consistent while reports keep arriving: a photo's
//! files are written and fsynced before the row that points at them commits
//! (ARCHITECTURE, invariants), and the blobs are copied after the snapshot
//! was taken, so every photo row in the dump finds its files. Blobs that
//! arrived after the snapshot come along unreferenced; the orphan sweep
//! removes them on the restored side.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::process::Command;

/// The file names inside a backup directory.
const DUMP: &str = "database.dump";
const PHOTOS: &str = "photos";
const VAPID: &str = "vapid-private.key";
const MANIFEST: &str = "kvo-backup.json";

/// What a backup holds, written next to it as `kvo-backup.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub kvo_version: String,
    /// The last migration applied to the database that was dumped.
    pub schema_version: i64,
    pub incidents: i64,
    pub photos: i64,
    /// Blob files copied (photos and thumbnails).
    pub blobs: u64,
}

/// Backs up the installation whose database is `database_url` (reached also
/// through `pool`) and whose data directory is `data_dir` into `to`, which
/// must not exist or be empty.
pub async fn backup(
    pool: &PgPool,
    database_url: &str,
    data_dir: &Path,
    to: &Path,
) -> anyhow::Result<Manifest> {
    if to.exists() && fs::read_dir(to)?.next().is_some() {
        bail!("{} is not empty; a backup goes into a new directory", to.display());
    }
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let dump = to.join(DUMP);
    run(
        Command::new(tool("pg_dump")?)
            .args(["--format=custom", "--compress=6", "--no-owner", "--file"])
            .arg(&dump)
            .arg("--dbname")
            .arg(database_url),
        "pg_dump",
    )
    .await?;
    // Counted after the dump: at least this many are in it (more may have arrived since).
    let counts = sqlx::query!(
        r#"SELECT (SELECT max(version) FROM _sqlx_migrations) AS "schema_version!",
                  (SELECT count(*) FROM incidents) AS "incidents!",
                  (SELECT count(*) FROM photos) AS "photos!""#
    )
    .fetch_one(pool)
    .await?;
    let (schema_version, incidents, photos) = (counts.schema_version, counts.incidents, counts.photos);
    let blobs = copy_tree(&data_dir.join(PHOTOS), &to.join(PHOTOS), &["tmp"])?;
    let key = data_dir.join(VAPID);
    if key.exists() {
        fs::copy(&key, to.join(VAPID)).context("copying the VAPID key")?;
    }
    let manifest = Manifest {
        created_at: chrono::Utc::now(),
        kvo_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        incidents,
        photos,
        blobs,
    };
    fs::write(to.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    sync_tree(to)?;
    Ok(manifest)
}

/// Restores the backup in `from` into the empty database `database_url`
/// and the data directory `data_dir`. Refuses a database that has tables.
pub async fn restore(
    pool: &PgPool,
    database_url: &str,
    data_dir: &Path,
    from: &Path,
) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(
        &fs::read(from.join(MANIFEST)).with_context(|| format!("{} is no kvo backup", from.display()))?,
    )
    .context("reading the backup's manifest")?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(pool)
    .await?;
    if tables > 0 {
        bail!("the target database is not empty ({tables} tables); restore into a new, empty one");
    }
    run(
        Command::new(tool("pg_restore")?)
            .args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname"])
            .arg(database_url)
            .arg(from.join(DUMP)),
        "pg_restore",
    )
    .await?;
    let photos = data_dir.join(PHOTOS);
    copy_tree(&from.join(PHOTOS), &photos, &[])?;
    if photos.exists() {
        sync_tree(&photos)?;
    }
    if from.join(VAPID).exists() {
        fs::create_dir_all(data_dir)?;
        fs::copy(from.join(VAPID), data_dir.join(VAPID)).context("restoring the VAPID key")?;
        fs::File::open(data_dir.join(VAPID))?.sync_all()?;
    }
    Ok(manifest)
}

/// A PostgreSQL client tool of the installed server version (so the dump
/// format matches), or from `PATH`.
fn tool(name: &str) -> anyhow::Result<PathBuf> {
    let bin = crate::db::embedded::find_bin_dir().map(|d| d.join(name));
    Ok(bin.ok().filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from(name)))
}

async fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.stdin(Stdio::null()).output().await.with_context(|| format!("starting {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Copies the files under `from` to `to` (keeping the layout, skipping the
/// top-level directories in `skip`); returns the number of files copied.
fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> anyhow::Result<u64> {
    if !from.exists() {
        return Ok(0);
    }
    fs::create_dir_all(to)?;
    let mut n = 0;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            n += copy_tree(&src, &dst, &[])?;
        } else {
            fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Flushes every file under `dir` to disk.
fn sync_tree(dir: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            fs::File::open(entry.path())?.sync_all()?;
        }
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}
