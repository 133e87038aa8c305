//! The form a partner organisation's system posts to
//! `POST /open311/v2/requests.{xml,json}` (GeoReport v2), read as the server
//! reads it: query and body together, then against the default categories
//! and their questions. Nothing may panic; what is accepted names an
//! existing service, carries finite coordinates and answers only that
//! service's questions, each of its question's kind; what is refused is a
//! 400 or 403 with a description.
#![no_main]

use kvo_api::{
    DEFAULT_CATEGORIES,
    open311::{form_fields, submission},
    questions::{Answer, QuestionKind, default_questions},
    wire::CategoryInfo,
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static CATEGORIES: LazyLock<Vec<CategoryInfo>> = LazyLock::new(|| {
    DEFAULT_CATEGORIES
        .iter()
        .map(|c| CategoryInfo {
            code: c.code.into(),
            label_nl: c.label_nl.into(),
            label_en: c.label_en.into(),
            theme: c.theme,
            dimension: c.dimension,
            urgent: false,
            questions: default_questions(c.code),
        })
        .collect()
});

fuzz_target!(|data: &[u8]| {
    // The first line is the query string, the rest the body.
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let fields = match form_fields(query, body) {
        Ok(f) => f,
        Err(e) => {
            assert!(e.code == 400 && !e.description.is_empty(), "{e:?}");
            return;
        }
    };
    assert!(fields.iter().all(|(_, v)| !v.trim().is_empty()), "empty values count as absent");
    let find = |code: &str| CATEGORIES.iter().find(|c| c.code == code);
    match submission(find, &fields) {
        Ok(s) => {
            let c = find(&s.service_code).expect("an existing service");
            assert!(s.lat.is_finite() && s.lon.is_finite());
            for (code, answer) in &s.answers {
                let q = c.questions.iter().find(|q| &q.code == code).expect("a question of this service");
                let fits = matches!(
                    (q.kind, answer),
                    (QuestionKind::YesNo, Answer::YesNo(_))
                        | (QuestionKind::Number, Answer::Number(_))
                        | (QuestionKind::Text | QuestionKind::Choice, Answer::Text(_))
                        | (QuestionKind::MultipleChoice, Answer::Choices(_))
                );
                assert!(fits, "{code}: {answer:?}");
                if let Answer::Number(n) = answer {
                    assert!(n.is_finite());
                }
            }
        }
        Err(e) => assert!((e.code == 400 || e.code == 403) && !e.description.is_empty(), "{e:?}"),
    }
});
