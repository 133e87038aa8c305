//! The requests the core makes, built from what the store holds: pure, no
//! I/O, paths from `kvo_api::paths`. The engine adds the token and sends them.

use chrono::{DateTime, Utc};
use kvo_api::{
    paths,
    rounds::{NewScan, ScanPosition},
    wire::{EndPatrol, NewConfirmation, NewIncident, NewPatrol, RoutePoint, RoutePoints, WireLocation},
};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    store::{ReportRow, ScanRow},
    transport::{Body, Method, Request},
};

/// Route points per upload request.
pub const POINTS_PER_REQUEST: usize = 1_000;

fn uuid(raw: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::State(what))
}

/// `POST /incidents` for a stored report.
pub fn create_incident(r: &ReportRow) -> Result<Request> {
    let body = NewIncident {
        id: uuid(&r.id, "corrupt report id")?,
        area_id: uuid(&r.area_id, "corrupt area id")?,
        category: r.category.clone(),
        location: WireLocation {
            lat: r.lat.ok_or(Error::State("report has no location"))?,
            lon: r.lon.ok_or(Error::State("report has no location"))?,
            accuracy_m: r.accuracy_m,
        },
        occurred_at: r.occurred_at,
        description: r.description.clone(),
        patrol_id: r.patrol_id.as_deref().map(|p| uuid(p, "corrupt patrol id")).transpose()?,
        answers: r.answers.clone(),
        anonymous: r.anonymous,
        asset_id: r.asset_id.as_deref().map(|a| uuid(a, "corrupt asset id")).transpose()?,
    };
    Request::new(Method::Post, paths::INCIDENTS).json(&body)
}

/// `POST /incidents/{id}/confirmations`: idempotent on the confirmation's id.
pub fn confirm(incident_id: &str, id: &str) -> Result<Request> {
    let body = NewConfirmation { id: uuid(id, "corrupt confirmation id")? };
    Request::new(Method::Post, paths::confirmations(uuid(incident_id, "corrupt incident id")?)).json(&body)
}

/// `GET /areas/{id}/nearby` (asked online, never queued).
pub fn nearby(area: Uuid, category: &str, lat: f64, lon: f64) -> Request {
    Request::new(Method::Get, paths::nearby(area, category, lat, lon))
}

/// `GET /areas/{id}/assets/nearest` (asked online, never queued).
pub fn nearest_assets(area: Uuid, category: &str, loc: kvo_api::Location) -> Request {
    Request::new(Method::Get, paths::nearest_assets(area, category, loc.lat(), loc.lon(), loc.accuracy_m()))
}

/// `PUT` of a prepared photo.
pub fn put_photo(report_id: &str, photo_id: &str, jpeg: Vec<u8>) -> Request {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&jpeg));
    Request {
        content_digest: Some(format!("sha-256=:{digest}:")),
        body: Body::Jpeg(jpeg),
        ..Request::new(Method::Put, paths::photo(report_id, photo_id))
    }
}

/// `PATCH /incidents/{id}/facts`: aangifte and damage (only what is set).
pub fn facts(report_id: &str, aangifte: Option<bool>, damage_eur: Option<f64>) -> Result<Request> {
    let body = kvo_api::follow_up::Facts { aangifte, damage_eur };
    Request::new(Method::Patch, paths::facts(report_id)).json(&body)
}

/// `POST /checkpoint-scans`.
pub fn scan(s: &ScanRow) -> Result<Request> {
    let body = NewScan {
        id: uuid(&s.id, "corrupt scan id")?,
        area_id: uuid(&s.area_id, "corrupt area id")?,
        tag: s.tag.clone(),
        scanned_at: s.scanned_at,
        position: ScanPosition { lat: s.lat, lon: s.lon, accuracy_m: s.accuracy_m },
        patrol_id: s.patrol_id.as_deref().map(|p| uuid(p, "corrupt patrol id")).transpose()?,
    };
    Request::new(Method::Post, paths::CHECKPOINT_SCANS).json(&body)
}

/// `POST /patrols`.
pub fn start_patrol(id: &str, area_id: &str, started_at: DateTime<Utc>) -> Result<Request> {
    let body = NewPatrol {
        id: uuid(id, "corrupt patrol id")?,
        area_id: uuid(area_id, "corrupt area id")?,
        started_at,
    };
    Request::new(Method::Post, paths::PATROLS).json(&body)
}

/// The route of a patrol, [`POINTS_PER_REQUEST`] points a request, then its end.
pub fn patrol_route(
    id: &str,
    points: &[(DateTime<Utc>, f64, f64)],
    ended_at: DateTime<Utc>,
) -> Result<Vec<Request>> {
    let mut out = vec![];
    for chunk in points.chunks(POINTS_PER_REQUEST) {
        let body =
            RoutePoints { points: chunk.iter().map(|&(at, lat, lon)| RoutePoint { lat, lon, at }).collect() };
        out.push(Request::new(Method::Post, paths::patrol_points(id)).json(&body)?);
    }
    out.push(Request::new(Method::Post, paths::patrol_end(id)).json(&EndPatrol { ended_at })?);
    Ok(out)
}

/// `POST /devices/redeem`.
pub fn redeem(code: &str, display_name: Option<&str>, device_name: Option<&str>) -> Result<Request> {
    let body = serde_json::json!({"code": code, "display_name": display_name, "device_name": device_name});
    Request::new(Method::Post, paths::REDEEM).json(&body)
}

/// `DELETE /devices/current`.
pub fn sign_out() -> Request {
    Request::new(Method::Delete, paths::CURRENT_DEVICE)
}

/// `GET` the area's categories, conditional on the ETag held.
pub fn categories(area_id: impl std::fmt::Display, etag: Option<String>) -> Request {
    Request { if_none_match: etag, ..Request::new(Method::Get, paths::categories(area_id)) }
}

/// `GET` a page of my reports.
pub fn my_incidents(cursor: Option<&str>) -> Request {
    Request::new(Method::Get, paths::my_incidents(cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ReportRow {
        ReportRow {
            id: Uuid::new_v4().to_string(),
            area_id: Uuid::new_v4().to_string(),
            category: "graffiti".into(),
            lat: Some(52.25),
            lon: Some(6.16),
            accuracy_m: Some(8.0),
            occurred_at: Utc::now(),
            description: None,
            patrol_id: None,
            answers: [("aangifte".to_string(), kvo_api::questions::Answer::YesNo(true))].into(),
            anonymous: true,
            asset_id: Some(Uuid::new_v4().to_string()),
            state: crate::queue::ItemState::Pending,
            reason: None,
            server_status: None,
        }
    }

    #[test]
    fn a_report_becomes_its_post() {
        let r = report();
        let req = create_incident(&r).unwrap();
        assert_eq!((req.method, req.path.as_str()), (Method::Post, "/api/v1/incidents"));
        let Body::Json(b) = &req.body else { panic!("{req:?}") };
        let sent: NewIncident = serde_json::from_slice(b).unwrap();
        assert_eq!(sent.id.to_string(), r.id);
        assert_eq!((sent.location.lat, sent.location.lon), (52.25, 6.16));
        assert_eq!((sent.answers, sent.anonymous), (r.answers, true), "answers and anonymity go along");
        assert_eq!(sent.asset_id.map(|a| a.to_string()), r.asset_id, "and the asset");
    }

    #[test]
    fn nearest_assets_is_asked_with_the_accuracy() {
        let area = Uuid::new_v4();
        let loc = kvo_api::Location::new(52.25, 6.16, Some(12.0)).unwrap();
        let req = nearest_assets(area, "kapotte_verlichting", loc);
        assert_eq!(req.method, Method::Get);
        assert_eq!(
            req.path,
            format!(
                "/api/v1/areas/{area}/assets/nearest?category=kapotte_verlichting&lat=52.25&lon=6.16&accuracy_m=12"
            )
        );
    }

    #[test]
    fn a_confirmation_is_posted_under_its_own_id() {
        let (incident, id) = (Uuid::new_v4(), Uuid::new_v4());
        let req = confirm(&incident.to_string(), &id.to_string()).unwrap();
        assert_eq!(req.path, format!("/api/v1/incidents/{incident}/confirmations"));
        let Body::Json(b) = &req.body else { panic!("{req:?}") };
        assert_eq!(serde_json::from_slice::<kvo_api::wire::NewConfirmation>(b).unwrap().id, id);
    }

    #[test]
    fn a_photo_carries_its_content_digest() {
        let req = put_photo("r", "p", b"{\"hello\": \"world\"}".to_vec());
        // RFC 9530's example digest of this body.
        assert_eq!(
            req.content_digest.as_deref(),
            Some("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
        );
    }

    #[test]
    fn a_photo_damaged_in_transit_is_sent_again_not_wedged() {
        use crate::{queue::Attempt, transport::Answer};
        let answer = |field: &str| Answer {
            status: 400,
            retry_after: None,
            etag: None,
            body: format!(r#"{{"title":"x","detail":"beschadigd","field":"{field}"}}"#).into_bytes(),
        };
        assert_eq!(answer("Content-Digest").attempt(), Attempt::NoAnswer);
        assert!(matches!(answer("limit").attempt(), Attempt::Answered { status: 400, .. }));
    }

    #[test]
    fn a_report_without_location_or_with_a_corrupt_id_is_not_sent() {
        let mut r = report();
        r.lat = None;
        assert!(create_incident(&r).is_err());
        let mut r = report();
        r.id = "not-a-uuid".into();
        assert!(create_incident(&r).is_err());
    }

    #[test]
    fn a_long_route_is_cut_into_requests_and_ends() {
        let now = Utc::now();
        let points: Vec<_> = (0..2_500).map(|i| (now + chrono::Duration::seconds(i), 52.0, 6.0)).collect();
        let reqs = patrol_route("p1", &points, now).unwrap();
        assert_eq!(reqs.len(), 4);
        assert!(reqs[..3].iter().all(|r| r.path == "/api/v1/patrols/p1/points"));
        assert_eq!(reqs[3].path, "/api/v1/patrols/p1/end");
    }
}
