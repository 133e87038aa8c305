//! mobile-core: the shared Rust core of the KVO meldingen phone apps.
//!
//! It grows into the offline queue, photo preparation and sync in its own
//! issue; today it re-exports the wire types it shares with the server.

pub use kvo_api as api;
