//! The errors every domain module shares. A module with reasons of its own
//! (a patrol that has ended, a period that starts after it ends) declares
//! them in its own error type, next to the rules that raise them
//! (`patrols::PatrolError`, `analytics::AnalyticsError`, …), with this
//! [`Error`] as its `Other` case. Errors name *what* went wrong, with the
//! context a log needs, never how it reads: the HTTP status and the Dutch and
//! English texts of every variant are in one table, `http::problem`.

use kvo_api::ValidationError;

/// What any domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value that breaks a domain rule (422).
    #[error("validation: {0}")]
    Validation(#[from] ValidationError),
    /// No valid credential.
    #[error("not signed in")]
    Unauthenticated,
    /// It does not exist, or the principal may not see it (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// A dependency (the database) is temporarily unavailable.
    #[error("unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else; its details go to the log, never to a client.
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Result alias of the domain modules.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable(e.into())
            }
            other => Error::Internal(other.into()),
        }
    }
}

/// The conversions a module's own error type needs so that `?` works on the
/// database, on `anyhow` and on validation, all through its `Other(Error)`.
macro_rules! module_error {
    ($t:ty) => {
        impl From<sqlx::Error> for $t {
            fn from(e: sqlx::Error) -> Self {
                <$t>::Other(e.into())
            }
        }
        impl From<anyhow::Error> for $t {
            fn from(e: anyhow::Error) -> Self {
                <$t>::Other(e.into())
            }
        }
        impl From<kvo_api::ValidationError> for $t {
            fn from(e: kvo_api::ValidationError) -> Self {
                <$t>::Other(e.into())
            }
        }
    };
}
pub(crate) use module_error;
