//! The KVO meldingen server: API v1 for the phones and the werkgroep's map,
//! photo ingest, the embedded PostGIS default, and the `kvo` admin tool.
//!
//! See ARCHITECTURE.md at the repository root for the bird's-eye view.

pub mod admin;
pub mod analytics;
pub mod areas;
pub mod auth;
pub mod backup;
pub mod cache;
pub mod column;
pub mod config;
pub mod db;
pub mod duplicates;
pub mod error;
pub mod follow_up;
pub mod http;
pub mod incidents;
pub mod invites;
pub mod my_data;
pub mod nl_time;
pub mod open311;
pub mod patrols;
pub mod photos;
pub mod push;
pub mod rate_limit;
pub mod registers;
pub mod retention;
pub mod visibility;
pub mod worklist;
pub mod zip;

pub use http::{Workers, router, serve, spawn_workers, state::AppState};
