//! What the werkgroep reads in aggregate: heatmaps, vector tiles, the
//! schoon-heel-veilig analysis and exports, all over one [`Filter`].
//!
//! Counts come from the rollup ([`rollup`], ADR 0006), so their cost does not
//! grow with the number of incidents. What a role may see is decided in one
//! place, [`privacy`].

pub mod analysis;
pub mod cells;
pub mod export;
pub mod heatmap;
pub mod hotspots;
pub mod privacy;
pub mod rollup;
pub mod tiles;

use chrono::{Datelike, Duration, NaiveDate};
use kvo_api::{Dimension, Theme, wire::IncidentStatus};

use crate::{areas::AreaIndex, error::AppError, error::AppResult};

/// The longest period any aggregate covers.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

/// Declares a query-parameter struct with the common filter fields plus its own.
macro_rules! filter_params {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// First day (YYYY-MM-DD, Dutch calendar), inclusive. Default: 27 days before `to`.
            pub from: Option<chrono::NaiveDate>,
            /// Last day (YYYY-MM-DD), inclusive. Default: today.
            pub to: Option<chrono::NaiveDate>,
            /// Comma-separated category codes (default: all).
            pub category: Option<String>,
            /// Comma-separated KVO themes, e.g. `criminaliteit,overlast`.
            pub theme: Option<String>,
            /// Comma-separated dimensions: `schoon`, `heel`, `veilig`.
            pub dimension: Option<String>,
            /// Comma-separated statuses, e.g. `nieuw,in_behandeling`.
            pub status: Option<String>,
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            /// The filter fields as given.
            pub fn raw(&self) -> $crate::analytics::RawFilter<'_> {
                $crate::analytics::RawFilter {
                    from: self.from,
                    to: self.to,
                    category: self.category.as_deref(),
                    theme: self.theme.as_deref(),
                    dimension: self.dimension.as_deref(),
                    status: self.status.as_deref(),
                }
            }
        }
    };
}
pub(crate) use filter_params;

filter_params! {
    /// Filters of the tile and export endpoints.
    pub struct FilterParams {}
}

/// The filter fields of a request, before they are checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawFilter<'a> {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub category: Option<&'a str>,
    pub theme: Option<&'a str>,
    pub dimension: Option<&'a str>,
    pub status: Option<&'a str>,
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
    pub statuses: Option<Vec<String>>,
}

fn split(raw: Option<&str>) -> Option<Vec<&str>> {
    raw.map(|s| s.split(',').map(str::trim).filter(|c| !c.is_empty()).collect())
}

impl Filter {
    /// Checks `raw` against the area: unknown codes and absurd periods are
    /// refused with a 400 naming the field.
    pub fn resolve(raw: RawFilter<'_>, area: &AreaIndex, today: NaiveDate) -> AppResult<Filter> {
        let to = raw.to.unwrap_or(today);
        let from = raw.from.unwrap_or(to - Duration::days(27));
        let (from, until) = check_period(from, to, "from")?;

        let mut chosen: Option<Vec<String>> = None;
        let mut narrow = |keep: &dyn Fn(&crate::areas::CategoryMeta) -> bool| {
            let base: Vec<String> = match chosen.take() {
                Some(c) => c,
                None => area.categories().iter().map(|c| c.code.clone()).collect(),
            };
            chosen = Some(base.into_iter().filter(|code| area.category(code).is_some_and(keep)).collect());
        };
        if let Some(codes) = split(raw.category) {
            if let Some(unknown) = codes.iter().find(|c| area.category(c).is_none()) {
                let shown: String = unknown.chars().take(40).collect();
                return Err(AppError::bad_request(
                    "category",
                    format!("onbekende categorie `{shown}` in dit gebied"),
                    format!("unknown category `{shown}` in this area"),
                ));
            }
            narrow(&|c| codes.contains(&c.code.as_str()));
        }
        if let Some(themes) = split(raw.theme) {
            let themes = themes
                .iter()
                .map(|t| {
                    Theme::from_code(t).ok_or_else(|| {
                        let t: String = t.chars().take(40).collect();
                        AppError::bad_request(
                            "theme",
                            format!("onbekend thema `{t}`"),
                            format!("unknown theme `{t}`"),
                        )
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            narrow(&|c| c.theme.is_some_and(|t| themes.contains(&t)));
        }
        if let Some(dims) = split(raw.dimension) {
            let dims = dims
                .iter()
                .map(|d| {
                    Dimension::from_code(d).ok_or_else(|| {
                        let d: String = d.chars().take(40).collect();
                        AppError::bad_request(
                            "dimension",
                            format!("onbekende dimensie `{d}` (schoon, heel of veilig)"),
                            format!("unknown dimension `{d}` (schoon, heel or veilig)"),
                        )
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            narrow(&|c| c.dimension.is_some_and(|d| dims.contains(&d)));
        }
        let statuses = match split(raw.status) {
            None => None,
            Some(list) => {
                if let Some(s) = list.iter().find(|s| IncidentStatus::from_code(s).is_none()) {
                    let s: String = s.chars().take(40).collect();
                    return Err(AppError::bad_request(
                        "status",
                        format!("onbekende status `{s}`"),
                        format!("unknown status `{s}`"),
                    ));
                }
                let mut v: Vec<String> = list.into_iter().map(String::from).collect();
                v.sort();
                v.dedup();
                Some(v)
            }
        };
        if let Some(c) = chosen.as_mut() {
            c.sort();
            c.dedup();
        }
        Ok(Filter { from, until, categories: chosen, statuses })
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
        let list = |l: &Option<Vec<String>>| l.as_ref().map_or("*".to_string(), |v| v.join(","));
        format!("{}..{}|{}|{}", self.from, self.until, list(&self.categories), list(&self.statuses))
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
pub fn check_period(
    from: NaiveDate,
    to: NaiveDate,
    field: &'static str,
) -> AppResult<(NaiveDate, NaiveDate)> {
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
    let latest = NaiveDate::from_ymd_opt(2100, 1, 1).expect("valid date");
    if from > to {
        return Err(AppError::bad_request(
            field,
            "de periode begint na het einde",
            "the period starts after it ends",
        ));
    }
    if from < earliest || to >= latest {
        return Err(AppError::bad_request(
            field,
            "de periode ligt buiten 2000–2099",
            "the period lies outside 2000–2099",
        ));
    }
    let until = to + Duration::days(1);
    if (until - from).num_days() > MAX_PERIOD_DAYS {
        return Err(AppError::bad_request(
            field,
            "de periode is langer dan tien jaar",
            "the period is longer than ten years",
        ));
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
