//! The statuses of an incident's follow-up.

use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Where an incident stands in its follow-up.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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

crate::coded!(IncidentStatus);

impl IncidentStatus {
    /// Still to be dealt with: new, in hand or reopened.
    pub fn is_open(self) -> bool {
        matches!(self, IncidentStatus::Nieuw | IncidentStatus::InBehandeling | IncidentStatus::Heropend)
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
