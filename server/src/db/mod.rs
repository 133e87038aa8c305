//! The database: connecting (to `DATABASE_URL` or the embedded cluster),
//! migrations, and the PostGIS check.

pub mod embedded;

use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{
    ConnectOptions, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::Config;
pub use embedded::{EmbeddedPostgres, POSTGIS_LIBRARY};

/// The plain SQL migrations in `/migrations`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The oldest PostGIS this code is written for.
const MIN_POSTGIS: (u32, u32) = (3, 0);

/// An open database: the pool, and the embedded cluster if this process owns one.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects as configured, creating the embedded cluster and its database
    /// on first use, applies pending migrations, and checks PostGIS.
    pub async fn open(cfg: &Config) -> anyhow::Result<Database> {
        let (options, embedded) = match &cfg.database_url {
            Some(url) => (url.parse::<PgConnectOptions>().context("DATABASE_URL is not a valid URL")?, None),
            None => {
                let pg = EmbeddedPostgres::start(&cfg.data_dir.join("postgres")).await?;
                ensure_database(&pg, "kvo").await?;
                (pg.connect_options("kvo"), Some(pg))
            }
        };
        let pool = connect(options, cfg.db_pool).await?;
        MIGRATOR.run(&pool).await.context("applying migrations")?;
        check_postgis(&pool).await?;
        let filled = crate::analytics::rollup::backfill_cells(&pool).await?;
        if filled > 0 {
            tracing::info!(incidents = filled, "computed H3 cells of incidents stored before migration 0004");
        }
        Ok(Database { pool, embedded })
    }

    /// Closes the pool and stops the embedded cluster if this process started it
    /// (an administration command leaves a server's cluster running).
    pub async fn close(self) -> anyhow::Result<()> {
        let started_here = self.embedded.as_ref().is_some_and(EmbeddedPostgres::started_here);
        self.shut_down(started_here).await
    }

    /// Closes the pool and stops the embedded cluster, also one found running
    /// (left behind by a server that was killed): the server owns its cluster.
    pub async fn close_and_stop(self) -> anyhow::Result<()> {
        self.shut_down(true).await
    }

    async fn shut_down(self, stop: bool) -> anyhow::Result<()> {
        self.pool.close().await;
        if let (true, Some(pg)) = (stop, self.embedded) {
            pg.stop().await?;
            tracing::info!("private PostgreSQL cluster stopped");
        }
        Ok(())
    }
}

/// A pool whose acquire time-out is short, so an overloaded or absent database
/// answers 503 rather than hanging the request. Its connections run without
/// parallel query workers (ADR 0023): after five executions PostgreSQL plans a
/// prepared statement generically, and for the rollup's short reads that plan
/// started workers that cost more than the whole read (2.1 ms became 9.7 ms
/// alone, 20–40 ms under load).
pub async fn connect(options: PgConnectOptions, size: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(conn, "SET max_parallel_workers_per_gather = 0").await.map(|_| ())
            })
        })
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")
}

/// Creates database `name` on the embedded cluster if it is missing.
pub async fn ensure_database(pg: &EmbeddedPostgres, name: &str) -> anyhow::Result<()> {
    let mut conn =
        pg.connect_options("postgres").connect().await.context("connecting to the private cluster")?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        // Identifiers cannot be bound; `name` is one of our own constants or a test's generated name.
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            bail!("invalid database name {name}");
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    }
    Ok(())
}

/// Fails unless PostGIS is installed in a version this code supports; returns it.
pub async fn check_postgis(pool: &PgPool) -> anyhow::Result<String> {
    let version: String = sqlx::query_scalar("SELECT postgis_lib_version()")
        .fetch_one(pool)
        .await
        .context("PostGIS is not available in this database")?;
    let mut parts = version.split('.').filter_map(|p| p.parse::<u32>().ok());
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_POSTGIS {
        bail!("PostGIS {version} is too old; {}.{} or newer is needed", MIN_POSTGIS.0, MIN_POSTGIS.1);
    }
    Ok(version)
}

/// Whether every embedded migration has been applied (for `/readyz`).
pub async fn migrations_applied(pool: &PgPool) -> anyhow::Result<bool> {
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
    Ok(applied as usize >= MIGRATOR.iter().count())
}
