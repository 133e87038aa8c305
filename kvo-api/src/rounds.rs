//! The beveiliger's rounds: checkpoints, scans, agreed rounds and what the
//! werkgroep reads of them (compliance, the round report), with the rules an
//! agreement must meet.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;
use uuid::Uuid;

/// The most rounds a night may ask for.
pub const MAX_ROUNDS: u32 = 24;

/// `POST /api/v1/areas/{id}/checkpoints`: a beheerder registers a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCheckpoint {
    /// As the guard sees it, e.g. "Achteringang Hema".
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// A checkpoint: a place on the round with a printed tag (QR; NFC carries the same id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Checkpoint {
    pub id: Uuid,
    pub area_id: Uuid,
    /// The id printed on the tag, e.g. `CP-7Q4M-XR2D`.
    pub tag: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Archived checkpoints keep their history but take no new scans.
    pub archived: bool,
}

/// A checkpoint with how often it was reached in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CheckpointHits {
    pub checkpoint: Checkpoint,
    pub days: i64,
    /// Days with at least one counted scan (not far, during a patrol).
    pub days_hit: i64,
    /// `days_hit / days`, 0–1.
    pub hit_rate: f64,
}

/// Where the phone was when the tag was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScanPosition {
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

/// `POST /api/v1/checkpoint-scans`: a guard scanned a tag. `id` is generated
/// on the phone and makes the request idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewScan {
    pub id: Uuid,
    pub area_id: Uuid,
    /// The tag id as read from the QR code or NFC tag.
    pub tag: String,
    pub scanned_at: DateTime<Utc>,
    pub position: ScanPosition,
    /// The patrol under way on the phone, if any.
    #[serde(default)]
    pub patrol_id: Option<Uuid>,
}

/// A tag as read from a QR code or typed: case and surrounding space do not
/// matter, and the letters people confuse with digits are read as digits
/// (tags are Crockford base32, which has no I, L or O).
pub fn normalize_tag(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// A stored scan, with what the server noticed about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Scan {
    pub id: Uuid,
    pub checkpoint_id: Uuid,
    pub checkpoint_name: String,
    pub guard_id: Uuid,
    pub patrol_id: Option<Uuid>,
    pub scanned_at: DateTime<Utc>,
    /// Between the phone and the checkpoint.
    pub distance_m: f64,
    /// Flagged: the phone was further from the checkpoint than [`FAR_M`] plus its accuracy.
    pub far: bool,
    /// Flagged: not during a patrol of this guard.
    pub outside_patrol: bool,
}

/// A scan further than this (plus the phone's stated accuracy, at most
/// [`MAX_ACCURACY_ALLOWANCE_M`]) from its checkpoint is flagged.
pub const FAR_M: f64 = 50.0;
/// The most of a phone's stated accuracy that widens [`FAR_M`].
pub const MAX_ACCURACY_ALLOWANCE_M: f64 = 50.0;

/// Whether a scan `distance_m` from its checkpoint, with the phone claiming
/// `accuracy_m`, is too far to count.
pub fn is_far(distance_m: f64, accuracy_m: Option<f64>) -> bool {
    distance_m > FAR_M + accuracy_m.unwrap_or(0.0).clamp(0.0, MAX_ACCURACY_ALLOWANCE_M)
}

/// `POST /api/v1/areas/{id}/round-agreements`: the rounds agreed with the
/// security company, e.g. 3 per night between 22:00 and 06:00 past A–F.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRoundAgreement {
    pub name: String,
    /// Dutch local time, `HH:MM`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "22:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"))]
    pub window_start: NaiveTime,
    /// Dutch local time, `HH:MM`; before the start means the next morning.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "06:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"))]
    pub window_end: NaiveTime,
    /// Rounds per night (1–24).
    #[serde(deserialize_with = "crate::validate::whole_number")]
    pub rounds: u32,
    /// Rounds that start closer together than this count as one.
    #[serde(default = "default_gap", deserialize_with = "crate::validate::whole_number")]
    pub min_gap_minutes: u32,
    /// A round that takes longer than this is late.
    #[serde(default = "default_round", deserialize_with = "crate::validate::whole_number")]
    pub max_round_minutes: u32,
    /// Every round passes these checkpoints (any order).
    pub checkpoints: Vec<Uuid>,
}

fn default_gap() -> u32 {
    60
}

fn default_round() -> u32 {
    60
}

/// An agreement as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundAgreement {
    pub id: Uuid,
    pub area_id: Uuid,
    #[serde(flatten)]
    pub terms: NewRoundAgreement,
}

/// Why an agreement cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementProblem {
    #[error("the window starts and ends at the same time")]
    EmptyWindow,
    #[error("rounds must be between 1 and {MAX_ROUNDS}")]
    Rounds,
    #[error("a round takes 5 to 720 minutes, the gap 0 to 720")]
    Durations,
    #[error("name is empty or longer than 100 characters")]
    Name,
    #[error("an agreement passes 1 to 100 checkpoints, each once")]
    Checkpoints,
    #[error(
        "{rounds} rounds, {gap} minutes apart, the last taking {round} minutes, need {needed} minutes; the window has {window}"
    )]
    DoesNotFit { rounds: u32, gap: u32, round: u32, needed: u32, window: u32 },
}

impl NewRoundAgreement {
    /// The window's length in minutes (passing midnight when the end lies before the start).
    pub fn window_minutes(&self) -> u32 {
        let m = |t: NaiveTime| t.signed_duration_since(NaiveTime::MIN).num_minutes() as u32;
        let (s, e) = (m(self.window_start), m(self.window_end));
        if e > s { e - s } else { e + 24 * 60 - s }
    }

    /// The rules one agreement must meet on its own.
    pub fn check(&self) -> Result<(), AgreementProblem> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AgreementProblem::Name);
        }
        if self.window_start == self.window_end {
            return Err(AgreementProblem::EmptyWindow);
        }
        if !(1..=MAX_ROUNDS).contains(&self.rounds) {
            return Err(AgreementProblem::Rounds);
        }
        if !(5..=720).contains(&self.max_round_minutes) || self.min_gap_minutes > 720 {
            return Err(AgreementProblem::Durations);
        }
        let mut ids = self.checkpoints.clone();
        ids.sort();
        ids.dedup();
        if ids.is_empty() || ids.len() > 100 || ids.len() != self.checkpoints.len() {
            return Err(AgreementProblem::Checkpoints);
        }
        let needed = (self.rounds - 1) * self.min_gap_minutes + self.max_round_minutes;
        let window = self.window_minutes();
        if needed > window {
            return Err(AgreementProblem::DoesNotFit {
                rounds: self.rounds,
                gap: self.min_gap_minutes,
                round: self.max_round_minutes,
                needed,
                window,
            });
        }
        Ok(())
    }

    /// Whether the two agreements' nightly windows share a minute.
    pub fn overlaps(&self, other: &NewRoundAgreement) -> bool {
        let m = |t: NaiveTime| t.signed_duration_since(NaiveTime::MIN).num_minutes() as u32;
        // Both windows as minute ranges on a two-day line; each also shifted a day.
        let (a, b) = (m(self.window_start), m(other.window_start));
        let (la, lb) = (self.window_minutes(), other.window_minutes());
        [(a, b), (a + 1440, b), (a, b + 1440)].iter().any(|&(a, b)| a < b + lb && b < a + la)
    }
}

/// How one round went, measured against an agreement.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    /// Every checkpoint, inside the window, in time: counts.
    Complete,
    /// One or more checkpoints missed.
    Short,
    /// Finished after the window, or took longer than agreed.
    Late,
    /// Started within the agreed gap after the previous counted round.
    TooSoon,
    /// Started outside every night's window.
    OutsideWindow,
}

crate::coded!(RoundStatus);

/// One round: a patrol's scans of the agreement's checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Round {
    pub patrol_id: Uuid,
    pub guard_id: Uuid,
    /// The first and last counted scan.
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: RoundStatus,
    pub checkpoints_hit: Vec<Uuid>,
    pub checkpoints_missed: Vec<Uuid>,
}

/// One night (the window that opens on `date`) against the agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NightCompliance {
    pub date: NaiveDate,
    pub required: u32,
    /// Complete rounds.
    pub walked: u32,
    pub short: u32,
    pub late: u32,
    pub too_soon: u32,
    /// `walked >= required`.
    pub met: bool,
    /// Checkpoints no round of the night reached.
    pub checkpoints_never_hit: Vec<Uuid>,
    pub rounds: Vec<Round>,
}

/// One ISO week (Monday's night to Sunday's) against the agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WeekCompliance {
    /// ISO week, e.g. `2026-W48`.
    pub week: String,
    pub nights: u32,
    pub nights_met: u32,
    pub rounds_required: u32,
    /// Complete rounds, at most the required number per night.
    pub rounds_walked: u32,
    pub rounds_short: u32,
    pub rounds_late: u32,
    /// `rounds_walked / rounds_required`, 0–1.
    pub compliance: f64,
}

/// One agreement over the asked nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgreementCompliance {
    pub agreement: RoundAgreement,
    pub nights: Vec<NightCompliance>,
    pub weeks: Vec<WeekCompliance>,
    /// Rounds past this agreement's checkpoints that started in no window.
    pub outside_window: Vec<Round>,
}

/// `GET /api/v1/areas/{id}/rounds/compliance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Compliance {
    pub area_id: Uuid,
    /// The first and last night (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub agreements: Vec<AgreementCompliance>,
}

/// A quarter of the Dutch day, for coverage against risk.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HourBand {
    /// 00:00–06:00.
    Nacht,
    /// 06:00–12:00.
    Ochtend,
    /// 12:00–18:00.
    Middag,
    /// 18:00–24:00.
    Avond,
}

crate::coded!(HourBand);

impl HourBand {
    /// Its number in storage: 0 for the night to 3 for the evening.
    pub fn index(self) -> i16 {
        Self::ALL.iter().position(|b| *b == self).unwrap_or(0) as i16
    }
}

/// A checkpoint by id and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CheckpointRef {
    pub id: Uuid,
    pub name: String,
}

/// Something reported during the patrol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Finding {
    pub incident_id: Uuid,
    pub category: String,
    pub occurred_at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub description: Option<String>,
    pub photo_ids: Vec<Uuid>,
}

/// `GET /api/v1/patrols/{id}/report`: the round report of one patrol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatrolReport {
    pub patrol: crate::wire::Patrol,
    pub guard_name: String,
    /// Until the end, or until now while under way.
    pub duration_s: i64,
    /// Along the route.
    pub distance_m: f64,
    /// The agreement whose window the patrol started in, if any.
    pub agreement: Option<RoundAgreement>,
    pub scans: Vec<Scan>,
    /// Against the agreement's checkpoints, or all the area's when there is none.
    pub checkpoints_hit: Vec<CheckpointRef>,
    pub checkpoints_missed: Vec<CheckpointRef>,
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn agreement(start: &str, end: &str, rounds: u32) -> NewRoundAgreement {
        NewRoundAgreement {
            name: "Nacht".into(),
            window_start: t(start),
            window_end: t(end),
            rounds,
            min_gap_minutes: 60,
            max_round_minutes: 60,
            checkpoints: vec![Uuid::from_u128(1)],
        }
    }

    #[test]
    fn a_window_may_pass_midnight() {
        assert_eq!(agreement("22:00", "06:00", 3).window_minutes(), 480);
        assert_eq!(agreement("08:00", "09:30", 1).window_minutes(), 90);
        assert_eq!(agreement("22:00", "06:00", 3).check(), Ok(()));
    }

    #[test]
    fn rounds_that_cannot_fit_the_window_are_impossible() {
        // 3 rounds 60 minutes apart, the last taking 60: 180 minutes; fits 180, not 179.
        assert_eq!(agreement("22:00", "01:00", 3).check(), Ok(()));
        assert!(matches!(
            agreement("22:00", "00:59", 3).check(),
            Err(AgreementProblem::DoesNotFit { needed: 180, window: 179, .. })
        ));
        assert_eq!(agreement("22:00", "06:00", 0).check(), Err(AgreementProblem::Rounds));
        assert_eq!(agreement("22:00", "06:00", 25).check(), Err(AgreementProblem::Rounds));
        assert_eq!(agreement("22:00", "22:00", 1).check(), Err(AgreementProblem::EmptyWindow));
        let mut twice = agreement("22:00", "06:00", 1);
        twice.checkpoints.push(Uuid::from_u128(1));
        assert_eq!(twice.check(), Err(AgreementProblem::Checkpoints));
    }

    #[test]
    fn overlapping_windows_are_seen_across_midnight() {
        let night = agreement("22:00", "06:00", 1);
        assert!(night.overlaps(&agreement("05:00", "07:00", 1)));
        assert!(night.overlaps(&agreement("23:00", "23:30", 1)));
        assert!(agreement("05:00", "07:00", 1).overlaps(&night));
        assert!(!night.overlaps(&agreement("06:00", "22:00", 1)), "touching is not overlapping");
        assert!(!agreement("06:00", "22:00", 1).overlaps(&night));
        assert!(!agreement("08:00", "09:00", 1).overlaps(&agreement("09:00", "10:00", 1)));
    }

    #[test]
    fn counts_may_be_written_as_whole_floats_but_not_as_fractions() {
        let json = |rounds: &str| {
            format!(
                r#"{{"name":"N","window_start":"22:00","window_end":"06:00","rounds":{rounds},"checkpoints":[]}}"#
            )
        };
        let a: NewRoundAgreement = serde_json::from_str(&json("3.0")).unwrap();
        assert_eq!((a.rounds, a.min_gap_minutes, a.window_start), (3, 60, t("22:00")));
        for bad in ["3.5", "-1", "1e20", "\"3\""] {
            assert!(serde_json::from_str::<NewRoundAgreement>(&json(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_read_forgivingly() {
        assert_eq!(normalize_tag(" cp-7q4m-xr2o "), "CP-7Q4M-XR20");
        assert_eq!(normalize_tag("CP-1L1I-0000"), "CP-1111-0000");
    }

    #[test]
    fn far_allows_for_the_stated_accuracy_up_to_a_limit() {
        assert!(!is_far(50.0, None));
        assert!(is_far(50.1, None));
        assert!(!is_far(80.0, Some(30.0)));
        assert!(is_far(101.0, Some(500.0)));
    }
}
