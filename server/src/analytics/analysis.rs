//! `GET /api/v1/areas/{id}/analysis`: the schoon-heel-veilig analysis of a
//! period against the previous period or the nul-meting.
//!
//! The tables come from one grouped scan of the area's incidents in the two
//! periods (index on area and time); the hotspots from the rollup.

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

use super::{Filter, bad, cells, check_period, filter_params, hotspots, privacy::Disclosure, rollup};
use crate::{
    areas::AreaIndex,
    auth::AreaAccess,
    error::{AppError, AppResult},
    state::AppState,
};

filter_params! {
    /// The period, its comparison and the filters of the analysis.
    pub struct AnalysisParams {
        /// `previous` (default: the period of the same length just before) or
        /// `baseline` (the nul-meting: the area's, or `baseline_from`/`baseline_to`).
        pub compare: Option<String>,
        /// First day of the baseline period (overrides the area's nul-meting).
        pub baseline_from: Option<NaiveDate>,
        /// Last day (inclusive) of the baseline period.
        pub baseline_to: Option<NaiveDate>,
        /// H3 resolution of the hotspot analysis, 8–11. Default 10 (about 66 m edge).
        pub resolution: Option<u8>,
    }
}

/// How many hotspots the analysis lists.
const TOP_HOTSPOTS: usize = 10;

#[derive(sqlx::FromRow)]
struct Row {
    set: i32,
    cur: bool,
    category: Option<String>,
    zone_id: Option<Uuid>,
    status: Option<String>,
    dow: Option<i32>,
    hour: Option<i32>,
    week: Option<NaiveDate>,
    n: i64,
}

/// Computes the analysis for `access.area_id`.
pub async fn analyse(state: &AppState, access: &AreaAccess, q: &AnalysisParams) -> AppResult<Analysis> {
    let area = state.areas.get(&state.pool, access.area_id).await?;
    let filter = Filter::resolve(q.raw(), &area, crate::nl_time::today())?;
    let res = cells::resolution(q.resolution, 10)?;
    if u8::from(res) < 8 {
        return Err(bad(
            "resolution",
            "kies voor hotspots resolutie 8 t/m 11",
            "choose resolution 8 to 11 for hotspots",
        ));
    }
    super::heatmap::check_cost(res, &filter)?;
    let (kind, cmp) = comparison(q, &area, &filter)?;
    let disclosure = Disclosure::of(access.role);

    // The same bounds and filters for both queries: the Dutch days as instants.
    const SCOPE: &str = "WITH b AS (
             SELECT ($2::date::timestamp AT TIME ZONE 'Europe/Amsterdam') AS f1,
                    ($3::date::timestamp AT TIME ZONE 'Europe/Amsterdam') AS u1,
                    ($4::date::timestamp AT TIME ZONE 'Europe/Amsterdam') AS f2,
                    ($5::date::timestamp AT TIME ZONE 'Europe/Amsterdam') AS u2
         ), t AS (
             SELECT i.category, i.zone_id, i.status, i.occurred_at, i.resolved_at,
                    (i.occurred_at >= b.f1 AND i.occurred_at < b.u1) AS cur
               FROM incidents i, b
              WHERE i.area_id = $1 AND i.cell IS NOT NULL
                AND ((i.occurred_at >= b.f1 AND i.occurred_at < b.u1) OR (i.occurred_at >= b.f2 AND i.occurred_at < b.u2))
                AND ($6::text[] IS NULL OR i.category = ANY($6)) AND ($7::text[] IS NULL OR i.status = ANY($7))
         )";
    // Counts by every grouping in one pass (hash aggregation; no ordered-set
    // aggregate here, which would force a sort per grouping).
    let counts = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(format!(
        "{SCOPE}
         SELECT GROUPING(category, zone_id, status, dow, hour, week)::int4 AS set, cur, category, zone_id, status,
                dow, hour, week, count(*) AS n
           FROM (SELECT category, zone_id, status, cur,
                        extract(isodow FROM occurred_at AT TIME ZONE 'Europe/Amsterdam')::int4 AS dow,
                        extract(hour FROM occurred_at AT TIME ZONE 'Europe/Amsterdam')::int4 AS hour,
                        date_trunc('week', occurred_at AT TIME ZONE 'Europe/Amsterdam')::date AS week
                   FROM t) x
          GROUP BY GROUPING SETS ((cur, category, zone_id), (cur, dow, hour), (cur, status), (cur, week))"
    )))
    .bind(access.area_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(cmp.0)
    .bind(cmp.1)
    .bind(&filter.categories)
    .bind(&filter.statuses)
    .fetch_all(&state.pool);
    let medians = sqlx::query_as::<_, (bool, Option<f64>)>(sqlx::AssertSqlSafe(format!(
        "{SCOPE}
         SELECT cur, (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - occurred_at)))::float8 / 3600.0
           FROM t WHERE status = 'opgelost' AND resolved_at IS NOT NULL GROUP BY cur"
    )))
    .bind(access.area_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(cmp.0)
    .bind(cmp.1)
    .bind(&filter.categories)
    .bind(&filter.statuses)
    .fetch_all(&state.pool);
    let cells_at = rollup::cell_counts(&state.pool, access.area_id, res, &filter);
    let (rows, medians, counts) = tokio::try_join!(
        async { counts.await.map_err(AppError::from) },
        async { medians.await.map_err(AppError::from) },
        cells_at
    )?;

    // GROUPING() bits, highest first: category, zone_id, status, dow, hour, week.
    const BY_CATEGORY_ZONE: i32 = 0b001111;
    const BY_DOW_HOUR: i32 = 0b111001;
    const BY_STATUS: i32 = 0b110111;
    const BY_WEEK: i32 = 0b111110;

    let meta = |code: &Option<String>| {
        code.as_deref().and_then(|c| area.category(c)).map_or((None, None), |c| (c.theme, c.dimension))
    };
    type Key = (Option<Theme>, Option<Dimension>);
    type ZoneCounts = (Option<Uuid>, Key, [i64; 2]);
    let mut theme_counts: BTreeMap<(u8, u8), (Key, [i64; 2])> = BTreeMap::new();
    let mut zone_counts: BTreeMap<(String, u8, u8), ZoneCounts> = BTreeMap::new();
    let mut grid = vec![vec![0i64; 24]; 7];
    let mut weeks: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut statuses: HashMap<String, i64> = HashMap::new();
    let median = medians.iter().find(|m| m.0).and_then(|m| m.1);
    let cmp_median = medians.iter().find(|m| !m.0).and_then(|m| m.1);
    let mut totals = [0i64; 2];
    for r in rows {
        let slot = usize::from(!r.cur);
        match r.set {
            BY_CATEGORY_ZONE => {
                let key = meta(&r.category);
                let order = (key.0.map_or(99, theme_order), key.1.map_or(99, dim_order));
                theme_counts.entry(order).or_insert((key, [0, 0])).1[slot] += r.n;
                let zone_name = r.zone_id.and_then(|z| area.zone_name(z)).unwrap_or("\u{10FFFF}").to_string();
                zone_counts.entry((zone_name, order.0, order.1)).or_insert((r.zone_id, key, [0, 0])).2
                    [slot] += r.n;
                totals[slot] += r.n;
            }
            BY_DOW_HOUR if r.cur => {
                if let (Some(d), Some(h)) = (r.dow, r.hour)
                    && (1..=7).contains(&d)
                    && (0..24).contains(&h)
                {
                    grid[(d - 1) as usize][h as usize] += r.n;
                }
            }
            BY_STATUS if r.cur => {
                *statuses.entry(r.status.unwrap_or_default()).or_default() += r.n;
            }
            BY_WEEK if r.cur => {
                if let Some(w) = r.week {
                    *weeks.entry(w).or_default() += r.n;
                }
            }
            _ => {}
        }
    }

    let change = |c: [i64; 2]| -> Change {
        let (cur, prev) = (disclosure.count(c[0]), disclosure.count(c[1]));
        // A change is shown only when both counts are.
        let both = cur.zip(prev);
        Change {
            current: cur,
            comparison: prev,
            change: both.map(|(c, p)| c - p),
            change_pct: both.filter(|&(_, p)| p > 0).map(|(c, p)| round1((c - p) as f64 * 100.0 / p as f64)),
        }
    };
    let count = |n: i64| disclosure.count(n);

    // Every week of the period, also the empty ones.
    let mut weekly = vec![];
    let mut w = filter.from - Duration::days(i64::from(filter.from.weekday().num_days_from_monday()));
    while w < filter.until {
        weekly.push(WeekCount { week_start: w, count: count(weeks.get(&w).copied().unwrap_or(0)) });
        w += Duration::days(7);
    }
    let st = |s: IncidentStatus| statuses.get(s.code()).copied().unwrap_or(0);
    let open = st(IncidentStatus::Nieuw) + st(IncidentStatus::InBehandeling) + st(IncidentStatus::Heropend);

    let region = area.coverage(res);
    let hotspots = hotspots::gi_star(&region, &counts)
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
            }
        })
        .collect();

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
    q: &AnalysisParams,
    area: &AreaIndex,
    f: &Filter,
) -> AppResult<(ComparisonKind, (NaiveDate, NaiveDate))> {
    let (kind, cmp) = match q.compare.as_deref() {
        None | Some("previous") => {
            if q.baseline_from.is_some() || q.baseline_to.is_some() {
                return Err(bad(
                    "compare",
                    "baseline_from en baseline_to horen bij compare=baseline",
                    "baseline_from and baseline_to need compare=baseline",
                ));
            }
            (ComparisonKind::Previous, (f.from - Duration::days(f.days()), f.from))
        }
        Some("baseline") => {
            let (from, to) = match (q.baseline_from, q.baseline_to, area.baseline()) {
                (Some(from), Some(to), _) => (from, to),
                (None, None, Some(b)) => b,
                (None, None, None) => {
                    return Err(bad(
                        "compare",
                        "dit gebied heeft geen nul-meting; geef baseline_from en baseline_to op",
                        "this area has no baseline (nul-meting); give baseline_from and baseline_to",
                    ));
                }
                _ => {
                    return Err(bad(
                        "baseline_from",
                        "geef zowel baseline_from als baseline_to op",
                        "give both baseline_from and baseline_to",
                    ));
                }
            };
            (ComparisonKind::Baseline, check_period(from, to, "baseline_from")?)
        }
        Some(_) => {
            return Err(bad(
                "compare",
                "compare moet previous of baseline zijn",
                "compare must be previous or baseline",
            ));
        }
    };
    if cmp.0 < f.until && f.from < cmp.1 {
        return Err(bad(
            "baseline_from",
            "de vergelijkingsperiode overlapt de periode",
            "the comparison period overlaps the period",
        ));
    }
    if cmp.0 < NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date") {
        return Err(bad(
            "from",
            "de vergelijkingsperiode ligt voor 2000",
            "the comparison period lies before 2000",
        ));
    }
    Ok((kind, cmp))
}

fn theme_order(t: Theme) -> u8 {
    Theme::ALL.iter().position(|x| *x == t).unwrap_or(98) as u8
}

fn dim_order(d: Dimension) -> u8 {
    Dimension::ALL.iter().position(|x| *x == d).unwrap_or(98) as u8
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
