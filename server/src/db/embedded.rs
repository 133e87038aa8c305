//! The embedded default: a private PostgreSQL + PostGIS cluster under the data
//! directory, started when no `DATABASE_URL` is given.
//!
//! The cluster listens on a Unix socket only (no TCP port), in a directory
//! only its owner can enter, with `trust` authentication for that socket.
//! PostgreSQL refuses to run as root, so as root the cluster is owned by and
//! run as the `postgres` system user (`runuser`).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use tokio::process::Command;

/// The superuser of the private cluster.
pub const SUPERUSER: &str = "kvo";
const PORT: u16 = 5432;
/// PostGIS 3's library, preloaded when the cluster's installation has it.
pub const POSTGIS_LIBRARY: &str = "postgis-3";

/// A private cluster, started or found running.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    run_as: Option<&'static str>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Initialises the cluster under `root` if it does not exist yet, and starts
    /// it unless it is already running (for example under a server that shares
    /// the data directory with this `kvo` command).
    pub async fn start(root: &Path) -> anyhow::Result<EmbeddedPostgres> {
        let bin = find_bin_dir()?;
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let run_as = is_root().then_some("postgres");
        let mut pg = EmbeddedPostgres {
            data: root.join("data"),
            socket_dir: socket_dir_for(&root),
            log: root.join("postgres.log"),
            bin,
            run_as,
            started_here: false,
        };
        std::fs::create_dir_all(&pg.socket_dir)?;
        if let Some(user) = run_as {
            chown_to(user, &[&root, &pg.socket_dir]).await?;
            let ok = pg.command("test").args(["-w".as_ref(), root.as_os_str()]).status().await?;
            if !ok.success() {
                bail!(
                    "PostgreSQL runs as the `{user}` user when started by root, and that user cannot \
                     reach {}. Set KVO_DATA_DIR to a directory it can reach (for example under /var/lib \
                     or /tmp), or run as an ordinary user.",
                    root.display()
                );
            }
        }
        if !pg.data.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }
        if !pg.is_running().await? {
            pg.pg_ctl_start().await?;
            pg.started_here = true;
        }
        Ok(pg)
    }

    /// Connection options for database `db` on this cluster.
    pub fn connect_options(&self, db: &str) -> PgConnectOptions {
        PgConnectOptions::new().socket(&self.socket_dir).port(PORT).username(SUPERUSER).database(db)
    }

    /// A URL for database `db` that both libpq (`psql`) and sqlx read (the
    /// `host` parameter names the socket directory).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@localhost/{db}?host={}&port={PORT}", self.socket_dir.display())
    }

    /// Whether this process started the cluster (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back,
    /// committed data is on disk).
    pub async fn stop(&self) -> anyhow::Result<()> {
        let out = self
            .command(self.bin.join("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60"])
            .output()
            .await?;
        if !out.status.success() {
            bail!("pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Makes sure the cluster is stopped (and `remove` deleted) once process
    /// `pid` has exited, however it exits. For tests and benchmarks, whose
    /// clusters are throw-away.
    pub fn stop_when_process_exits(&self, pid: u32, remove: Option<&Path>) -> anyhow::Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let as_user = self.run_as.map(|u| format!("runuser -u {u} -- ")).unwrap_or_default();
        let rm = remove.map(|p| format!("; rm -rf '{}'", p.display())).unwrap_or_default();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {as_user}'{}' stop -D '{}' -m immediate >/dev/null 2>&1{rm}",
            pg_ctl.display(),
            self.data.display()
        );
        std::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning the cluster watchdog")?;
        Ok(())
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.data.display(), "initialising private PostgreSQL cluster");
        let out = self
            .command(self.bin.join("initdb"))
            .arg("-D")
            .arg(&self.data)
            .args(["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"])
            .output()
            .await
            .context("running initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    async fn is_running(&self) -> anyhow::Result<bool> {
        let status = self
            .command(self.bin.join("pg_ctl"))
            .arg("status")
            .arg("-D")
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await?;
        Ok(status.success())
    }

    async fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let mut opts = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c max_connections=300 -c shared_buffers=256MB \
             -c unix_socket_permissions=0700 -c commit_delay=200 -c commit_siblings=4",
            self.socket_dir.display()
        );
        // PostGIS loaded once by the postmaster, not by every new connection on
        // its first spatial call (7 ms each, measured).
        if self.bin.parent().is_some_and(|dir| dir.join("lib").join(format!("{POSTGIS_LIBRARY}.so")).exists())
        {
            opts.push_str(&format!(" -c shared_preload_libraries={POSTGIS_LIBRARY}"));
        }
        let out = self
            .command(self.bin.join("pg_ctl"))
            .arg("start")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "-o", &opts])
            .output()
            .await
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = tail.lines().rev().take(10).collect::<Vec<_>>().join("\n");
            bail!("PostgreSQL did not start: {}\n{tail}", String::from_utf8_lossy(&out.stderr));
        }
        tracing::info!(socket = %self.socket_dir.display(), "private PostgreSQL cluster started");
        Ok(())
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.stdin(Stdio::null()).kill_on_drop(false);
        cmd
    }
}

/// Finds PostgreSQL's server binaries: `KVO_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` that has PostGIS beside it.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("KVO_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    let Some((version, bin)) = versions.pop() else {
        bail!(
            "PostgreSQL is not installed. Install it with PostGIS: \
             sudo apt-get install -y postgresql-15-postgis-3 (or set DATABASE_URL)"
        );
    };
    let control = format!("/usr/share/postgresql/{version}/extension/postgis.control");
    if !Path::new(&control).exists() {
        bail!(
            "PostGIS is not installed for PostgreSQL {version}: sudo apt-get install -y postgresql-{version}-postgis-3"
        );
    }
    Ok(bin)
}

/// Unix socket paths are limited to ~107 bytes; a deep data directory gets
/// its socket in a private directory under /tmp instead.
fn socket_dir_for(root: &Path) -> PathBuf {
    let preferred = root.join("run");
    if preferred.as_os_str().len() + ".s.PGSQL.5432".len() + 1 < 100 {
        return preferred;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("kvo-pg-{}", &hex::encode(digest)[..12]))
}

async fn chown_to(user: &str, paths: &[&Path]) -> anyhow::Result<()> {
    for p in paths {
        let status = Command::new("chown").arg("-R").arg(user).arg(p).status().await?;
        if !status.success() {
            bail!("chown {user} {} failed (does the `{user}` user exist?)", p.display());
        }
    }
    Ok(())
}

#[allow(unsafe_code)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
