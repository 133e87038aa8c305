//! Domain types that can only hold valid values, and the validation errors
//! that say, in Dutch and English, what was wrong and in which field.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The longest description a report may carry, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// How far in the future `occurred_at` may lie, to allow for phone clocks that run fast.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(10);
/// How far back `occurred_at` may lie.
pub const MAX_AGE: Duration = Duration::days(366);
/// GPS accuracy above this many metres is "poor": the app should wait for a
/// better fix or let the user place the pin.
pub const POOR_ACCURACY_M: f64 = 100.0;
/// Accuracy values above this are not a GPS fix at all.
pub const MAX_ACCURACY_M: f64 = 10_000.0;

/// Why a value was refused. Each variant names its field and renders a
/// message in Dutch and in English; none of them repeats personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field}: value must be a finite number")]
    NotFinite { field: &'static str },
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
    #[error("accuracy {0} m is not between 0 and {MAX_ACCURACY_M} m")]
    Accuracy(f64),
    #[error("description has {chars} characters, at most {MAX_DESCRIPTION_CHARS} allowed")]
    DescriptionTooLong { chars: usize },
    #[error("occurred_at lies {minutes} minutes in the future")]
    OccurredInFuture { minutes: i64 },
    #[error("occurred_at lies more than a year in the past")]
    OccurredTooLongAgo,
    #[error("category `{0}` is not enabled in this area")]
    Category(String),
    #[error("location lies {distance_m:.0} m outside the area (allowed margin {margin_m:.0} m)")]
    OutsideArea { distance_m: f64, margin_m: f64 },
    #[error("{field}: {reason}")]
    Other { field: &'static str, reason: &'static str, reason_nl: &'static str },
    #[error("answers.{question}: {}", problem.texts().0)]
    Answer { question: String, problem: AnswerProblem },
}

impl ValidationError {
    /// The request field the error is about, as a JSON pointer-ish dotted path.
    pub fn field(&self) -> String {
        let field = match self {
            ValidationError::Answer { question, .. } => return format!("answers.{question}"),
            ValidationError::NotFinite { field } | ValidationError::Other { field, .. } => field,
            ValidationError::Latitude(_) => "location.lat",
            ValidationError::Longitude(_) => "location.lon",
            ValidationError::Accuracy(_) => "location.accuracy_m",
            ValidationError::DescriptionTooLong { .. } => "description",
            ValidationError::OccurredInFuture { .. } | ValidationError::OccurredTooLongAgo => "occurred_at",
            ValidationError::Category(_) => "category",
            ValidationError::OutsideArea { .. } => "location",
        };
        field.to_string()
    }

    /// A stable machine-readable code, used in the problem `type` URI.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::NotFinite { .. } => "not-finite",
            ValidationError::Latitude(_) | ValidationError::Longitude(_) => "coordinates-out-of-range",
            ValidationError::Accuracy(_) => "accuracy-out-of-range",
            ValidationError::DescriptionTooLong { .. } => "description-too-long",
            ValidationError::OccurredInFuture { .. } => "occurred-in-future",
            ValidationError::OccurredTooLongAgo => "occurred-too-long-ago",
            ValidationError::Category(_) => "category-not-enabled",
            ValidationError::OutsideArea { .. } => "outside-area",
            ValidationError::Other { .. } => "invalid-value",
            ValidationError::Answer { .. } => "invalid-answer",
        }
    }

    /// The message in English.
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// The message in Dutch.
    pub fn message_nl(&self) -> String {
        match self {
            ValidationError::NotFinite { field } => {
                format!("{field}: de waarde moet een eindig getal zijn")
            }
            ValidationError::Latitude(v) => format!("breedtegraad {v} ligt niet tussen -90 en 90"),
            ValidationError::Longitude(v) => {
                format!("lengtegraad {v} ligt niet tussen -180 en 180")
            }
            ValidationError::Accuracy(v) => {
                format!("nauwkeurigheid {v} m ligt niet tussen 0 en {MAX_ACCURACY_M} m")
            }
            ValidationError::DescriptionTooLong { chars } => format!(
                "de omschrijving heeft {chars} tekens, er zijn er hoogstens {MAX_DESCRIPTION_CHARS} toegestaan"
            ),
            ValidationError::OccurredInFuture { minutes } => {
                format!("het tijdstip van het incident ligt {minutes} minuten in de toekomst")
            }
            ValidationError::OccurredTooLongAgo => {
                "het tijdstip van het incident ligt meer dan een jaar in het verleden".to_string()
            }
            ValidationError::Category(c) => {
                format!("categorie `{c}` is in dit gebied niet ingeschakeld")
            }
            ValidationError::OutsideArea { distance_m, margin_m } => format!(
                "de locatie ligt {distance_m:.0} m buiten het gebied (toegestane marge {margin_m:.0} m)"
            ),
            ValidationError::Other { field, reason_nl, .. } => format!("{field}: {reason_nl}"),
            ValidationError::Answer { question, problem } => {
                format!("answers.{question}: {}", problem.texts().1)
            }
        }
    }
}

/// Why an answer was refused; the problem names the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerProblem {
    /// A required question without an answer.
    Missing,
    /// An answer to a question the category does not ask.
    Unknown,
    /// The answer has the wrong kind (text for a yes/no question, say).
    WrongKind,
    /// Not one of the options.
    NotAnOption,
    /// A number outside the question's bounds, or not finite.
    OutOfRange,
    /// Text longer than [`crate::questions::MAX_TEXT_ANSWER_CHARS`], or empty.
    TextLength,
}

impl AnswerProblem {
    /// English and Dutch, in that order.
    pub fn texts(self) -> (&'static str, &'static str) {
        match self {
            AnswerProblem::Missing => ("this question must be answered", "deze vraag moet beantwoord worden"),
            AnswerProblem::Unknown => {
                ("this category does not ask this question", "deze categorie stelt deze vraag niet")
            }
            AnswerProblem::WrongKind => {
                ("the answer is of the wrong kind", "het antwoord is van de verkeerde soort")
            }
            AnswerProblem::NotAnOption => {
                ("the answer is not one of the options", "het antwoord is geen van de keuzes")
            }
            AnswerProblem::OutOfRange => {
                ("the number is out of range", "het getal valt buiten het toegestane bereik")
            }
            AnswerProblem::TextLength => {
                ("the text must be 1 to 200 characters", "de tekst moet 1 tot 200 tekens lang zijn")
            }
        }
    }
}

/// A WGS 84 position with its GPS accuracy. Cannot hold latitude 200.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
}

impl Location {
    /// Parses raw coordinates; `accuracy_m` is the 68 % radius the phone reports.
    pub fn new(lat: f64, lon: f64, accuracy_m: Option<f64>) -> Result<Location, ValidationError> {
        if !lat.is_finite() {
            return Err(ValidationError::NotFinite { field: "location.lat" });
        }
        if !lon.is_finite() {
            return Err(ValidationError::NotFinite { field: "location.lon" });
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ValidationError::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ValidationError::Longitude(lon));
        }
        if let Some(a) = accuracy_m
            && (!a.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&a))
        {
            return Err(ValidationError::Accuracy(a));
        }
        Ok(Location { lat, lon, accuracy_m })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }
    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }
    /// GPS accuracy in metres, if the phone knew it.
    pub fn accuracy_m(&self) -> Option<f64> {
        self.accuracy_m
    }
    /// Whether the fix is too coarse to trust without the user's confirmation.
    pub fn is_poor(&self) -> bool {
        self.accuracy_m.is_some_and(|a| a > POOR_ACCURACY_M)
    }
}

/// A report's free text: trimmed, at most [`MAX_DESCRIPTION_CHARS`] characters,
/// with control characters other than newlines and tabs removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Description(String);

impl Description {
    /// Parses user text. An empty or blank text becomes `None`.
    pub fn parse(raw: &str) -> Result<Option<Description>, ValidationError> {
        let chars = raw.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(ValidationError::DescriptionTooLong { chars });
        }
        let cleaned: String =
            raw.trim().chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect();
        Ok((!cleaned.is_empty()).then_some(Description(cleaned)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Checks that an incident time is plausible relative to the receiver's clock
/// `now`: not beyond the allowed clock skew in the future, and not more than a
/// year back.
pub fn check_occurred_at(occurred_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if occurred_at > now + MAX_CLOCK_SKEW {
        let minutes = (occurred_at - now).num_minutes();
        return Err(ValidationError::OccurredInFuture { minutes });
    }
    if occurred_at < now - MAX_AGE {
        return Err(ValidationError::OccurredTooLongAgo);
    }
    Ok(())
}

/// A count as JSON may write it: `3`, or `3.0` (JSON Schema's `integer`
/// admits both); a fraction, a negative or a number beyond `u32` is refused.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64));
    whole.and_then(|w| u32::try_from(w).ok()).ok_or_else(|| {
        serde::de::Error::invalid_value(
            serde::de::Unexpected::Other(&n.to_string()),
            &"a whole number from 0",
        )
    })
}

/// [`whole_number`] for an optional field (absent or `null` is `None`).
pub fn whole_number_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] u32);
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

/// A whole number of either sign, also when written as `-12.0` (JSON
/// Schema's `integer` allows that); its range is the caller's to check.
pub fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (i64::MIN as f64..=i64::MAX as f64).contains(f))
            .map(|f| f as i64)
    });
    whole.ok_or_else(|| {
        serde::de::Error::invalid_value(serde::de::Unexpected::Other(&n.to_string()), &"a whole number")
    })
}

/// An unknown code as it is shown back in an error: at most 40 characters of it.
pub fn shown(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_rejects_out_of_range_and_nan() {
        assert_eq!(Location::new(200.0, 5.0, None), Err(ValidationError::Latitude(200.0)));
        assert_eq!(Location::new(52.0, -181.0, None), Err(ValidationError::Longitude(-181.0)));
        assert!(matches!(Location::new(f64::NAN, 5.0, None), Err(ValidationError::NotFinite { .. })));
        assert_eq!(Location::new(52.0, 5.0, Some(-1.0)), Err(ValidationError::Accuracy(-1.0)));
        let ok = Location::new(52.0, 5.0, Some(150.0)).unwrap();
        assert!(ok.is_poor());
        assert!(!Location::new(52.0, 5.0, Some(8.0)).unwrap().is_poor());
    }

    #[test]
    fn description_limits_and_cleans() {
        assert_eq!(Description::parse("   ").unwrap(), None);
        let d = Description::parse(" ruit\u{0007} ingegooid\n").unwrap().unwrap();
        assert_eq!(d.as_str(), "ruit ingegooid");
        let long = "é".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(
            Description::parse(&long),
            Err(ValidationError::DescriptionTooLong { chars: MAX_DESCRIPTION_CHARS + 1 })
        );
        // The limit counts characters, not bytes: 2,000 two-byte characters pass.
        assert!(Description::parse(&"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
    }

    #[test]
    fn occurred_at_window() {
        let now = Utc::now();
        assert!(check_occurred_at(now + Duration::minutes(5), now).is_ok());
        assert!(matches!(
            check_occurred_at(now + Duration::hours(2), now),
            Err(ValidationError::OccurredInFuture { minutes: 120 })
        ));
        assert_eq!(
            check_occurred_at(now - Duration::days(400), now),
            Err(ValidationError::OccurredTooLongAgo)
        );
    }

    #[test]
    fn every_error_has_both_languages() {
        let errs = [
            ValidationError::Latitude(91.0),
            ValidationError::OutsideArea { distance_m: 812.0, margin_m: 50.0 },
            ValidationError::Category("x".into()),
        ];
        for e in errs {
            assert!(!e.message_nl().is_empty());
            assert_ne!(e.message_nl(), e.message_en());
        }
    }
}
