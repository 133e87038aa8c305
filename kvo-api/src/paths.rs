//! The API's paths, in one place for every client (mobile-core, the server's
//! own links). The server's router is checked against them by its tests.

use std::fmt::Display;

/// The prefix of API v1.
pub const API: &str = "/api/v1";

/// `POST`: redeem an invite for a device token.
pub const REDEEM: &str = "/api/v1/devices/redeem";
/// `DELETE`: sign this device out.
pub const CURRENT_DEVICE: &str = "/api/v1/devices/current";
/// `POST`: report an incident; `GET`: list the ones you may see.
pub const INCIDENTS: &str = "/api/v1/incidents";
/// `POST`: a checkpoint scan.
pub const CHECKPOINT_SCANS: &str = "/api/v1/checkpoint-scans";

/// `POST`: start a patrol.
pub const PATROLS: &str = "/api/v1/patrols";

/// `GET`: an area's categories (with an ETag).
pub fn categories(area: impl Display) -> String {
    format!("{API}/areas/{area}/categories")
}

/// `PUT`/`GET`: a photo of an incident.
pub fn photo(incident: impl Display, photo: impl Display) -> String {
    format!("{INCIDENTS}/{incident}/photos/{photo}")
}

/// `GET`: a photo's thumbnail.
pub fn thumbnail(incident: impl Display, photo: impl Display) -> String {
    format!("{}/thumbnail", self::photo(incident, photo))
}

/// `POST`: route points of a patrol.
pub fn patrol_points(patrol: impl Display) -> String {
    format!("{PATROLS}/{patrol}/points")
}

/// `POST`: end a patrol.
pub fn patrol_end(patrol: impl Display) -> String {
    format!("{PATROLS}/{patrol}/end")
}

/// `PATCH`: the facts of a report (aangifte, damage).
pub fn facts(incident: impl Display) -> String {
    format!("{INCIDENTS}/{incident}/facts")
}

/// `POST`: "this is the same" — a confirmation of someone else's report.
pub fn confirmations(incident: impl Display) -> String {
    format!("{INCIDENTS}/{incident}/confirmations")
}

/// `GET`: open reports of `category` near a point ("al gemeld in de buurt").
pub fn nearby(area: impl Display, category: &str, lat: f64, lon: f64) -> String {
    format!("{API}/areas/{area}/nearby?category={category}&lat={lat}&lon={lon}")
}

/// `GET`: the register's assets near a point that a report of `category`
/// may be about (a lamp post for a lighting report), nearest first.
pub fn nearest_assets(
    area: impl Display,
    category: &str,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
) -> String {
    let base = format!("{API}/areas/{area}/assets/nearest?category={category}&lat={lat}&lon={lon}");
    match accuracy_m {
        Some(a) => format!("{base}&accuracy_m={a}"),
        None => base,
    }
}

/// `GET`: a page of my own reports, 500 at a time.
pub fn my_incidents(cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("{INCIDENTS}?mine=true&limit=500&cursor={c}"),
        None => format!("{INCIDENTS}?mine=true&limit=500"),
    }
}
