//! `/open311/v2/`: GeoReport v2 (see [`crate::open311`]). Paths end in the
//! format (`services.xml`, `requests.json`); errors are Open311's own
//! `<errors>` document, never problem+json.

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::Value;

use super::{problem::OwnErrorFormat, state::AppState};
use crate::open311::{self, Open311Error, Params, format::Format};

/// The Open311 routes, to be nested under `/open311/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(top))
        .route("/services/{file}", get(service))
        .route("/requests/{file}", get(request))
        .fallback(|| async { answer(Format::Xml, "errors", Err(not_found())) })
}

fn not_found() -> Open311Error {
    Open311Error { code: 404, description: "niet gevonden / not found".into() }
}

/// `root` in `format` with status 200, or the error document with the error's status.
fn answer(format: Format, root: &str, body: open311::Result<Value>) -> Response {
    let (status, root, value) = match body {
        Ok(v) => (StatusCode::OK, root, v),
        Err(e) => (StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST), "errors", e.document()),
    };
    let mut res = (status, format.render(root, &value)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if status.is_success() {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    }
    res.extensions_mut().insert(OwnErrorFormat);
    res
}

/// `discovery.{fmt}`, `services.{fmt}` and `requests.{fmt}`.
async fn top(State(s): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Some((name, format)) = Format::split(&file) else { return answer(Format::Xml, "", Err(not_found())) };
    let params = Params::parse(q.as_deref());
    match name {
        "discovery" => {
            let base = s.config.public_url.clone().unwrap_or_else(|| format!("http://{}", s.config.listen));
            answer(format, "discovery", Ok(open311::discovery(&base)))
        }
        "services" => answer(format, "services", services(&s, &params).await),
        "requests" => answer(format, "service_requests", requests(&s, &params, None).await),
        _ => answer(format, "", Err(not_found())),
    }
}

async fn services(s: &AppState, p: &Params) -> open311::Result<Value> {
    let j = open311::jurisdiction(&s.pool, p).await?;
    Ok(open311::services(&*open311::index(&s.pool, &s.areas, &j).await?))
}

/// `services/{code}.{fmt}`: a service definition.
async fn service(State(s): State<AppState>, Path(file): Path<String>, RawQuery(q): RawQuery) -> Response {
    let Some((code, format)) = Format::split(&file) else { return answer(Format::Xml, "", Err(not_found())) };
    let params = Params::parse(q.as_deref());
    let body = async {
        let j = open311::jurisdiction(&s.pool, &params).await?;
        open311::service_definition(&*open311::index(&s.pool, &s.areas, &j).await?, code)
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
    let area = open311::index(&s.pool, &s.areas, &j).await?;
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
