//! The handlers of Web Push (`crate::push`).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use kvo_api::{
    push::{NewSubscription, PushKey, PushPreferences, Subscription},
    wire::Problem,
};
use uuid::Uuid;

use super::extract::ApiJson;
use super::{problem::AppResult, state::AppState};
use crate::{auth::Principal, push};

/// The server's VAPID public key (`applicationServerKey`).
#[utoipa::path(get, path = "/api/v1/push/key", tag = "push", responses((status = 200, body = PushKey)))]
pub async fn key(State(s): State<AppState>) -> Json<PushKey> {
    Json(PushKey { public_key: s.vapid.public_key() })
}

/// Subscribe a browser to pushes in an area: the body is its
/// `PushSubscription.toJSON()` plus `area_id`. The same endpoint again
/// updates its keys (200).
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "push", request_body = NewSubscription,
    responses((status = 201, body = Subscription), (status = 200, body = Subscription), (status = 400, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn subscribe(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<NewSubscription>,
) -> AppResult<(StatusCode, Json<Subscription>)> {
    let (sub, new) = push::subscribe(&s.pool, &s.config.push_hosts, &p, req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(sub)))
}

/// Unsubscribe (one of your own subscriptions).
#[utoipa::path(delete, path = "/api/v1/push/subscriptions/{id}", tag = "push", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn unsubscribe(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    push::unsubscribe(&s.pool, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What you are told about in this area.
#[utoipa::path(get, path = "/api/v1/areas/{id}/push/preferences", tag = "push", params(("id" = Uuid, Path)),
    responses((status = 200, body = PushPreferences), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn preferences(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<Json<PushPreferences>> {
    Ok(Json(push::preferences(&s.pool, &p.access(id)?).await?))
}

/// Choose what you are told about in this area: new reports of categories
/// (roles that see every report), urgent reports while on duty, status
/// changes of your own reports.
#[utoipa::path(put, path = "/api/v1/areas/{id}/push/preferences", tag = "push", params(("id" = Uuid, Path)),
    request_body = PushPreferences,
    responses((status = 200, body = PushPreferences), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_preferences(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<PushPreferences>,
) -> AppResult<Json<PushPreferences>> {
    Ok(Json(push::set_preferences(&s.pool, &s.areas, &p.access(id)?, req).await?))
}
