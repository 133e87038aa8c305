//! A report as a phone sends it (`POST /api/v1/incidents`), and a category's
//! questions as `kvo category questions` reads them: parsed, then every
//! check the server and the phone run. Nothing may panic, and what passes
//! the checks must survive a round trip.
#![no_main]

use kvo_api::{
    Description, Location,
    questions::{Question, check_answers, check_questions, default_questions},
    wire::NewIncident,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<NewIncident>(data) {
        let _ = Location::new(r.location.lat, r.location.lon, r.location.accuracy_m);
        if let Some(d) = &r.description {
            let _ = Description::parse(d);
        }
        let _ = kvo_api::CategoryCode::parse(&r.category);
        let _ = check_answers(&default_questions(&r.category), &r.answers);
        let again: NewIncident = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(again.id, r.id);
    }
    if let Ok(qs) = serde_json::from_slice::<Vec<Question>>(data)
        && check_questions(&qs).is_ok()
    {
        let _ = check_answers(&qs, &Default::default());
    }
});
