//! The statuses of an incident's follow-up.

use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Where an incident stands in its follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Nieuw,
    InBehandeling,
    Opgelost,
    Afgewezen,
    Heropend,
}

impl IncidentStatus {
    /// Every status.
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Nieuw,
        IncidentStatus::InBehandeling,
        IncidentStatus::Opgelost,
        IncidentStatus::Afgewezen,
        IncidentStatus::Heropend,
    ];

    /// The stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            IncidentStatus::Nieuw => "nieuw",
            IncidentStatus::InBehandeling => "in_behandeling",
            IncidentStatus::Opgelost => "opgelost",
            IncidentStatus::Afgewezen => "afgewezen",
            IncidentStatus::Heropend => "heropend",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Dutch label.
    pub fn label_nl(self) -> &'static str {
        match self {
            IncidentStatus::Nieuw => "Nieuw",
            IncidentStatus::InBehandeling => "In behandeling",
            IncidentStatus::Opgelost => "Opgelost",
            IncidentStatus::Afgewezen => "Afgewezen",
            IncidentStatus::Heropend => "Heropend",
        }
    }
}
