//! Rounds walked against an agreement, per night and per ISO week: pure, from
//! the patrols' counted scans (ADR 0011).
//!
//! A *round* is one patrol's scans of the agreement's checkpoints (scans
//! flagged far away do not count); it starts at its first and finishes at
//! its last such scan. It belongs to the night whose window it starts in.
//! Within a night, in order of starting: a round that missed a checkpoint is
//! *short*; one that finished after the window or took longer than agreed is
//! *late*; one that started within the agreed gap after the previous counted
//! round is *too soon*; the rest are *complete*, and only those count.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use kvo_api::rounds::{
    AgreementCompliance, NightCompliance, Round, RoundAgreement, RoundStatus, WeekCompliance,
};
use uuid::Uuid;

use crate::nl_time;

/// One patrol's counted scans.
#[derive(Debug, Clone)]
pub struct PatrolScans {
    pub patrol_id: Uuid,
    pub guard_id: Uuid,
    /// `(checkpoint, when)`, any order.
    pub scans: Vec<(Uuid, DateTime<Utc>)>,
}

/// The window of the night that opens on `date`, in Dutch local time.
fn window(a: &RoundAgreement, date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let open = date.and_time(a.terms.window_start);
    (open, open + Duration::minutes(a.terms.window_minutes() as i64))
}

/// The night whose window holds the local instant `at`, if any.
pub(crate) fn night_of(a: &RoundAgreement, at: NaiveDateTime) -> Option<NaiveDate> {
    [at.date(), at.date() - Duration::days(1)].into_iter().find(|&d| {
        let (open, close) = window(a, d);
        open <= at && at < close
    })
}

/// The agreement's rounds over the nights `from..=to`.
pub fn compliance(
    a: &RoundAgreement,
    from: NaiveDate,
    to: NaiveDate,
    patrols: &[PatrolScans],
) -> AgreementCompliance {
    let wanted: HashSet<Uuid> = a.terms.checkpoints.iter().copied().collect();
    let mut by_night: BTreeMap<NaiveDate, Vec<(Round, NaiveDateTime)>> = BTreeMap::new();
    let mut outside_window = vec![];
    for p in patrols {
        let scans: Vec<_> = p.scans.iter().filter(|(c, _)| wanted.contains(c)).collect();
        let (Some(start), Some(finish)) = (scans.iter().map(|s| s.1).min(), scans.iter().map(|s| s.1).max())
        else {
            continue;
        };
        let hit: HashSet<Uuid> = scans.iter().map(|s| s.0).collect();
        let (checkpoints_hit, checkpoints_missed) =
            a.terms.checkpoints.iter().copied().partition(|c| hit.contains(c));
        let round = Round {
            patrol_id: p.patrol_id,
            guard_id: p.guard_id,
            started_at: start,
            finished_at: finish,
            status: RoundStatus::OutsideWindow,
            checkpoints_hit,
            checkpoints_missed,
        };
        let local_start = nl_time::local(start);
        match night_of(a, local_start) {
            Some(night) if (from..=to).contains(&night) => {
                by_night.entry(night).or_default().push((round, nl_time::local(finish)))
            }
            Some(_) => {}
            None if (from..=to).contains(&local_start.date()) => outside_window.push(round),
            None => {}
        }
    }

    let gap = Duration::minutes(a.terms.min_gap_minutes as i64);
    let longest = Duration::minutes(a.terms.max_round_minutes as i64);
    let nights: Vec<NightCompliance> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| {
            let (_, close) = window(a, date);
            let mut rounds = by_night.remove(&date).unwrap_or_default();
            rounds.sort_by_key(|(r, _)| (r.started_at, r.patrol_id));
            let mut last_counted: Option<DateTime<Utc>> = None;
            let mut reached = HashSet::new();
            let rounds: Vec<Round> = rounds
                .into_iter()
                .map(|(mut r, local_finish)| {
                    reached.extend(r.checkpoints_hit.iter().copied());
                    r.status = if !r.checkpoints_missed.is_empty() {
                        RoundStatus::Short
                    } else if local_finish > close || r.finished_at - r.started_at > longest {
                        RoundStatus::Late
                    } else if last_counted.is_some_and(|l| r.started_at - l < gap) {
                        RoundStatus::TooSoon
                    } else {
                        last_counted = Some(r.started_at);
                        RoundStatus::Complete
                    };
                    r
                })
                .collect();
            let count = |s| rounds.iter().filter(|r| r.status == s).count() as u32;
            let walked = count(RoundStatus::Complete);
            NightCompliance {
                date,
                required: a.terms.rounds,
                walked,
                short: count(RoundStatus::Short),
                late: count(RoundStatus::Late),
                too_soon: count(RoundStatus::TooSoon),
                met: walked >= a.terms.rounds,
                checkpoints_never_hit: a
                    .terms
                    .checkpoints
                    .iter()
                    .copied()
                    .filter(|c| !reached.contains(c))
                    .collect(),
                rounds,
            }
        })
        .collect();

    let mut weeks: Vec<WeekCompliance> = vec![];
    for n in &nights {
        let iso = n.date.iso_week();
        let label = format!("{}-W{:02}", iso.year(), iso.week());
        if weeks.last().is_none_or(|w| w.week != label) {
            weeks.push(WeekCompliance {
                week: label,
                nights: 0,
                nights_met: 0,
                rounds_required: 0,
                rounds_walked: 0,
                rounds_short: 0,
                rounds_late: 0,
                compliance: 0.0,
            });
        }
        let w = weeks.last_mut().expect("just pushed");
        w.nights += 1;
        w.nights_met += n.met as u32;
        w.rounds_required += n.required;
        w.rounds_walked += n.walked.min(n.required);
        w.rounds_short += n.short;
        w.rounds_late += n.late;
    }
    for w in &mut weeks {
        w.compliance = w.rounds_walked as f64 / w.rounds_required.max(1) as f64;
    }
    AgreementCompliance { agreement: a.clone(), nights, weeks, outside_window }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;
    use kvo_api::rounds::NewRoundAgreement;

    use super::*;

    const A: Uuid = Uuid::from_u128(0xA);
    const B: Uuid = Uuid::from_u128(0xB);
    const C: Uuid = Uuid::from_u128(0xC);

    fn agreement() -> RoundAgreement {
        RoundAgreement {
            id: Uuid::from_u128(1),
            area_id: Uuid::from_u128(2),
            terms: NewRoundAgreement {
                name: "Nacht".into(),
                window_start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                window_end: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
                rounds: 2,
                min_gap_minutes: 60,
                max_round_minutes: 45,
                checkpoints: vec![A, B, C],
            },
        }
    }

    /// Winter time: local = UTC + 1.
    fn utc(local: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap().and_utc() - Duration::hours(1)
    }

    fn patrol(n: u128, scans: &[(Uuid, &str)]) -> PatrolScans {
        PatrolScans {
            patrol_id: Uuid::from_u128(n),
            guard_id: Uuid::from_u128(99),
            scans: scans.iter().map(|&(c, t)| (c, utc(t))).collect(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_night_with_each_kind_of_round() {
        let patrols = [
            // Complete, passing midnight.
            patrol(1, &[(A, "2026-12-01 23:40"), (B, "2026-12-01 23:50"), (C, "2026-12-02 00:10")]),
            // Complete but 30 minutes after the previous: too soon.
            patrol(2, &[(C, "2026-12-02 00:10"), (A, "2026-12-02 00:20"), (B, "2026-12-02 00:30")]),
            // Missed B: short.
            patrol(3, &[(A, "2026-12-02 02:00"), (C, "2026-12-02 02:10")]),
            // Finished after 06:00: late.
            patrol(4, &[(A, "2026-12-02 05:40"), (B, "2026-12-02 05:50"), (C, "2026-12-02 06:05")]),
            // Took 50 minutes: late.
            patrol(5, &[(A, "2026-12-02 03:00"), (B, "2026-12-02 03:20"), (C, "2026-12-02 03:50")]),
            // Complete: the second counted round.
            patrol(6, &[(A, "2026-12-02 04:00"), (B, "2026-12-02 04:10"), (C, "2026-12-02 04:20")]),
            // Outside the window (the afternoon).
            patrol(7, &[(A, "2026-12-02 15:00"), (B, "2026-12-02 15:10"), (C, "2026-12-02 15:20")]),
            // No scan of the agreement's checkpoints: no round.
            patrol(8, &[(Uuid::from_u128(0xD), "2026-12-02 01:00")]),
        ];
        let c = compliance(&agreement(), day("2026-12-01"), day("2026-12-02"), &patrols);
        let first = &c.nights[0];
        assert_eq!(first.date, day("2026-12-01"));
        let statuses: Vec<_> = first.rounds.iter().map(|r| (r.patrol_id.as_u128(), r.status)).collect();
        use RoundStatus::*;
        assert_eq!(
            statuses,
            vec![(1, Complete), (2, TooSoon), (3, Short), (5, Late), (6, Complete), (4, Late)]
        );
        assert_eq!((first.walked, first.short, first.late, first.too_soon, first.met), (2, 1, 2, 1, true));
        assert_eq!(first.rounds[2].checkpoints_missed, vec![B]);
        assert!(first.checkpoints_never_hit.is_empty());
        let second = &c.nights[1];
        assert_eq!((second.walked, second.met), (0, false));
        assert_eq!(second.checkpoints_never_hit, vec![A, B, C]);
        assert_eq!(c.outside_window.iter().map(|r| r.patrol_id.as_u128()).collect::<Vec<_>>(), vec![7]);
        assert_eq!(c.weeks.len(), 1);
        let w = &c.weeks[0];
        assert_eq!(w.week, "2026-W49");
        assert_eq!((w.nights, w.nights_met, w.rounds_required, w.rounds_walked), (2, 1, 4, 2));
        assert_eq!(w.compliance, 0.5);
    }

    #[test]
    fn weeks_are_iso_weeks_and_extra_rounds_do_not_make_up_for_a_missed_night() {
        let mut a = agreement();
        a.terms.rounds = 1;
        let patrols = [
            // Sunday night 6 December: two complete rounds.
            patrol(1, &[(A, "2026-12-06 22:10"), (B, "2026-12-06 22:20"), (C, "2026-12-06 22:30")]),
            patrol(2, &[(A, "2026-12-07 01:10"), (B, "2026-12-07 01:20"), (C, "2026-12-07 01:30")]),
            // The night of Monday 7 December is the next week's.
            patrol(3, &[(A, "2026-12-08 01:10"), (B, "2026-12-08 01:20"), (C, "2026-12-08 01:30")]),
        ];
        let c = compliance(&a, day("2026-12-05"), day("2026-12-08"), &patrols);
        let weeks: Vec<_> =
            c.weeks.iter().map(|w| (w.week.as_str(), w.nights, w.rounds_walked, w.rounds_required)).collect();
        assert_eq!(weeks, vec![("2026-W49", 2, 1, 2), ("2026-W50", 2, 1, 2)]);
        assert_eq!(c.nights[1].walked, 2);
    }

    #[test]
    fn a_round_starting_before_the_period_stays_out() {
        let patrols =
            [patrol(1, &[(A, "2026-11-30 23:00"), (B, "2026-11-30 23:10"), (C, "2026-11-30 23:20")])];
        let c = compliance(&agreement(), day("2026-12-01"), day("2026-12-01"), &patrols);
        assert!(c.nights[0].rounds.is_empty());
        assert!(c.outside_window.is_empty());
    }
}
