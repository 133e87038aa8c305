//! The follow-up requests (status, assignment, comment, facts, merge):
//! parsed, then the text and amount rules the server applies. Nothing may
//! panic; a cleaned text obeys its limits.
#![no_main]

use kvo_api::follow_up::{
    Assignment, Facts, Merge, NewComment, StatusChange, clean_text, damage_cents,
};
use libfuzzer_sys::fuzz_target;

fn text(raw: Option<&str>, max: usize) {
    if let Ok(Some(t)) = clean_text(raw, max) {
        assert!(t.chars().count() <= max && t.trim() == t && !t.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = serde_json::from_slice::<StatusChange>(data) {
        text(s.reason.as_deref(), 1_000);
    }
    if let Ok(a) = serde_json::from_slice::<Assignment>(data) {
        text(a.reason.as_deref(), 1_000);
    }
    if let Ok(c) = serde_json::from_slice::<NewComment>(data) {
        text(Some(&c.body), 2_000);
    }
    if let Ok(f) = serde_json::from_slice::<Facts>(data)
        && let Some(cents) = f.damage_eur.and_then(damage_cents)
    {
        assert!((0..=100_000_000_000).contains(&cents));
    }
    if let Ok(m) = serde_json::from_slice::<Merge>(data) {
        text(m.reason.as_deref(), 1_000);
    }
});
