//! The push sender as a process of its own, configured through the
//! environment as `kvo serve` is (`DATABASE_URL`, `KVO_DATA_DIR`,
//! `KVO_PUSH_HOSTS`, `KVO_PUSH_LEASE_SECS`): the SIGKILL test in
//! `tests/it/push.rs` starts it, kills it and starts it again.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = kvo_server::config::Config::load(None)?;
    let db = kvo_server::db::Database::open(&config).await?;
    let state = kvo_server::AppState::new(db.pool.clone(), config)?;
    kvo_server::spawn_workers(&state);
    // Until killed; should the test die first, for two minutes at most.
    tokio::time::sleep(Duration::from_secs(120)).await;
    Ok(())
}
