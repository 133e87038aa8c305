//! The roles a person can hold in an area (a membership).

use serde::{Deserialize, Serialize};

/// A person's role in one area. A person may hold different roles in
/// different areas.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Ondernemer,
    Beveiliger,
    Werkgroep,
    Gemeente,
    Politie,
    Brandweer,
    Beheerder,
}

crate::coded!(Role);

impl Role {
    /// Whether this role sees every incident of the area. An ondernemer sees
    /// only their own reports (and, later, aggregated maps); everyone else in
    /// the werkgroep or a partner organisation sees all of them.
    pub fn sees_all_incidents(self) -> bool {
        !matches!(self, Role::Ondernemer)
    }

    /// Whether this role may administer the area (invites, zones, categories).
    pub fn administers(self) -> bool {
        matches!(self, Role::Beheerder)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::from_code(s).ok_or_else(|| format!("unknown role `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_serde_and_code() {
        for &r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
    }

    #[test]
    fn only_ondernemer_is_limited_to_own_reports() {
        let limited: Vec<_> = Role::ALL.iter().copied().filter(|r| !r.sees_all_incidents()).collect();
        assert_eq!(limited, vec![Role::Ondernemer]);
    }
}
