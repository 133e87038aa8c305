//! mobile-core: the offline-first reporting core of the KVO meldingen phone
//! apps, exported to Kotlin, Swift (and Python, for tests) through uniffi.
//!
//! The app holds one [`KvoClient`]. Everything the user does is written to the
//! on-device store first ([`store`]); [`KvoClient::sync`] drains the outbox in
//! order through its [`engine`] ([`queue`] decides what each answer means,
//! [`requests`] builds what is sent, [`transport`] carries it); photos are prepared on the
//! device ([`photo`]) so that only a small, metadata-free JPEG ever leaves it.
//! The wire types are shared with the server ([`kvo_api`]).

uniffi::setup_scaffolding!();

pub mod client;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod photo;
pub mod queue;
pub mod requests;
pub mod secrets;
pub mod store;
pub mod transport;

pub use client::{
    AttachedPhoto, Category, GeoFix, KvoClient, NearbyReport, PhotoEntry, Report, ReportDraft, Session,
};
pub use engine::{QueueState, StatusChange, SyncObserver};
pub use error::ApiError;
pub use kvo_api as api;
pub use queue::ItemState;
pub use secrets::SecretStore;
