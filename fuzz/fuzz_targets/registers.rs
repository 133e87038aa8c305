//! A gemeente's register or street file, as `PUT /areas/{id}/registers/{kind}`
//! and `PUT /areas/{id}/streets` read it (CSV or GeoJSON, WGS 84 or RD).
//! Nothing may panic; what is accepted must hold the rules the database
//! relies on (ids 1–64 characters, names 1–200, every position finite and in
//! the one coordinate system the file was recognised as); what is refused
//! must say why in Dutch and English.
#![no_main]

use kvo_api::registers::{ImportProblem, MAX_ASSETS, crs_of, read_register, read_streets};
use libfuzzer_sys::fuzz_target;

fn explained(p: &ImportProblem) {
    let (nl, en) = p.texts();
    assert!(!nl.is_empty() && !en.is_empty(), "{p:?}");
}

fuzz_target!(|data: &[u8]| {
    match read_register(data) {
        Ok(parsed) => {
            assert!(parsed.items.len() <= MAX_ASSETS);
            for a in &parsed.items {
                assert!((1..=64).contains(&a.external_id.chars().count()), "{a:?}");
                assert!(a.name.as_ref().is_none_or(|n| (1..=200).contains(&n.chars().count())), "{a:?}");
                assert_eq!(crs_of(a.x, a.y), Some(parsed.crs), "{a:?}");
            }
        }
        Err(p) => explained(&p),
    }
    match read_streets(data) {
        Ok(parsed) => {
            for s in &parsed.items {
                assert!((1..=200).contains(&s.name.chars().count()), "{s:?}");
                assert!(!s.lines.is_empty());
                for line in &s.lines {
                    assert!(line.len() >= 2, "{s:?}");
                    assert!(line.iter().all(|&(x, y)| crs_of(x, y) == Some(parsed.crs)), "{s:?}");
                }
            }
        }
        Err(p) => explained(&p),
    }
});
