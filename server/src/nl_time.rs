//! Dutch local time (Europe/Amsterdam) without a time-zone database: UTC+1,
//! and UTC+2 between the last Sundays of March and October at 01:00 UTC (the
//! EU rule since 1996). PostgreSQL does the same conversion in SQL with
//! `AT TIME ZONE 'Europe/Amsterdam'`; the tests check that both agree.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};

/// Hours ahead of UTC at instant `utc`.
pub fn offset_hours(utc: DateTime<Utc>) -> i64 {
    fn last_sunday(year: i32, month: u32) -> DateTime<Utc> {
        let mut d = NaiveDate::from_ymd_opt(year, month + 1, 1).expect("valid date") - Duration::days(1);
        while d.weekday() != Weekday::Sun {
            d -= Duration::days(1);
        }
        Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).expect("valid time"))
    }
    let y = utc.year();
    if utc >= last_sunday(y, 3) && utc < last_sunday(y, 10) { 2 } else { 1 }
}

/// The Dutch wall-clock time at instant `utc`.
pub fn local(utc: DateTime<Utc>) -> NaiveDateTime {
    (utc + Duration::hours(offset_hours(utc))).naive_utc()
}

/// The Dutch calendar date at instant `utc`.
pub fn local_date(utc: DateTime<Utc>) -> NaiveDate {
    local(utc).date()
}

/// Today's date in the Netherlands.
pub fn today() -> NaiveDate {
    local_date(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_summer_time_follows_the_eu_rule() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(offset_hours(at("2026-03-29T00:59:59Z")), 1);
        assert_eq!(offset_hours(at("2026-03-29T01:00:00Z")), 2);
        assert_eq!(offset_hours(at("2026-10-25T00:59:59Z")), 2);
        assert_eq!(offset_hours(at("2026-10-25T01:00:00Z")), 1);
        assert_eq!(local_date(at("2026-06-30T22:30:00Z")), NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(local_date(at("2026-12-31T22:30:00Z")), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    }
}
