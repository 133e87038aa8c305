//! The one place where it is decided what a role may see of an area's
//! incidents in maps, tiles, analyses and exports.
//!
//! Roles that see every incident (werkgroep, partners, beveiliger, beheerder)
//! get individual incidents and exact counts. Roles below the werkgroep (the
//! ondernemer, and any later public view) get aggregated cells only, and a
//! count below [`MIN_COUNT`] is suppressed, so that a single report cannot
//! be traced to a shop.

use kvo_api::{Role, category::Dimension};

/// The smallest count shown to a role that gets aggregates only.
pub const MIN_COUNT: i64 = 3;

/// The cells a public location of a sensitive report is moved to the centre
/// of (resolution 9: about 170 m across).
const PUBLIC_CELLS: h3o::Resolution = h3o::Resolution::Nine;

/// A report's location as it may be published (Open311's public lists):
/// exact for what is schoon or heel (a broken lamp, litter), the centre of
/// its 170 m cell for what is veilig (theft, aggression: a shop must not be
/// recognisable) and for a category without a dimension. `(lat, lon)`.
pub fn public_location(dimension: Option<Dimension>, lat: f64, lon: f64) -> (f64, f64) {
    if matches!(dimension, Some(Dimension::Schoon | Dimension::Heel)) {
        return (lat, lon);
    }
    match h3o::LatLng::new(lat, lon) {
        Ok(ll) => {
            let c = h3o::LatLng::from(ll.to_cell(PUBLIC_CELLS));
            ((c.lat() * 1e5).round() / 1e5, (c.lng() * 1e5).round() / 1e5)
        }
        Err(_) => (lat.round(), lon.round()),
    }
}

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

/// A report's description as it may be published (Open311's public
/// lists): only when the area opted in, and only for what is schoon or heel
/// (a description of theft or aggression may name a suspect or a victim).
pub fn public_description(
    dimension: Option<Dimension>,
    area_opted_in: bool,
    text: Option<String>,
) -> Option<String> {
    let shown = area_opted_in && matches!(dimension, Some(Dimension::Schoon | Dimension::Heel));
    text.filter(|_| shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_public_only_when_the_area_opts_in_and_never_for_what_is_veilig() {
        let text = || Some("Lamp 0412 knippert".to_string());
        assert_eq!(public_description(Some(Dimension::Heel), false, text()), None);
        assert_eq!(public_description(Some(Dimension::Heel), true, text()), text());
        assert_eq!(public_description(Some(Dimension::Veilig), true, text()), None);
        assert_eq!(public_description(None, true, text()), None);
    }

    #[test]
    fn a_theft_is_published_at_its_cells_centre_and_a_broken_lamp_where_it_is() {
        let (lat, lon) = (52.25112, 6.15923);
        assert_eq!(public_location(Some(Dimension::Heel), lat, lon), (lat, lon));
        let moved = public_location(Some(Dimension::Veilig), lat, lon);
        assert_ne!(moved, (lat, lon));
        // Within the cell (about 100 m from its centre at most), never exact.
        let d_m = ((moved.0 - lat) * 111_000.0).hypot((moved.1 - lon) * 68_000.0);
        assert!(d_m < 200.0, "{d_m}");
        // Every report in the cell gets the same point.
        assert_eq!(public_location(Some(Dimension::Veilig), lat + 0.00001, lon), moved);
        assert_eq!(public_location(None, lat, lon), moved);
    }

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
