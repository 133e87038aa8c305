//! Errors: a small public enum for the apps ([`ApiError`], which Kotlin sees
//! as `ApiException` and Swift as `ApiError`), separate from the internal
//! [`Error`], converted in one place. Messages carry no personal data: no
//! descriptions, no coordinates, no tokens.

/// What can go wrong, as the app sees it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// The server could not be reached or did not answer; try again later.
    #[error("network unavailable: {reason}")]
    Network { reason: String },
    /// Not signed in, or the device token was revoked: redeem a new invite.
    #[error("not signed in")]
    Unauthorized,
    /// A value the user entered is not acceptable; `field` names it.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A photo could not be prepared (corrupt, unsupported, too large).
    #[error("photo cannot be used: {reason}")]
    Photo { reason: String },
    /// The on-device store failed (disk full, corrupted).
    #[error("storage failed: {reason}")]
    Storage { reason: String },
    /// No such report, photo or patrol on this device.
    #[error("not found")]
    NotFound,
    /// The action is not possible in the current state (e.g. editing a sent report).
    #[error("not possible now: {reason}")]
    State { reason: String },
    /// The server refused or failed in a way the app cannot fix.
    #[error("server answered {status}: {reason}")]
    Server { status: u16, reason: String },
}

/// Internal errors, with context for logs and tests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("photo: {0}")]
    Photo(#[from] crate::photo::PhotoError),
    #[error("transport: {0}")]
    Transport(String),
    #[error("unauthorised")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("state: {0}")]
    State(&'static str),
    #[error("server {status}: {reason}")]
    Server { status: u16, reason: String },
    /// The app's `SecretStore` refused to keep the device token.
    #[error("the secure storage refused the device token")]
    SecureStorage,
}

/// Result alias for the internal code.
pub type Result<T> = std::result::Result<T, Error>;

impl From<kvo_api::ValidationError> for Error {
    fn from(e: kvo_api::ValidationError) -> Self {
        Error::Invalid { field: e.field(), reason: e.message_en() }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Sqlite(e) => ApiError::Storage { reason: e.to_string() },
            Error::Io(e) => ApiError::Storage { reason: e.kind().to_string() },
            Error::Json(e) => ApiError::Storage { reason: format!("corrupt record: {}", e.classify() as u8) },
            Error::Invalid { field, reason } => ApiError::InvalidInput { field, reason },
            Error::Photo(e) => ApiError::Photo { reason: e.to_string() },
            Error::Transport(reason) => ApiError::Network { reason },
            Error::Unauthorized => ApiError::Unauthorized,
            Error::NotFound => ApiError::NotFound,
            Error::State(reason) => ApiError::State { reason: reason.to_string() },
            Error::SecureStorage => {
                ApiError::Storage { reason: "the secure storage refused the device token".into() }
            }
            Error::Server { status, reason } => ApiError::Server { status, reason },
        }
    }
}
