//! Content-addressed blob storage behind a small trait, so S3-compatible
//! storage can replace the local disk later. Calls are blocking; the server
//! runs them on the blocking pool.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

/// Where photo bytes live, addressed by the SHA-256 of their content.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` durably (on disk and fsynced before this returns) and
    /// returns their key, the hex SHA-256. Storing the same bytes twice is a no-op.
    fn put(&self, bytes: &[u8]) -> io::Result<String>;
    /// Reads a blob, or `None` if there is none under `key`.
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>>;
    /// Removes a blob; removing a missing blob is not an error.
    fn delete(&self, key: &str) -> io::Result<()>;
    /// Every stored key with the time it was written.
    fn list(&self) -> io::Result<Vec<(String, std::time::SystemTime)>>;
}

/// Blobs as files under `root/ab/cd/abcd…`, written to a temporary file,
/// fsynced, renamed into place, and the directory fsynced.
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    /// A store under `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> io::Result<LocalDisk> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp"))?;
        Ok(LocalDisk { root })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "invalid blob key"));
        }
        Ok(self.root.join(&key[0..2]).join(&key[2..4]).join(key))
    }
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl BlobStore for LocalDisk {
    fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let key = hex::encode(Sha256::digest(bytes));
        let path = self.path(&key)?;
        if path.metadata().is_ok_and(|m| m.len() == bytes.len() as u64) {
            return Ok(key);
        }
        let dir = path.parent().expect("blob paths have a parent");
        fs::create_dir_all(dir)?;
        let tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.as_file().write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        fsync_dir(dir)?;
        Ok(key)
    }

    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(key)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn list(&self) -> io::Result<Vec<(String, std::time::SystemTime)>> {
        let mut out = vec![];
        for a in fs::read_dir(&self.root)?.flatten().filter(|e| e.file_name().len() == 2) {
            for b in fs::read_dir(a.path())?.flatten() {
                for f in fs::read_dir(b.path())?.flatten() {
                    let name = f.file_name().to_string_lossy().to_string();
                    if self.path(&name).is_ok() {
                        out.push((name, f.metadata()?.modified()?));
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDisk::new(dir.path()).unwrap();
        let key = s.put(b"foto").unwrap();
        assert_eq!(key, hex::encode(Sha256::digest(b"foto")));
        assert_eq!(s.put(b"foto").unwrap(), key);
        assert_eq!(s.get(&key).unwrap().unwrap(), b"foto");
        assert_eq!(s.list().unwrap().into_iter().map(|(k, _)| k).collect::<Vec<_>>(), vec![key.clone()]);
        s.delete(&key).unwrap();
        assert_eq!(s.get(&key).unwrap(), None);
        assert!(s.list().unwrap().is_empty());
        s.delete(&key).unwrap();
        assert!(s.get("../../etc/passwd").is_err());
    }
}
