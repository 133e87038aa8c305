//! The KVO meldingen domain vocabulary and the JSON types that travel between
//! the phones (mobile-core) and the server.
//!
//! Everything here is pure: no I/O, no database, no FFI. Both sides parse
//! untrusted input into the domain types of [`validate`] once, at their edge,
//! so that a latitude of 200 or a 10 MB description cannot travel further.

pub mod analysis;
pub mod category;
pub mod follow_up;
pub mod paths;
pub mod push;
pub mod role;
pub mod status;
pub mod validate;
pub mod wire;

pub use category::{Category, DEFAULT_CATEGORIES, Dimension, Theme};
pub use role::Role;
pub use validate::{Description, Location, ValidationError};
