//! The KVO meldingen domain vocabulary and the JSON types that travel between
//! the phones (mobile-core) and the server.
//!
//! Everything here is pure: no I/O, no database, no FFI. Both sides parse
//! untrusted input into the domain types of [`validate`] once, at their edge,
//! so that a latitude of 200 or a 10 MB description cannot travel further.

/// Gives a domain enum its stable text code — stored in the database, sent
/// on the wire — derived by strum from the variant names in snake_case (the
/// text serde writes too), and the list of every variant in declaration order.
/// The enum derives `strum::{IntoStaticStr, VariantArray}` with
/// `#[strum(serialize_all = "snake_case")]`.
#[macro_export]
macro_rules! coded {
    ($t:ident) => {
        impl $t {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$t] = <$t as ::strum::VariantArray>::VARIANTS;

            /// The stable code.
            pub fn code(self) -> &'static str {
                self.into()
            }

            /// Parses a code; `None` for anything else.
            pub fn from_code(code: &str) -> Option<$t> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// The codes of `list`, in its order (for binding as `text[]`).
            pub fn codes(list: &[$t]) -> Vec<&'static str> {
                list.iter().map(|v| v.code()).collect()
            }
        }
    };
}

pub mod admin;
pub mod analysis;
pub mod category;
pub mod follow_up;
pub mod open311;
pub mod paths;
pub mod push;
pub mod questions;
pub mod registers;
pub mod role;
pub mod rounds;
pub mod status;
pub mod validate;
pub mod wire;

pub use category::{Category, CategoryCode, DEFAULT_CATEGORIES, Dimension, Theme};
pub use role::Role;
pub use validate::{Description, Location, ValidationError};

#[cfg(test)]
mod tests {
    use crate::{
        Dimension, Role, Theme,
        admin::{AdminAction, InviteState},
        follow_up::Organisation,
        registers::AssetKind,
        rounds::{HourBand, RoundStatus},
        status::IncidentStatus,
        wire::AreaKind,
    };

    /// The derived code of every coded enum is the text serde writes, and parses back.
    fn same_as_serde<T: serde::Serialize + Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        code: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        assert!(!all.is_empty());
        for &v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), code(v), "{v:?}");
            assert_eq!(parse(code(v)), Some(v));
        }
        assert_eq!(parse("nonsense"), None);
    }

    #[test]
    fn codes_are_serdes_names() {
        same_as_serde(Role::ALL, Role::code, Role::from_code);
        same_as_serde(Theme::ALL, Theme::code, Theme::from_code);
        same_as_serde(Dimension::ALL, Dimension::code, Dimension::from_code);
        same_as_serde(IncidentStatus::ALL, IncidentStatus::code, IncidentStatus::from_code);
        same_as_serde(Organisation::ALL, Organisation::code, Organisation::from_code);
        same_as_serde(AreaKind::ALL, AreaKind::code, AreaKind::from_code);
        same_as_serde(RoundStatus::ALL, RoundStatus::code, RoundStatus::from_code);
        same_as_serde(HourBand::ALL, HourBand::code, HourBand::from_code);
        same_as_serde(AdminAction::ALL, AdminAction::code, AdminAction::from_code);
        same_as_serde(InviteState::ALL, InviteState::code, InviteState::from_code);
        same_as_serde(AssetKind::ALL, AssetKind::code, AssetKind::from_code);
        assert_eq!(IncidentStatus::InBehandeling.code(), "in_behandeling");
        assert_eq!(AreaKind::KvoW.code(), "kvo_w");
    }
}
