//! What the werkgroep reads in aggregate: heatmaps, vector tiles, the
//! schoon-heel-veilig analysis and exports, all over one [`Filter`].
//!
//! Counts come from the rollup ([`rollup`], ADR 0006), so their cost does not
//! grow with the number of incidents. What a role may see is decided in one
//! place, [`privacy`].

pub mod analysis;
pub mod cells;
pub mod error;
pub mod export;
pub mod heatmap;
pub mod hotspots;
pub mod privacy;
pub mod public;
pub mod region;
pub mod rollup;
pub mod table;
pub mod tiles;

use chrono::{Datelike, Duration, NaiveDate};
use kvo_api::{CategoryCode, Dimension, Theme, wire::IncidentStatus};

use crate::areas::AreaIndex;
pub use error::AnalyticsError;
use error::Result;

/// The longest period any aggregate covers.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

/// The filter of a request, typed but not yet checked against the area.
#[derive(Debug, Default, Clone)]
pub struct RawFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub categories: Option<Vec<CategoryCode>>,
    pub themes: Option<Vec<Theme>>,
    pub dimensions: Option<Vec<Dimension>>,
    pub statuses: Option<Vec<IncidentStatus>>,
}

/// A checked filter: a period of whole Dutch days and the categories and
/// statuses to count (`None`: all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// The day after the last one (exclusive).
    pub until: NaiveDate,
    pub categories: Option<Vec<String>>,
    pub statuses: Option<Vec<IncidentStatus>>,
}

impl Filter {
    /// Checks `raw` against the area: unknown codes and absurd periods are
    /// refused with a 400 naming the field.
    pub fn resolve(raw: &RawFilter, area: &AreaIndex, today: NaiveDate) -> Result<Filter> {
        let to = raw.to.unwrap_or(today);
        let from = raw.from.unwrap_or(to - Duration::days(27));
        let (from, until) = check_period(from, to, "from")?;

        let mut chosen: Option<Vec<String>> = None;
        let mut narrow = |keep: &dyn Fn(&kvo_api::wire::CategoryInfo) -> bool| {
            let base: Vec<String> = match chosen.take() {
                Some(c) => c,
                None => area.categories().iter().map(|c| c.code.clone()).collect(),
            };
            chosen = Some(base.into_iter().filter(|code| area.category(code).is_some_and(keep)).collect());
        };
        if let Some(codes) = &raw.categories {
            if let Some(unknown) = codes.iter().find(|c| area.category(c.as_str()).is_none()) {
                let code = kvo_api::validate::shown(unknown.as_str());
                return Err(AnalyticsError::UnknownCategory { field: "category", code });
            }
            narrow(&|c| codes.iter().any(|k| k.as_str() == c.code));
        }
        if let Some(themes) = &raw.themes {
            narrow(&|c| c.theme.is_some_and(|t| themes.contains(&t)));
        }
        if let Some(dims) = &raw.dimensions {
            narrow(&|c| c.dimension.is_some_and(|d| dims.contains(&d)));
        }
        let statuses = raw.statuses.clone().map(|mut v| {
            v.sort_by_key(|s| s.code());
            v.dedup();
            v
        });
        if let Some(c) = chosen.as_mut() {
            c.sort();
            c.dedup();
        }
        Ok(Filter { from, until, categories: chosen, statuses })
    }

    /// The statuses as their database codes, for binding.
    pub fn status_codes(&self) -> Option<Vec<&'static str>> {
        self.statuses.as_deref().map(IncidentStatus::codes)
    }

    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.until - self.from).num_days()
    }

    /// The same filter over another period.
    pub fn with_period(&self, from: NaiveDate, until: NaiveDate) -> Filter {
        Filter { from, until, ..self.clone() }
    }

    /// A stable text form, for cache keys.
    pub fn key(&self) -> String {
        let categories = self.categories.as_ref().map_or("*".to_string(), |v| v.join(","));
        let statuses = self.status_codes().map_or("*".to_string(), |v| v.join(","));
        format!("{}..{}|{categories}|{statuses}", self.from, self.until)
    }

    /// The whole calendar months inside the period, as [first month start,
    /// end), or an empty range at `until` when there is none.
    pub fn whole_months(&self) -> (NaiveDate, NaiveDate) {
        let first_of = |d: NaiveDate| d.with_day(1).expect("day 1 exists");
        let start = if self.from.day() == 1 { self.from } else { next_month(first_of(self.from)) };
        let end = first_of(self.until);
        if start < end { (start, end) } else { (self.until, self.until) }
    }
}

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .expect("valid month")
}

/// Checks an inclusive period and returns it half-open.
pub fn check_period(from: NaiveDate, to: NaiveDate, field: &'static str) -> Result<(NaiveDate, NaiveDate)> {
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
    let latest = NaiveDate::from_ymd_opt(2100, 1, 1).expect("valid date");
    if from > to {
        return Err(AnalyticsError::PeriodReversed(field));
    }
    if from < earliest || to >= latest {
        return Err(AnalyticsError::PeriodOutOfRange(field));
    }
    let until = to + Duration::days(1);
    if (until - from).num_days() > MAX_PERIOD_DAYS {
        return Err(AnalyticsError::PeriodTooLong(field));
    }
    Ok((from, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn f(from: &str, until: &str) -> Filter {
        Filter { from: d(from), until: d(until), categories: None, statuses: None }
    }

    #[test]
    fn whole_months_split_the_period() {
        assert_eq!(f("2026-01-01", "2026-04-01").whole_months(), (d("2026-01-01"), d("2026-04-01")));
        assert_eq!(f("2026-01-15", "2026-04-10").whole_months(), (d("2026-02-01"), d("2026-04-01")));
        assert_eq!(f("2026-01-15", "2026-02-10").whole_months(), (d("2026-02-10"), d("2026-02-10")));
        assert_eq!(f("2025-12-02", "2026-02-01").whole_months(), (d("2026-01-01"), d("2026-02-01")));
    }

    #[test]
    fn periods_are_checked() {
        assert!(check_period(d("2026-01-01"), d("2026-12-31"), "from").is_ok());
        assert!(check_period(d("2026-02-01"), d("2026-01-01"), "from").is_err());
        assert!(check_period(d("2010-01-01"), d("2026-01-01"), "from").is_err());
        assert!(check_period(d("1999-12-31"), d("2000-01-02"), "from").is_err());
    }
}
