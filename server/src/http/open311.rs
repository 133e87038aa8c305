//! `/open311/v2/`: GeoReport v2 (see [`crate::open311`]). Paths end in the
//! format (`services.xml`, `requests.json`); errors are Open311's own
//! `<errors>` document, never problem+json.

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::Value;

use kvo_api::wire::{NewIncident, WireLocation};

use super::{
    extract::ClientIp,
    problem::{AppError, OwnErrorFormat},
    state::AppState,
};
use crate::{
    auth::{self, Via},
    error::Error,
    incidents::{self, Created},
    open311::{self, Open311Error, Params, format::Format},
    rate_limit::Limit,
};

/// A filed report is a short form.
const FORM_LIMIT: usize = 64 * 1024;

/// The Open311 routes, to be nested under `/open311/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(top).post(file_request))
        .route("/services/{file}", get(service))
        .route("/requests/{file}", get(request))
        .fallback(|| async { answer(Format::Xml, "errors", Err(not_found())) })
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
}

fn not_found() -> Open311Error {
    Open311Error::new(404, "niet gevonden", "not found")
}

/// `root` in `format` with status 200, or the error document with the error's status.
fn answer(format: Format, root: &str, body: open311::Result<Value>) -> Response {
    let (status, root, value, retry_after) = match body {
        Ok(v) => (StatusCode::OK, root, v, None),
        Err(e) => (
            StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST),
            "errors",
            e.document(),
            e.retry_after,
        ),
    };
    let mut res = (status, format.render(root, &value)).into_response();
    if let Some(secs) = retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if status.is_success() {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    }
    res.extensions_mut().insert(OwnErrorFormat);
    res
}

/// `discovery.{fmt}`, `services.{fmt}` and `requests.{fmt}`.
async fn top(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((name, format)) = Format::split(&file) else { return answer(Format::Xml, "", Err(not_found())) };
    let params = Params::parse(q.as_deref());
    match name {
        "discovery" => {
            answer(format, "discovery", Ok(open311::discovery(&super::admin::base_url(&s, &headers))))
        }
        "services" => answer(format, "services", services(&s, &params).await),
        "requests" => answer(format, "service_requests", requests(&s, &params, None).await),
        _ => answer(format, "", Err(not_found())),
    }
}

async fn services(s: &AppState, p: &Params) -> open311::Result<Value> {
    let j = open311::jurisdiction(&s.pool, p).await?;
    Ok(open311::services(&*s.areas.get(&s.pool, j.area_id).await?))
}

/// `services/{code}.{fmt}`: a service definition.
async fn service(State(s): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Some((code, format)) = Format::split(&file) else { return answer(Format::Xml, "", Err(not_found())) };
    let params = Params::parse(q.as_deref());
    let body = async {
        let j = open311::jurisdiction(&s.pool, &params).await?;
        open311::service_definition(&*s.areas.get(&s.pool, j.area_id).await?, code)
    };
    answer(format, "service_definition", body.await)
}

/// `requests/{id}.{fmt}`: one report, as a list of one.
async fn request(State(s): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Some((id, format)) = Format::split(&file) else { return answer(Format::Xml, "", Err(not_found())) };
    let params = Params::parse(q.as_deref());
    answer(format, "service_requests", requests(&s, &params, Some(id)).await)
}

async fn requests(s: &AppState, p: &Params, one: Option<&str>) -> open311::Result<Value> {
    let j = open311::jurisdiction(&s.pool, p).await?;
    let area = s.areas.get(&s.pool, j.area_id).await?;
    let selection = match one {
        Some(id) => open311::Selection::Ids(vec![id.parse().map_err(|_| not_found())?]),
        None => open311::selection(&area, p, chrono::Utc::now())?,
    };
    let list = open311::requests(&s.pool, j.area_id, &area, &selection).await?;
    if one.is_some() && list.as_array().is_some_and(Vec::is_empty) {
        return Err(not_found());
    }
    Ok(list)
}

/// `POST requests.{fmt}`: a report filed by a partner organisation's system
/// with its API key, stored as the app stores one.
async fn file_request(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Response {
    match Format::split(&file) {
        Some(("requests", format)) => {
            answer(format, "service_requests", file_one(&s, ip, q.as_deref(), &body).await)
        }
        Some((_, format)) => answer(format, "", Err(not_found())),
        None => answer(Format::Xml, "", Err(not_found())),
    }
}

fn forbidden(nl: &str, en: &str) -> Open311Error {
    Open311Error::new(403, nl, en)
}

async fn file_one(
    s: &AppState,
    ip: std::net::IpAddr,
    q: Option<&str>,
    body: &[u8],
) -> open311::Result<Value> {
    let fields = open311::form_fields(q, body)?;
    let j = open311::jurisdiction(&s.pool, &Params::from_fields(&fields)).await?;
    let area = s.areas.get(&s.pool, j.area_id).await?;
    let sub = open311::submission(&area, &fields)?;
    let bad_key = || forbidden("ongeldige api_key", "invalid api_key");
    // Keys are made with their own prefix (a phone cannot choose its token's).
    if !sub.api_key.starts_with("kvo311_") {
        return Err(bad_key());
    }
    let p = match auth::device_principal(&s.pool, &s.auth, &sub.api_key).await {
        Ok(p) => p,
        Err(Error::Unauthenticated) => return Err(bad_key()),
        Err(e) => return Err(e.into()),
    };
    // Only a key made for Open311 (not a phone's token), for this area.
    let Via::Device { token_id } = p.via else { return Err(bad_key()) };
    let is_key: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM device_tokens WHERE area_id = $1 AND id = $2 AND device_name = 'Open311')",
    )
    .bind(j.area_id)
    .bind(token_id)
    .fetch_one(&s.pool)
    .await
    .map_err(open311::db)?;
    if !is_key {
        return Err(forbidden("deze api_key hoort niet bij dit gebied", "this api_key is not for this area"));
    }
    if let Err(secs) = s.limits.take(Limit::Reports, Some(&token_id.to_string()), ip) {
        return Err(Open311Error::too_many(secs));
    }
    let now = chrono::Utc::now();
    let ids = open311::submission_ids(token_id, &sub, now);
    if let Some(earlier) = open311::filed_before(&s.pool, j.area_id, ids).await? {
        return Ok(open311::filed(earlier));
    }
    let req = NewIncident {
        id: ids[0],
        area_id: j.area_id,
        category: sub.service_code,
        location: WireLocation { lat: sub.lat, lon: sub.lon, accuracy_m: None },
        occurred_at: now,
        description: sub.description,
        patrol_id: None,
        answers: sub.answers,
        anonymous: false,
        asset_id: None,
    };
    match incidents::create(&s.pool, &s.ingest, &s.areas, s.config.area_margin_m, &p, req).await {
        Ok(Created::New(i) | Created::Existing(i)) => {
            s.metrics.incident_ingested(true);
            Ok(open311::filed(i.id))
        }
        // The same form at the same moment (its id taken by the other).
        Err(incidents::IncidentError::IdTaken(id)) => Ok(open311::filed(id)),
        Err(e) => {
            let text = AppError::from(e).problem();
            let code = if text.en.status >= 500 { 500 } else { 400 };
            Err(Open311Error::new(code, &text.nl.detail, &text.en.detail))
        }
    }
}
