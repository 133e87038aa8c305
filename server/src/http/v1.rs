//! The handlers of API v1. Each one parses, calls the module that does the
//! work, and shapes the answer; the OpenAPI document is generated from the
//! annotations here.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use kvo_api::{
    Location,
    wire::{
        Area, CategoryList, Confirmed, DeviceSession, Incident, IncidentPage, Login, Me, Nearby,
        NewConfirmation, NewIncident, Photo, Problem, RedeemInvite, SignedIn, UiConfig,
    },
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    auth::{SESSION_COOKIE, raw_credential},
    etag_matches,
    extract::{ApiJson, ApiQuery, ClientIp, ContentDigest, RawBody, within_limit},
    params::{ListParams, NearbyParams},
};
use super::{problem::AppResult, state::AppState};
use crate::{
    areas,
    auth::{self, Principal},
    duplicates,
    error::Error,
    incidents::{self, Created},
    photos::{self, Rendition, Stored},
    rate_limit::Limit,
};

/// Redeem an invite code for a device token.
#[utoipa::path(post, path = "/api/v1/devices/redeem", tag = "access", request_body = RedeemInvite,
    responses((status = 201, body = DeviceSession), (status = 400, body = Problem), (status = 429, body = Problem)))]
pub async fn redeem(
    State(s): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RedeemInvite>,
) -> AppResult<Response> {
    within_limit(&s, Limit::Redeem, None, ip)?;
    let session =
        auth::redeem_invite(&s.pool, &req.code, req.display_name.as_deref(), req.device_name.as_deref())
            .await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

/// Sign this device out (revokes its token).
#[utoipa::path(delete, path = "/api/v1/devices/current", tag = "access",
    responses((status = 204), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn sign_out(State(s): State<AppState>, p: Principal, parts: Parts) -> AppResult<StatusCode> {
    let raw = raw_credential(&parts).ok_or(Error::Unauthenticated)?;
    auth::revoke(&s.pool, &s.auth, &p, raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Web sign-in: sets an HttpOnly, SameSite=Strict session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "access", request_body = Login,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(s): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<Login>,
) -> AppResult<Response> {
    within_limit(&s, Limit::SignIn, None, ip)?;
    let (token, p) = auth::login(&s.pool, &req.email, &req.password).await?;
    let me = auth::me(&s.pool, &p).await?;
    let secure = if s.config.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_COOKIE,
        auth::SESSION_TTL.num_seconds()
    );
    let mut res = Json(me).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?);
    Ok(res)
}

/// Web sign-out: revokes the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "access", responses((status = 204)))]
pub async fn logout(State(s): State<AppState>, p: Principal, parts: Parts) -> AppResult<Response> {
    let raw = raw_credential(&parts).ok_or(Error::Unauthenticated)?;
    auth::revoke(&s.pool, &s.auth, &p, raw).await?;
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", SESSION_COOKIE);
    Ok(([(header::SET_COOKIE, clear)], StatusCode::NO_CONTENT).into_response())
}

/// What the map UI needs before sign-in: the configured basemap.
#[utoipa::path(get, path = "/api/v1/ui-config", tag = "access", responses((status = 200, body = UiConfig)))]
pub async fn ui_config(State(s): State<AppState>) -> Json<UiConfig> {
    let url = s.config.basemap_url.trim();
    Json(UiConfig {
        basemap_url: (!url.is_empty()).then(|| url.to_string()),
        basemap_attribution: s.config.basemap_attribution.clone(),
        heat_zoom_breaks: crate::analytics::cells::ZOOM_BREAKS.to_vec(),
    })
}

/// Who is signed in, and in which areas with which role.
#[utoipa::path(get, path = "/api/v1/me", tag = "access",
    responses((status = 200, body = Me), (status = 401, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn me(State(s): State<AppState>, p: Principal) -> AppResult<Json<Me>> {
    Ok(Json(auth::me(&s.pool, &p).await?))
}

/// Where I am signed in: my phones and web sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "access",
    responses((status = 200, body = Vec<SignedIn>), (status = 401, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn my_sessions(State(s): State<AppState>, p: Principal) -> AppResult<Json<Vec<SignedIn>>> {
    Ok(Json(auth::signed_in(&s.pool, &p).await?))
}

/// Sign me out everywhere: every phone and web session, this one too (a lost phone, a shared computer).
#[utoipa::path(post, path = "/api/v1/me/sign-out-everywhere", tag = "access",
    responses((status = 204), (status = 401, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn sign_out_everywhere(State(s): State<AppState>, p: Principal) -> AppResult<StatusCode> {
    auth::sign_out_everywhere(&s.pool, &s.auth, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything stored about me (AVG): one JSON document, with links to my photos.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "access",
    responses((status = 200, body = Object), (status = 401, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn export_me(State(s): State<AppState>, p: Principal) -> AppResult<Response> {
    let doc = crate::my_data::export(&s.pool, &p).await?;
    let mut res = Json(doc).into_response();
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"mijn-gegevens-kvo-meldingen.json\""),
    );
    Ok(res)
}

/// Everything stored about me with my photos, as one ZIP file (`mijn-gegevens.json`, `fotos/…`).
#[utoipa::path(get, path = "/api/v1/me/export.zip", tag = "access",
    responses((status = 200, content_type = "application/zip"), (status = 401, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn export_me_zip(State(s): State<AppState>, p: Principal) -> AppResult<Response> {
    let zip = crate::my_data::export_zip(&s.photos, &p).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"mijn-gegevens-kvo-meldingen.zip\""),
            ),
        ],
        zip,
    )
        .into_response())
}

/// Remove me (AVG): I leave every area, my phones and sessions stop, my
/// reports are anonymised (not deleted), my name and e-mail address go.
#[utoipa::path(delete, path = "/api/v1/me", tag = "access",
    responses((status = 204), (status = 401, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn remove_me(State(s): State<AppState>, p: Principal) -> AppResult<StatusCode> {
    super::admin::admin(&s, &p, "").remove_myself().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An area with its boundary and zones.
#[utoipa::path(get, path = "/api/v1/areas/{id}", tag = "areas", params(("id" = Uuid, Path)),
    responses((status = 200, body = Area), (status = 404, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn area(State(s): State<AppState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Area>> {
    p.access(id)?;
    Ok(Json(areas::get_area(&s.pool, id).await?))
}

/// The area's enabled categories. Send `If-None-Match` with the last ETag to get 304.
#[utoipa::path(get, path = "/api/v1/areas/{id}/categories", tag = "areas", params(("id" = Uuid, Path)),
    responses((status = 200, body = CategoryList), (status = 304), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn categories(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> AppResult<Response> {
    p.access(id)?;
    let list = areas::categories(&s.pool, id).await?;
    let body = serde_json::to_vec(&list).map_err(anyhow::Error::from)?;
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let cache = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "private, no-cache".to_string())];
    if etag_matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Report an incident. Idempotent on `id`: a new id gives 201; the same id
/// with the same body gives 200 and the stored incident; a different body 409.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = NewIncident,
    responses((status = 201, body = Incident), (status = 200, body = Incident), (status = 409, body = Problem),
              (status = 422, body = Problem), (status = 400, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_incident(
    State(s): State<AppState>,
    p: Principal,
    ip: ClientIp,
    ApiJson(req): ApiJson<NewIncident>,
) -> AppResult<Response> {
    within_limit(&s, Limit::Reports, Some(&p), ip)?;
    let created = incidents::create(&s.pool, &s.ingest, &s.areas, s.config.area_margin_m, &p, req).await?;
    s.metrics.incident_ingested(matches!(created, Created::New(_)));
    Ok(match created {
        Created::New(i) => (StatusCode::CREATED, Json(i)).into_response(),
        Created::Existing(i) => (StatusCode::OK, Json(i)).into_response(),
    })
}

/// Open reports of a category near a point ("al gemeld in de buurt"), asked
/// before sending. Only category, time, status and distance are shown.
#[utoipa::path(get, path = "/api/v1/areas/{id}/nearby", tag = "incidents", params(("id" = Uuid, Path), NearbyParams),
    responses((status = 200, body = Nearby), (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn nearby(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<NearbyParams>,
) -> AppResult<Json<Nearby>> {
    let loc = Location::new(q.lat, q.lon, None)?;
    let items = duplicates::nearby(&s.pool, &s.areas, &p, id, q.category.as_str(), loc).await?;
    Ok(Json(Nearby { items }))
}

/// "Dit is dezelfde": confirm an existing report instead of reporting it
/// again. Idempotent on `id`, and counted once per person.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/confirmations", tag = "incidents", params(("id" = Uuid, Path)),
    request_body = NewConfirmation,
    responses((status = 200, body = Confirmed), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn confirm(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<NewConfirmation>,
) -> AppResult<Json<Confirmed>> {
    Ok(Json(duplicates::confirm(&s.pool, &p, id, req).await?))
}

/// Incidents you may see, newest first, with keyset paging.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, body = IncidentPage), (status = 400, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_incidents(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> AppResult<Json<IncidentPage>> {
    Ok(Json(incidents::list(&s.pool, &p, &q.query()).await?))
}

/// One incident with its photos.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = Uuid, Path)),
    responses((status = 200, body = Incident), (status = 404, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn get_incident(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Incident>> {
    Ok(Json(incidents::get(&s.pool, &p, id).await?))
}

/// Upload a photo of an incident as the raw body (JPEG, PNG or WebP, at most
/// 15 MB and 40 megapixels). Idempotent on the photo id and the body's SHA-256.
/// Send `Content-Digest: sha-256=:<base64>:` (RFC 9530): a body that does not
/// match it is refused with 400 before anything is stored, and is sent again.
#[utoipa::path(put, path = "/api/v1/incidents/{id}/photos/{photo_id}", tag = "photos",
    params(("id" = Uuid, Path), ("photo_id" = Uuid, Path),
           ("Content-Digest" = Option<String>, Header, description = "sha-256=:<base64>: of the body (RFC 9530)",
            pattern = "^sha-256=:[A-Za-z0-9+/]{43}=:$")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = Photo), (status = 200, body = Photo), (status = 400, body = Problem),
              (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn upload_photo(
    State(s): State<AppState>,
    p: Principal,
    Path((id, photo_id)): Path<(Uuid, Uuid)>,
    ip: ClientIp,
    ContentDigest(digest): ContentDigest,
    RawBody(body): RawBody,
) -> AppResult<Response> {
    within_limit(&s, Limit::Photos, Some(&p), ip)?;
    let stored = photos::upload(&s.photos, &p, id, photo_id, body, digest).await?;
    if let Stored::New(ph) = &stored {
        s.metrics.photo_ingested(ph.bytes as u64);
    }
    Ok(match stored {
        Stored::New(ph) => (StatusCode::CREATED, Json(ph)).into_response(),
        Stored::Existing(ph) => (StatusCode::OK, Json(ph)).into_response(),
    })
}

/// The stored (re-encoded, metadata-free) photo.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/photos/{photo_id}", tag = "photos",
    params(("id" = Uuid, Path), ("photo_id" = Uuid, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn get_photo(
    State(s): State<AppState>,
    p: Principal,
    Path((id, photo_id)): Path<(Uuid, Uuid)>,
) -> AppResult<Response> {
    photo_response(photos::read(&s.photos, &p, id, photo_id, Rendition::Full).await?)
}

/// The photo's 320 px thumbnail (JPEG).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/photos/{photo_id}/thumbnail", tag = "photos",
    params(("id" = Uuid, Path), ("photo_id" = Uuid, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn get_thumbnail(
    State(s): State<AppState>,
    p: Principal,
    Path((id, photo_id)): Path<(Uuid, Uuid)>,
) -> AppResult<Response> {
    photo_response(photos::read(&s.photos, &p, id, photo_id, Rendition::Thumbnail).await?)
}

fn photo_response((bytes, content_type, sha): (Vec<u8>, String, String)) -> AppResult<Response> {
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::ETAG, format!("\"{sha}\"")),
            // Content-addressed, so it never changes; private, because it is area data.
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".into()),
        ],
        bytes,
    )
        .into_response())
}
