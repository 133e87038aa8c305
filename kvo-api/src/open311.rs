//! Open311 GeoReport v2 at the protocol's edge: its error, and the form a
//! partner organisation's system posts to file a report, read into typed
//! answers. Shared here (no database) so the fuzzer reaches it; the server's
//! `open311` module does the rest.

use serde_json::{Value, json};

use crate::{
    questions::{Answer, Answers, QuestionKind},
    wire::CategoryInfo,
};

/// An Open311 error: its HTTP status and a description in Dutch and English.
#[derive(Debug, Clone, PartialEq)]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
    /// Over a limit: the seconds to wait (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl Open311Error {
    pub fn new(code: u16, nl: &str, en: &str) -> Open311Error {
        Open311Error { code, description: format!("{nl} / {en}"), retry_after: None }
    }

    /// 429: too many reports; retry after `secs` seconds.
    pub fn too_many(secs: u64) -> Open311Error {
        Open311Error {
            retry_after: Some(secs),
            ..Open311Error::new(
                429,
                &format!("te veel meldingen; probeer het over {secs} s opnieuw"),
                &format!("too many requests; retry in {secs} s"),
            )
        }
    }

    pub fn bad(nl: &str, en: &str) -> Open311Error {
        Open311Error::new(400, nl, en)
    }

    /// The error document (`<errors>` or a JSON array).
    pub fn document(&self) -> Value {
        json!([{"code": self.code, "description": self.description}])
    }
}

pub type Result<T> = std::result::Result<T, Open311Error>;

/// A report filed through `POST requests`, read from its form fields.
/// Personal fields (`email`, `first_name`, `last_name`, `phone`,
/// `device_id`, `account_id`) are not kept: the API key is the reporter.
/// `media_url` is not fetched (the server reaches no outside address).
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub api_key: String,
    pub service_code: String,
    pub lat: f64,
    pub lon: f64,
    pub description: Option<String>,
    pub answers: Answers,
}

/// Form fields (body and query together), empty ones counted as absent.
pub fn form_fields(query: Option<&str>, body: &[u8]) -> Result<Vec<(String, String)>> {
    let mut fields: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let body: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        Open311Error::bad(
            "de inhoud is geen formulier (application/x-www-form-urlencoded)",
            "the body is not a form (application/x-www-form-urlencoded)",
        )
    })?;
    fields.extend(body);
    fields.retain(|(_, v)| !v.trim().is_empty());
    Ok(fields)
}

/// Reads a submission: a `service_code` that `enabled` knows; `lat`
/// and `long` both (an address alone cannot be placed); `attribute[code]`
/// answers to the service's own questions, typed by the question
/// (`attribute[code][]` for each choice of a multivaluelist). The answers'
/// values and the description's length are checked where the app's are,
/// when the report is stored.
pub fn submission<'a>(
    enabled: impl Fn(&str) -> Option<&'a CategoryInfo>,
    fields: &[(String, String)],
) -> Result<Submission> {
    let one = |key: &str| fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim());
    let api_key =
        one("api_key").ok_or_else(|| Open311Error::new(403, "api_key ontbreekt", "api_key is missing"))?;
    let code = one("service_code")
        .ok_or_else(|| Open311Error::bad("service_code ontbreekt", "service_code is missing"))?;
    let category = enabled(code).ok_or_else(|| {
        Open311Error::bad(
            &format!("onbekende service_code {:?}", crate::validate::shown(code)),
            &format!("unknown service_code {:?}", crate::validate::shown(code)),
        )
    })?;
    let coordinate = |key: &str| -> Result<Option<f64>> {
        one(key)
            .map(|v| {
                v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                    Open311Error::bad(&format!("{key} is geen getal"), &format!("{key} is not a number"))
                })
            })
            .transpose()
    };
    let (lat, lon) = match (coordinate("lat")?, coordinate("long")?) {
        (Some(lat), Some(lon)) => (lat, lon),
        _ => {
            return Err(Open311Error::bad(
                "lat en long zijn allebei nodig (een adres alleen kan niet worden geplaatst)",
                "lat and long are both required (an address alone cannot be placed)",
            ));
        }
    };
    let mut answers = Answers::new();
    for (key, value) in fields {
        let Some(rest) = key.strip_prefix("attribute[") else { continue };
        let (code, multi) = match rest.strip_suffix("][]") {
            Some(c) => (c, true),
            None => (rest.strip_suffix(']').unwrap_or(rest), false),
        };
        let Some(q) = category.questions.iter().find(|q| q.code == code) else {
            return Err(Open311Error::bad(
                &format!(
                    "attribute {:?} hoort niet bij service {}",
                    crate::validate::shown(code),
                    category.code
                ),
                &format!(
                    "attribute {:?} is not one of service {}",
                    crate::validate::shown(code),
                    category.code
                ),
            ));
        };
        let value = value.trim();
        let wrong = || {
            Open311Error::bad(
                &format!("attribute {:?} heeft een ongeldige waarde", q.code),
                &format!("attribute {:?} has an invalid value", q.code),
            )
        };
        let answer = match q.kind {
            QuestionKind::YesNo => match value {
                "true" | "ja" | "yes" | "1" => Answer::YesNo(true),
                "false" | "nee" | "no" | "0" => Answer::YesNo(false),
                _ => return Err(wrong()),
            },
            QuestionKind::Number => Answer::Number(
                value.replace(',', ".").parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(wrong)?,
            ),
            QuestionKind::Text | QuestionKind::Choice if !multi => Answer::Text(value.to_string()),
            QuestionKind::MultipleChoice => {
                let mut choices = match answers.remove(&q.code) {
                    Some(Answer::Choices(c)) => c,
                    _ => vec![],
                };
                choices.extend(value.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
                Answer::Choices(choices)
            }
            QuestionKind::Text | QuestionKind::Choice => return Err(wrong()),
        };
        answers.insert(q.code.clone(), answer);
    }
    Ok(Submission {
        api_key: api_key.to_string(),
        service_code: category.code.clone(),
        lat,
        lon,
        description: one("description").map(str::to_string),
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questions::default_questions;

    fn diefstal() -> CategoryInfo {
        CategoryInfo {
            code: "diefstal".into(),
            label_nl: "Diefstal".into(),
            label_en: "Theft".into(),
            theme: None,
            dimension: None,
            urgent: false,
            questions: default_questions("diefstal"),
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_form_becomes_typed_answers() {
        let c = diefstal();
        let find = |code: &str| (code == "diefstal").then_some(&c);
        let f = fields(&[
            ("api_key", "k"),
            ("service_code", "diefstal"),
            ("lat", "52.1"),
            ("long", "5.1"),
            ("attribute[aangifte]", "ja"),
            ("attribute[schade_euro]", "12,5"),
        ]);
        let s = submission(find, &f).unwrap();
        assert_eq!((s.lat, s.lon, s.description.as_deref()), (52.1, 5.1, None));
        assert_eq!(s.answers["aangifte"], Answer::YesNo(true));
        assert_eq!(s.answers["schade_euro"], Answer::Number(12.5));
        let other = fields(&[
            ("api_key", "k"),
            ("service_code", "diefstal"),
            ("lat", "52.1"),
            ("long", "5.1"),
            ("attribute[wat][]", "ruit"),
        ]);
        assert_eq!(submission(find, &other).unwrap_err().code, 400);
        let no_key = fields(&[("service_code", "diefstal")]);
        assert_eq!(submission(find, &no_key).unwrap_err().code, 403);
    }
}
