//! How the shared domain types cross the FFI: ids as UUIDs (a string on the
//! other side, checked when it comes back), roles, statuses, themes and
//! dimensions as the enums of `kvo_api` (Kotlin and Swift enums), and a
//! category's questions and a report's answers as the records of
//! `kvo_api::questions`, so that the app and the core check them alike.

use kvo_api::{
    Dimension, Role, Theme,
    questions::{Answer, Question, QuestionKind, QuestionOption},
    wire::IncidentStatus,
};
use uuid::Uuid;

uniffi::custom_type!(Uuid, String, {
    remote,
    try_lift: |s| Ok(Uuid::parse_str(&s)?),
    lower: |u| u.to_string(),
});

#[uniffi::remote(Enum)]
pub enum Role {
    Ondernemer,
    Beveiliger,
    Werkgroep,
    Gemeente,
    Politie,
    Brandweer,
    Beheerder,
}

#[uniffi::remote(Enum)]
pub enum IncidentStatus {
    Nieuw,
    InBehandeling,
    Opgelost,
    Afgewezen,
    Heropend,
}

#[uniffi::remote(Enum)]
pub enum Theme {
    Criminaliteit,
    Overlast,
    Brandveiligheid,
    Verkeersveiligheid,
    Milieu,
    Cybersecurity,
    Ondermijning,
}

#[uniffi::remote(Enum)]
pub enum Dimension {
    Schoon,
    Heel,
    Veilig,
}

#[uniffi::remote(Enum)]
pub enum QuestionKind {
    Choice,
    MultipleChoice,
    YesNo,
    Number,
    Text,
}

#[uniffi::remote(Record)]
pub struct QuestionOption {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
}

#[uniffi::remote(Record)]
pub struct Question {
    pub code: String,
    pub kind: QuestionKind,
    pub label_nl: String,
    pub label_en: String,
    pub required: bool,
    pub options: Vec<QuestionOption>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[uniffi::remote(Enum)]
pub enum Answer {
    YesNo(bool),
    Number(f64),
    Text(String),
    Choices(Vec<String>),
}

/// An id the store holds as text.
pub(crate) fn id(raw: &str) -> crate::error::Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| crate::error::Error::State("corrupt id on the device"))
}

/// A status the store holds as text.
pub(crate) fn status(raw: &str) -> crate::error::Result<IncidentStatus> {
    IncidentStatus::from_code(raw).ok_or(crate::error::Error::State("unknown status on the device"))
}
