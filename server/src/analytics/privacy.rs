//! The one place where it is decided what a role may see of an area's
//! incidents in maps, tiles, analyses and exports.
//!
//! Roles that see every incident (werkgroep, partners, beveiliger, beheerder)
//! get individual incidents and exact counts. Roles below the werkgroep (the
//! ondernemer, and any later public view) get aggregated cells only, and a
//! count below [`MIN_COUNT`] is suppressed, so that a single report cannot
//! be traced to a shop.

use kvo_api::Role;

/// The smallest count shown to a role that gets aggregates only.
pub const MIN_COUNT: i64 = 3;

/// What a request may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disclosure {
    /// Individual incidents and exact counts.
    Full,
    /// Aggregated cells only, small counts suppressed.
    Aggregated,
}

impl Disclosure {
    /// The disclosure for a role in an area.
    pub fn of(role: Role) -> Disclosure {
        if role.sees_all_incidents() { Disclosure::Full } else { Disclosure::Aggregated }
    }

    /// Whether individual incidents (points, exports) may be shown.
    pub fn individual_incidents(self) -> bool {
        self == Disclosure::Full
    }

    /// A count as it may be shown: `None` when it is suppressed.
    pub fn count(self, n: i64) -> Option<i64> {
        match self {
            Disclosure::Full => Some(n),
            Disclosure::Aggregated if n >= MIN_COUNT => Some(n),
            Disclosure::Aggregated => None,
        }
    }

    /// A figure computed from `n` incidents (a median, say), as it may be
    /// shown: suppressed exactly when a count of `n` would be, so a narrow
    /// filter cannot disclose one incident's value.
    pub fn statistic<T>(self, n: i64, value: Option<T>) -> Option<T> {
        self.count(n).and(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ondernemers_get_suppressed_aggregates_and_the_werkgroep_everything() {
        let o = Disclosure::of(Role::Ondernemer);
        assert!(!o.individual_incidents());
        assert_eq!((o.count(1), o.count(2), o.count(3)), (None, None, Some(3)));
        assert_eq!((o.statistic(2, Some(7.5)), o.statistic(3, Some(7.5))), (None, Some(7.5)));
        assert_eq!(Disclosure::of(Role::Werkgroep).statistic(1, Some(7.5)), Some(7.5));
        for r in [Role::Werkgroep, Role::Gemeente, Role::Politie, Role::Brandweer, Role::Beveiliger] {
            let d = Disclosure::of(r);
            assert!(d.individual_incidents());
            assert_eq!(d.count(1), Some(1));
        }
    }
}
