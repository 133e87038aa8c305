//! `GET /api/v1/areas/{id}/analysis`: the schoon-heel-veilig analysis of a
//! period against the previous period or the nul-meting.
//!
//! Everything comes from the rollup (ADR 0006): the tables from its margins
//! (per zone, hour of the week, time to resolution and day), the hotspots
//! from its cells, so the cost does not grow with the number of incidents.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use kvo_api::{
    Dimension, Theme,
    analysis::{
        Analysis, Change, ComparisonKind, FollowUp, Hotspot, Period, StatusCount, ThemeRow, WeekCount,
        ZoneRow,
    },
    wire::IncidentStatus,
};
use uuid::Uuid;

use sqlx::PgPool;

use super::error::{AnalyticsError, Result};
use super::{Filter, RawFilter, cells, check_period, hotspots, privacy::Disclosure, rollup};
use crate::{
    areas::{AreaCache, AreaIndex},
    auth::AreaAccess,
};

/// The inputs of the analysis.
#[derive(Debug, Default, Clone)]
pub struct AnalysisQuery {
    pub filter: RawFilter,
    /// Default: the previous period of the same length.
    pub compare: Option<ComparisonKind>,
    pub baseline_from: Option<NaiveDate>,
    pub baseline_to: Option<NaiveDate>,
    /// H3 resolution of the hotspots, 8–11 (default 10).
    pub resolution: Option<u8>,
}

/// How many hotspots the analysis lists.
const TOP_HOTSPOTS: usize = 10;

/// Computes the analysis for `access.area_id`.
pub async fn analyse(
    pool: &PgPool,
    areas: &AreaCache,
    access: &AreaAccess,
    q: &AnalysisQuery,
) -> Result<Analysis> {
    let area = areas.get(pool, access.area_id).await?;
    let filter = Filter::resolve(&q.filter, &area, crate::nl_time::today())?;
    let res = cells::resolution(q.resolution.unwrap_or(10))?;
    if u8::from(res) < 8 {
        return Err(AnalyticsError::HotspotResolution);
    }
    super::heatmap::check_cost(res, &filter)?;
    let (kind, cmp) = comparison(q, &area, &filter)?;
    let disclosure = Disclosure::of(access.role);

    let margins = rollup::margins(pool, access.area_id, &filter, cmp);
    let cells_at = rollup::cell_counts(pool, access.area_id, res, &filter);
    let ((rows, keys), counts) = tokio::try_join!(margins, cells_at)?;

    type Key = (Option<Theme>, Option<Dimension>);
    /// What the analysis needs of a (category, status) pair.
    struct Pair {
        key: Key,
        order: (u8, u8),
        status: Option<IncidentStatus>,
    }
    let pair = |category: &str, status: &str| {
        let key = area.category(category).map_or((None, None), |c| (c.theme, c.dimension));
        Pair {
            key,
            order: (key.0.map_or(99, theme_order), key.1.map_or(99, dim_order)),
            status: IncidentStatus::from_code(status),
        }
    };
    // Per rollup number, the pair if the filter takes it.
    let mask = keys.mask(&filter);
    let pairs: Vec<Option<Pair>> = mask
        .iter()
        .enumerate()
        .map(|(idx, &taken)| {
            let (c, s) = keys.get(idx as i16).filter(|_| taken)?;
            Some(pair(c, s))
        })
        .collect();

    type ZoneCounts = (Option<Uuid>, Key, [i64; 2]);
    let mut theme_counts: BTreeMap<(u8, u8), (Key, [i64; 2])> = BTreeMap::new();
    let mut zone_counts: BTreeMap<(String, u8, u8), ZoneCounts> = BTreeMap::new();
    let mut grid = vec![vec![0i64; 24]; 7];
    let mut weeks: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut statuses: HashMap<IncidentStatus, i64> = HashMap::new();
    let mut to_resolution: [BTreeMap<i32, i64>; 2] = Default::default();
    let mut totals = [0i64; 2];
    let week_of = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));

    for r in &rows {
        let slot = usize::from(!r.cur);
        // The row's counts per pair: from its arrays, or the delta's own pair.
        let delta_pair;
        let counted: Vec<(&Pair, i64)> = match &r.ks {
            Some(ks) => ks
                .iter()
                .zip(&r.ns)
                .filter_map(|(&k, &n)| Some((pairs.get(k as usize)?.as_ref()?, i64::from(n))))
                .collect(),
            None => {
                delta_pair = pair(r.category.as_deref().unwrap_or(""), r.status.as_deref().unwrap_or(""));
                vec![(&delta_pair, r.ns.iter().map(|&n| i64::from(n)).sum())]
            }
        };
        let delta = r.kind == "d";
        for (p, n) in counted {
            if r.kind == "z" || delta {
                theme_counts.entry(p.order).or_insert((p.key, [0, 0])).1[slot] += n;
                // A deleted zone's counts (until they move) are "zonder zone".
                let zone_id = r.zone_id.filter(|&z| area.zone_name(z).is_some());
                let zone_name = zone_id.and_then(|z| area.zone_name(z)).unwrap_or("\u{10FFFF}").to_string();
                zone_counts.entry((zone_name, p.order.0, p.order.1)).or_insert((zone_id, p.key, [0, 0])).2
                    [slot] += n;
                totals[slot] += n;
                if r.cur
                    && let Some(s) = p.status
                {
                    *statuses.entry(s).or_default() += n;
                }
            }
            if r.cur && (r.kind == "w" || delta) && (0..168).contains(&r.key) {
                grid[(r.key / 24) as usize][(r.key % 24) as usize] += n;
            }
            if r.cur && (r.kind == "t" || delta) {
                *weeks.entry(week_of(r.bucket)).or_default() += n;
            }
            let class = if delta { r.resolution_class.map(i32::from) } else { Some(r.key) };
            if (r.kind == "r" || delta)
                && p.status == Some(IncidentStatus::Opgelost)
                && let Some(class) = class
            {
                *to_resolution[slot].entry(class).or_default() += n;
            }
        }
    }
    // A median is one incident's value when it rests on one incident: it goes
    // through the same suppression as a count of the incidents it rests on.
    let median_of =
        |classes: &BTreeMap<i32, i64>| disclosure.statistic(classes.values().sum(), median_hours(classes));
    let median = median_of(&to_resolution[0]);
    let cmp_median = median_of(&to_resolution[1]);

    let change = |c: [i64; 2]| change(disclosure, c);
    let count = |n: i64| disclosure.count(n);

    // Every week of the period, also the empty ones.
    let mut weekly = vec![];
    let mut w = filter.from - Duration::days(i64::from(filter.from.weekday().num_days_from_monday()));
    while w < filter.until {
        weekly.push(WeekCount { week_start: w, count: count(weeks.get(&w).copied().unwrap_or(0)) });
        w += Duration::days(7);
    }
    let st = |s: IncidentStatus| statuses.get(&s).copied().unwrap_or(0);
    let open = st(IncidentStatus::Nieuw) + st(IncidentStatus::InBehandeling) + st(IncidentStatus::Heropend);

    let region = area.coverage(res);
    let mut hotspots: Vec<Hotspot> = hotspots::gi_star(&region, &counts)
        .into_iter()
        .filter(|g| g.significant && g.z > 0.0 && disclosure.count(g.count).is_some())
        .take(TOP_HOTSPOTS)
        .map(|g| {
            let [lon, lat] = cells::centre(g.cell);
            Hotspot {
                cell: g.cell.to_string(),
                lat,
                lon,
                count: count(g.count),
                neighbourhood: count(g.neighbourhood),
                z: round3(g.z),
                p: g.p,
                confidence: hotspots::confidence(g.z),
                street: None,
            }
        })
        .collect();
    let centres: Vec<(f64, f64)> = hotspots.iter().map(|h| (h.lon, h.lat)).collect();
    for (h, street) in
        hotspots.iter_mut().zip(crate::registers::street_names(pool, access.area_id, &centres).await?)
    {
        h.street = street;
    }

    Ok(Analysis {
        area_id: access.area_id,
        period: Period { from: filter.from, to: filter.until - Duration::days(1) },
        comparison_kind: kind,
        comparison: Period { from: cmp.0, to: cmp.1 - Duration::days(1) },
        totals: change(totals),
        by_theme: theme_counts
            .into_values()
            .map(|((theme, dimension), c)| ThemeRow { theme, dimension, counts: change(c) })
            .collect(),
        by_zone: zone_counts
            .into_values()
            .map(|(zone_id, (theme, dimension), c)| ZoneRow {
                zone_id,
                zone_name: zone_id.and_then(|z| area.zone_name(z)).map(str::to_string),
                theme,
                dimension,
                counts: change(c),
            })
            .collect(),
        hour_weekday: grid.into_iter().map(|row| row.into_iter().map(count).collect()).collect(),
        weekly,
        follow_up: FollowUp {
            by_status: IncidentStatus::ALL
                .iter()
                .map(|&s| StatusCount { status: s, count: count(st(s)) })
                .collect(),
            open: count(open),
            resolved: count(st(IncidentStatus::Opgelost)),
            rejected: count(st(IncidentStatus::Afgewezen)),
            median_hours_to_resolution: median.map(round1),
            comparison_median_hours_to_resolution: cmp_median.map(round1),
        },
        hotspot_resolution: u8::from(res),
        hotspots,
    })
}

/// The comparison period (half-open) and its kind; it may not overlap the period.
fn comparison(
    q: &AnalysisQuery,
    area: &AreaIndex,
    f: &Filter,
) -> Result<(ComparisonKind, (NaiveDate, NaiveDate))> {
    let (kind, cmp) = match q.compare.unwrap_or(ComparisonKind::Previous) {
        ComparisonKind::Previous => {
            if q.baseline_from.is_some() || q.baseline_to.is_some() {
                return Err(AnalyticsError::BaselineWithoutCompare);
            }
            (ComparisonKind::Previous, (f.from - Duration::days(f.days()), f.from))
        }
        ComparisonKind::Baseline => {
            let (from, to) = match (q.baseline_from, q.baseline_to, area.baseline()) {
                (Some(from), Some(to), _) => (from, to),
                (None, None, Some(b)) => b,
                (None, None, None) => {
                    return Err(AnalyticsError::NoBaseline);
                }
                _ => {
                    return Err(AnalyticsError::BaselineHalf);
                }
            };
            (ComparisonKind::Baseline, check_period(from, to, "baseline_from")?)
        }
    };
    if cmp.0 < f.until && f.from < cmp.1 {
        return Err(AnalyticsError::BaselineOverlaps);
    }
    if cmp.0 < NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date") {
        return Err(AnalyticsError::BaselineTooEarly);
    }
    Ok((kind, cmp))
}

/// The median time to resolution in hours, from counts per class of
/// `kvo_resolution_class` (class c holds 2^(c/16) to 2^((c+1)/16) minutes):
/// geometric interpolation within the class that holds the middle, so the
/// estimate is within one class (4.4 %) of the exact median.
pub fn median_hours(classes: &BTreeMap<i32, i64>) -> Option<f64> {
    let total: i64 = classes.values().sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut below = 0.0;
    for (&class, &n) in classes {
        let n = n as f64;
        if n > 0.0 && below + n >= half {
            let within = (half - below) / n;
            let minutes = 2f64.powf((f64::from(class) + within) / 16.0);
            return Some(minutes / 60.0);
        }
        below += n;
    }
    None
}

fn theme_order(t: Theme) -> u8 {
    Theme::ALL.iter().position(|x| *x == t).unwrap_or(98) as u8
}

fn dim_order(d: Dimension) -> u8 {
    Dimension::ALL.iter().position(|x| *x == d).unwrap_or(98) as u8
}

/// A count in the period and in its comparison as `disclosure` may show
/// them; the change only when both are shown.
pub fn change(disclosure: Disclosure, [current, comparison]: [i64; 2]) -> Change {
    let (cur, prev) = (disclosure.count(current), disclosure.count(comparison));
    let both = cur.zip(prev);
    Change {
        current: cur,
        comparison: prev,
        change: both.map(|(c, p)| c - p),
        change_pct: both.filter(|&(_, p)| p > 0).map(|(c, p)| round1((c - p) as f64 * 100.0 / p as f64)),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kvo_resolution_class` (migration 0005), for durations in minutes.
    fn class(minutes: f64) -> i32 {
        (16.0 * minutes.max(1.0).log2()).floor() as i32
    }

    #[test]
    fn median_estimate_is_within_one_class_of_the_exact_median() {
        let mut seed = 12_345u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for round in 0..200 {
            let n = 1 + (next() * 60.0) as usize;
            // From minutes to months, log-uniform.
            let mut hours: Vec<f64> = (0..n).map(|_| 2f64.powf(next() * 20.0) / 60.0).collect();
            hours.sort_by(f64::total_cmp);
            let exact = if n % 2 == 1 { hours[n / 2] } else { (hours[n / 2 - 1] * hours[n / 2]).sqrt() };
            let mut classes = BTreeMap::new();
            for h in &hours {
                *classes.entry(class(h * 60.0)).or_insert(0) += 1;
            }
            let estimate = median_hours(&classes).unwrap();
            // One class either side of the middle values.
            let (lo, hi) = (hours[(n - 1) / 2], hours[n / 2]);
            let width = 2f64.powf(1.0 / 16.0);
            assert!(
                estimate >= lo.max(1.0 / 60.0) / width && estimate <= hi * width,
                "round {round}: estimate {estimate} h, exact {exact} h, middle {lo}..{hi}"
            );
        }
        assert_eq!(median_hours(&BTreeMap::new()), None);
    }
}
