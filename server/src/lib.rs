//! The KVO meldingen server: API v1 for the phones and the werkgroep's map,
//! photo ingest, the embedded PostGIS default, and the `kvo` admin tool.
//!
//! See ARCHITECTURE.md at the repository root for the bird's-eye view.

pub mod analytics;
pub mod areas;
pub mod auth;
pub mod bench;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod follow_up;
pub mod http;
pub mod incidents;
pub mod metrics;
pub mod nl_time;
pub mod patrols;
pub mod photos;
pub mod push;
pub mod state;

use std::future::Future;

pub use http::router;
pub use state::AppState;

/// Serves `state` on `listener` until `shutdown` resolves; in-flight requests
/// are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Starts the background work of a serving process: the rollup compactor and
/// the push worker. Both are safe to run in several processes at once.
pub fn spawn_workers(state: &AppState) {
    tokio::spawn(analytics::rollup::run_compactor(state.pool.clone()));
    tokio::spawn(push::worker::run(
        state.pool.clone(),
        (*state.vapid).clone(),
        push::worker::Settings::from_config(&state.config),
    ));
}
