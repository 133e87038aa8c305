//! The domain's one error type. It names *what* went wrong, never how it is
//! shown: the HTTP status and the Dutch and English texts of every variant are
//! in one table, `http::problem`.

use kvo_api::{ValidationError, follow_up::Action, wire::IncidentStatus};

/// Every way a domain operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value that breaks a domain rule (422).
    #[error("validation: {0}")]
    Validation(#[from] ValidationError),
    /// A request that can never be right, whatever the data (400).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// No valid credential.
    #[error("not signed in")]
    Unauthenticated,
    /// The role may not do this.
    #[error("forbidden: {0:?}")]
    Forbidden(Forbidden),
    /// It does not exist, or the principal may not see it (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// The state of the data does not allow it.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// An uploaded image that cannot be stored.
    #[error("image: {0:?}")]
    Image(ImageProblem),
    /// A dependency (the database) is temporarily unavailable.
    #[error("unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else; its details go to the log, never to a client.
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Result alias of the domain modules.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The reasons of a 400, each one rule. `http::problem` holds their texts.
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    // Access.
    InviteCode,
    Credentials,
    // Listing incidents.
    Bbox,
    Cursor,
    Limit,
    UnknownStatus {
        field: &'static str,
        code: String,
    },
    // Filters of the aggregates.
    UnknownCategory {
        field: &'static str,
        code: String,
    },
    UnknownTheme(String),
    UnknownDimension(String),
    PeriodReversed(&'static str),
    PeriodOutOfRange(&'static str),
    PeriodTooLong(&'static str),
    Resolution(u8),
    ResolutionSpan {
        resolution: u8,
        years: i64,
    },
    HotspotResolution,
    BaselineWithoutCompare,
    NoBaseline,
    BaselineHalf,
    BaselineOverlaps,
    BaselineTooEarly,
    Zoom(u8),
    MapZoom,
    TileOutside,
    /// Tiles carry single incidents only, from [`crate::analytics::tiles::POINTS_FROM_ZOOM`] on.
    TileZoom(u8),
    // Follow-up.
    TextTooLong {
        field: &'static str,
        max: usize,
    },
    ControlCharacters(&'static str),
    BackToNew,
    DueDateInPast,
    EmptyComment,
    Damage,
    MergeIntoItself,
    // Patrols.
    TooManyPoints(usize),
    // Web Push.
    PushEndpoint,
    PushService,
    PushKey,
    PushAuth,
    // Photos.
    /// A `Content-Digest` header that is not `sha-256=:<base64 of 32 bytes>:`.
    ContentDigest,
    /// The photo's bytes are not the ones the client digested: damaged in
    /// transit. Nothing was stored; the client sends it again.
    DigestMismatch,
}

impl Invalid {
    /// The request field at fault, if one is.
    pub fn field(&self) -> Option<&'static str> {
        use Invalid::*;
        Some(match self {
            InviteCode => "code",
            Credentials => return None,
            Bbox => "bbox",
            Cursor => "cursor",
            Limit => "limit",
            UnknownStatus { field, .. } | UnknownCategory { field, .. } => field,
            UnknownTheme(_) => "theme",
            UnknownDimension(_) => "dimension",
            PeriodReversed(f) | PeriodOutOfRange(f) | PeriodTooLong(f) => f,
            Resolution(_) | ResolutionSpan { .. } | HotspotResolution => "resolution",
            BaselineWithoutCompare | NoBaseline => "compare",
            BaselineHalf | BaselineOverlaps => "baseline_from",
            BaselineTooEarly => "from",
            Zoom(_) | TileZoom(_) => "z",
            MapZoom => "zoom",
            TileOutside => "x",
            TextTooLong { field, .. } => field,
            ControlCharacters(f) => f,
            BackToNew => "status",
            DueDateInPast => "due_date",
            EmptyComment => "body",
            Damage => "damage_eur",
            MergeIntoItself => "into",
            TooManyPoints(_) => "points",
            PushEndpoint | PushService => "endpoint",
            PushKey => "keys.p256dh",
            PushAuth => "keys.auth",
            ContentDigest | DigestMismatch => "Content-Digest",
        })
    }
}

/// The reasons of a 403.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forbidden {
    /// The follow-up permission table does not grant this action.
    Action(Action),
    /// Only guards patrol.
    Patrol,
    /// Following new reports needs a role that sees every report.
    FollowNewReports,
    /// Individual incidents may not be exported by this role.
    ExportIncidents,
    /// Tiles of individual incidents are not for this role (it gets the heatmap).
    IncidentTiles,
}

/// The reasons of a 409.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    IncidentIdTaken,
    PhotoIdTaken,
    PatrolIdTaken,
    PatrolEnded,
    Merged,
    MergeTargetMerged,
    /// The action does not apply to a report with this status.
    Transition {
        action: Action,
        status: IncidentStatus,
    },
}

/// Why an uploaded image is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageProblem {
    Unsupported,
    TooLarge { megapixels: f64 },
    Corrupt,
}

impl From<Invalid> for Error {
    fn from(v: Invalid) -> Self {
        Error::Invalid(v)
    }
}

impl From<Forbidden> for Error {
    fn from(v: Forbidden) -> Self {
        Error::Forbidden(v)
    }
}

impl From<Conflict> for Error {
    fn from(v: Conflict) -> Self {
        Error::Conflict(v)
    }
}

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
