//! Extra questions per category ("lampnummer op de mast", "aangifte gedaan?")
//! and the one rule that checks a report's answers against them. The server
//! validates with it; the apps show the same definitions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::ValidationError;
pub use crate::validate::AnswerProblem;

/// The longest free-text answer, in characters.
pub const MAX_TEXT_ANSWER_CHARS: usize = 200;
/// At most this many questions per category: a report stays quick.
pub const MAX_QUESTIONS: usize = 8;

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// One of the options (answer: the option's code).
    Choice,
    /// Any number of the options (answer: a list of option codes).
    MultipleChoice,
    /// Ja/nee (answer: true or false).
    YesNo,
    /// A number within `min`..`max` (answer: a number).
    Number,
    /// A short text (answer: at most 200 characters).
    Text,
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuestionOption {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
}

/// A question a category asks with every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable code, the key of the answer (`^[a-z0-9_]{1,40}$`).
    pub code: String,
    pub kind: QuestionKind,
    pub label_nl: String,
    pub label_en: String,
    #[serde(default)]
    pub required: bool,
    /// The options of a choice or multiple-choice question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<QuestionOption>,
    /// Bounds of a number question (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// An answer, as JSON gives it: `true`, `12.5`, `"ja"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(untagged)]
pub enum Answer {
    YesNo(bool),
    Number(f64),
    Text(String),
    Choices(Vec<String>),
}

/// A report's answers by question code.
pub type Answers = BTreeMap<String, Answer>;

/// Checks `answers` against the category's `questions`: every required one
/// answered, nothing unknown, each answer of its question's kind and range.
pub fn check_answers(questions: &[Question], answers: &Answers) -> Result<(), ValidationError> {
    let fail = |q: &str, problem| Err(ValidationError::Answer { question: q.to_string(), problem });
    for code in answers.keys() {
        if !questions.iter().any(|q| &q.code == code) {
            return fail(code, AnswerProblem::Unknown);
        }
    }
    for q in questions {
        let Some(a) = answers.get(&q.code) else {
            if q.required {
                return fail(&q.code, AnswerProblem::Missing);
            }
            continue;
        };
        let is_option = |c: &String| q.options.iter().any(|o| &o.code == c);
        let problem = match (q.kind, a) {
            (QuestionKind::YesNo, Answer::YesNo(_)) => None,
            (QuestionKind::Number, Answer::Number(n)) => {
                (!n.is_finite() || q.min.is_some_and(|m| *n < m) || q.max.is_some_and(|m| *n > m))
                    .then_some(AnswerProblem::OutOfRange)
            }
            (QuestionKind::Text, Answer::Text(t)) => {
                let n = t.trim().chars().count();
                (n == 0 || n > MAX_TEXT_ANSWER_CHARS).then_some(AnswerProblem::TextLength)
            }
            (QuestionKind::Choice, Answer::Text(c)) => (!is_option(c)).then_some(AnswerProblem::NotAnOption),
            (QuestionKind::MultipleChoice, Answer::Choices(cs)) => {
                if q.required && cs.is_empty() {
                    Some(AnswerProblem::Missing)
                } else {
                    (!cs.iter().all(is_option)).then_some(AnswerProblem::NotAnOption)
                }
            }
            _ => Some(AnswerProblem::WrongKind),
        };
        if let Some(p) = problem {
            return fail(&q.code, p);
        }
    }
    Ok(())
}

/// The answers as one line of Dutch text, in the order of the questions
/// ("Aangifte gedaan?: ja | Schade in euro: 120"), for exports. Answers to
/// questions no longer asked are shown by their code.
pub fn answers_text_nl(questions: &[Question], answers: &Answers) -> String {
    let value = |q: Option<&Question>, a: &Answer| -> String {
        let option = |c: &String| {
            q.and_then(|q| q.options.iter().find(|o| &o.code == c)).map_or(c.clone(), |o| o.label_nl.clone())
        };
        match a {
            Answer::YesNo(b) => if *b { "ja" } else { "nee" }.to_string(),
            Answer::Number(n) => format!("{n}").replace('.', ","),
            Answer::Text(t) if q.is_some_and(|q| q.kind == QuestionKind::Choice) => option(t),
            Answer::Text(t) => t.clone(),
            Answer::Choices(cs) => cs.iter().map(option).collect::<Vec<_>>().join(", "),
        }
    };
    let known = questions
        .iter()
        .filter_map(|q| answers.get(&q.code).map(|a| (q.label_nl.clone(), value(Some(q), a))));
    let unknown = answers
        .iter()
        .filter(|(c, _)| !questions.iter().any(|q| &q.code == *c))
        .map(|(c, a)| (c.clone(), value(None, a)));
    known.chain(unknown).map(|(l, v)| format!("{l}: {v}")).collect::<Vec<_>>().join(" | ")
}

/// Whether `c` is a code as categories, questions and options use them:
/// `^[a-z0-9_]{1,40}$`.
pub fn is_code(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 40
        && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a category's question definitions, as a beheerder would write them.
pub fn check_questions(questions: &[Question]) -> Result<(), crate::ValidationError> {
    let refuse =
        |reason, reason_nl| Err(crate::ValidationError::Other { field: "questions", reason, reason_nl });
    if questions.len() > MAX_QUESTIONS {
        return refuse("too many questions", "te veel vragen");
    }
    let code_ok = is_code;
    for (i, q) in questions.iter().enumerate() {
        if !code_ok(&q.code) || questions[..i].iter().any(|p| p.code == q.code) {
            return refuse(
                "question codes must be unique and match ^[a-z0-9_]{1,40}$",
                "de codes van de vragen moeten uniek zijn en aan ^[a-z0-9_]{1,40}$ voldoen",
            );
        }
        if q.label_nl.trim().is_empty() || q.label_en.trim().is_empty() {
            return refuse(
                "every question needs a Dutch and an English label",
                "elke vraag heeft een Nederlandse en een Engelse tekst nodig",
            );
        }
        let choice = matches!(q.kind, QuestionKind::Choice | QuestionKind::MultipleChoice);
        let has_options = !q.options.is_empty();
        if choice != has_options || q.options.iter().any(|o| !code_ok(&o.code)) {
            return refuse(
                "choice questions, and only they, have options with valid codes",
                "keuzevragen, en alleen die, hebben opties met geldige codes",
            );
        }
    }
    Ok(())
}

/// The questions a new area's default category starts with (a beheerder may
/// change them): the lamp number for lighting, aangifte and damage for theft,
/// what was damaged for vandalism. None is required by default, so that an
/// app that does not know the questions yet can still report.
pub fn default_questions(category: &str) -> Vec<Question> {
    let q = |code: &str, kind, nl: &str, en: &str, required, options: &[(&str, &str, &str)]| Question {
        code: code.into(),
        kind,
        label_nl: nl.into(),
        label_en: en.into(),
        required,
        options: options
            .iter()
            .map(|(c, nl, en)| QuestionOption {
                code: (*c).into(),
                label_nl: (*nl).into(),
                label_en: (*en).into(),
            })
            .collect(),
        min: (kind == QuestionKind::Number).then_some(0.0),
        max: (kind == QuestionKind::Number).then_some(1_000_000.0),
    };
    match category {
        "kapotte_verlichting" => vec![q(
            "lampnummer",
            QuestionKind::Text,
            "Nummer op de lichtmast",
            "Number on the lamp post",
            false,
            &[],
        )],
        "diefstal" => vec![
            q("aangifte", QuestionKind::YesNo, "Aangifte gedaan?", "Reported to the police?", false, &[]),
            q("schade_euro", QuestionKind::Number, "Schade in euro", "Damage in euros", false, &[]),
        ],
        "vandalisme" => vec![q(
            "wat",
            QuestionKind::MultipleChoice,
            "Wat is vernield?",
            "What was damaged?",
            false,
            &[
                ("ruit", "Ruit", "Window"),
                ("deur", "Deur of rolluik", "Door or shutter"),
                ("verlichting", "Verlichting", "Lighting"),
                ("straatmeubilair", "Straatmeubilair", "Street furniture"),
                ("anders", "Anders", "Something else"),
            ],
        )],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(code: &str, kind: QuestionKind, required: bool) -> Question {
        let options = match kind {
            QuestionKind::Choice | QuestionKind::MultipleChoice => ["a", "b"]
                .iter()
                .map(|c| QuestionOption {
                    code: c.to_string(),
                    label_nl: c.to_string(),
                    label_en: c.to_string(),
                })
                .collect(),
            _ => vec![],
        };
        Question {
            code: code.into(),
            kind,
            label_nl: "v".into(),
            label_en: "q".into(),
            required,
            options,
            min: Some(0.0),
            max: Some(100.0),
        }
    }

    fn answers(json: &str) -> Answers {
        serde_json::from_str(json).unwrap()
    }

    fn problem(qs: &[Question], json: &str) -> Option<(String, AnswerProblem)> {
        match check_answers(qs, &answers(json)) {
            Ok(()) => None,
            Err(ValidationError::Answer { question, problem }) => Some((question, problem)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        let qs = [
            q("aangifte", QuestionKind::YesNo, true),
            q("schade", QuestionKind::Number, false),
            q("soort", QuestionKind::Choice, false),
            q("wat", QuestionKind::MultipleChoice, false),
            q("nummer", QuestionKind::Text, false),
        ];
        assert_eq!(problem(&qs, r#"{"aangifte": true}"#), None);
        assert_eq!(
            problem(
                &qs,
                r#"{"aangifte": false, "schade": 12.5, "soort": "a", "wat": ["a", "b"], "nummer": "0412"}"#
            ),
            None
        );
        assert_eq!(problem(&qs, "{}"), Some(("aangifte".into(), AnswerProblem::Missing)));
        assert_eq!(
            problem(&qs, r#"{"aangifte": "ja"}"#),
            Some(("aangifte".into(), AnswerProblem::WrongKind))
        );
        assert_eq!(problem(&qs, r#"{"aangifte": true, "x": 1}"#), Some(("x".into(), AnswerProblem::Unknown)));
        assert_eq!(
            problem(&qs, r#"{"aangifte": true, "schade": 101}"#),
            Some(("schade".into(), AnswerProblem::OutOfRange))
        );
        assert_eq!(
            problem(&qs, r#"{"aangifte": true, "soort": "c"}"#),
            Some(("soort".into(), AnswerProblem::NotAnOption))
        );
        assert_eq!(
            problem(&qs, r#"{"aangifte": true, "wat": ["a", "z"]}"#),
            Some(("wat".into(), AnswerProblem::NotAnOption))
        );
        assert_eq!(
            problem(&qs, r#"{"aangifte": true, "nummer": "  "}"#),
            Some(("nummer".into(), AnswerProblem::TextLength))
        );
    }

    #[test]
    fn the_defaults_are_valid_definitions() {
        for c in crate::DEFAULT_CATEGORIES {
            check_questions(&default_questions(c.code)).unwrap();
        }
        assert!(!default_questions("diefstal").is_empty());
    }

    #[test]
    fn answers_read_as_dutch_text() {
        let qs = default_questions("diefstal");
        assert_eq!(
            answers_text_nl(&qs, &answers(r#"{"schade_euro": 120.5, "aangifte": true, "oud": "x"}"#)),
            "Aangifte gedaan?: ja | Schade in euro: 120,5 | oud: x"
        );
        let qs = default_questions("vandalisme");
        assert_eq!(
            answers_text_nl(&qs, &answers(r#"{"wat": ["ruit", "deur"]}"#)),
            "Wat is vernield?: Ruit, Deur of rolluik"
        );
        assert_eq!(answers_text_nl(&qs, &Answers::new()), "");
    }

    #[test]
    fn definitions_are_checked() {
        assert!(
            check_questions(&[q("a", QuestionKind::Choice, true), q("b", QuestionKind::Text, false)]).is_ok()
        );
        assert!(
            check_questions(&[q("a", QuestionKind::Text, true), q("a", QuestionKind::Text, false)]).is_err()
        );
        assert!(check_questions(&[q("A b", QuestionKind::Text, true)]).is_err());
        let mut choice_without_options = q("a", QuestionKind::Choice, true);
        choice_without_options.options.clear();
        assert!(check_questions(&[choice_without_options]).is_err());
    }
}
