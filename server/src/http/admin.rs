//! The handlers of the beheerder's console: areas, zones, categories,
//! invites, members, devices, web accounts and the audit log. Each one hands
//! the principal to `admin::Admin`, which checks the role for the area.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use kvo_api::{
    admin::{
        AreaChange, AuditPage, CategoryChange, CategorySettings, CreatedAccount, CreatedApiKey,
        CreatedInvite, InviteInfo, MemberInfo, NewAccount, NewApiKey, NewArea, NewCategory, NewInviteRequest,
        NewZone, Open311Endpoint, Open311EndpointInfo, PasswordLink, PublicViewInfo, PublicViewSetting,
        RetentionSetting, RetentionSummary, RoleChange, SetPassword, ZoneChange,
    },
    wire::{Area, Problem, Zone},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    extract::{ApiJson, ApiQuery},
    problem::AppResult,
    state::AppState,
};
use crate::{
    admin::{Admin, Who, people},
    auth::Principal,
};

/// The address links point at: the configured public URL, or else the one
/// the browser used (the console's own origin).
/// The server's public address: the configured one, else the request's host.
pub(super) fn base_url(s: &AppState, headers: &HeaderMap) -> String {
    match &s.config.public_url {
        Some(u) => u.clone(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

/// Administration by the signed-in person `p`.
pub(super) fn admin<'a>(s: &'a AppState, p: &'a Principal, base_url: &'a str) -> Admin<'a> {
    Admin { pool: &s.pool, areas: &s.areas, auth: &s.auth, who: Who::Person(p), base_url }
}

fn created<T: serde::Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Create an area (whoever is beheerder of an area; they become its beheerder).
#[utoipa::path(post, path = "/api/v1/areas", tag = "admin", request_body = NewArea,
    responses((status = 201, body = Area), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_area(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<NewArea>,
) -> AppResult<Response> {
    Ok(created(admin(&s, &p, "").create_area(req).await?))
}

/// Rename an area, change its kind or municipality, or redraw its boundary.
#[utoipa::path(patch, path = "/api/v1/areas/{id}", tag = "admin", params(("id" = Uuid, Path)),
    request_body = AreaChange,
    responses((status = 200, body = Area), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_area(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<AreaChange>,
) -> AppResult<Json<Area>> {
    Ok(Json(admin(&s, &p, "").change_area(area_id, req).await?))
}

/// Archive an area: its data stays, nothing new is accepted.
#[utoipa::path(post, path = "/api/v1/areas/{id}/archive", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Area), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn archive_area(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Area>> {
    Ok(Json(admin(&s, &p, "").archive_area(area_id).await?))
}

/// Draw a zone; the area's incidents inside it move into it.
#[utoipa::path(post, path = "/api/v1/areas/{id}/zones", tag = "admin", params(("id" = Uuid, Path)),
    request_body = NewZone,
    responses((status = 201, body = Zone), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add_zone(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewZone>,
) -> AppResult<Response> {
    Ok(created(admin(&s, &p, "").add_zone(area_id, req).await?))
}

/// Rename or redraw a zone.
#[utoipa::path(patch, path = "/api/v1/areas/{id}/zones/{zone_id}", tag = "admin",
    params(("id" = Uuid, Path), ("zone_id" = Uuid, Path)), request_body = ZoneChange,
    responses((status = 200, body = Zone), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_zone(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, zone_id)): Path<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<ZoneChange>,
) -> AppResult<Json<Zone>> {
    Ok(Json(admin(&s, &p, "").change_zone(area_id, zone_id, req).await?))
}

/// Delete a zone: its incidents count as "zonder zone".
#[utoipa::path(delete, path = "/api/v1/areas/{id}/zones/{zone_id}", tag = "admin",
    params(("id" = Uuid, Path), ("zone_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_zone(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, zone_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    admin(&s, &p, "").delete_zone(area_id, zone_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every category of the area with all its settings (also the disabled ones).
#[utoipa::path(get, path = "/api/v1/areas/{id}/category-settings", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<CategorySettings>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn category_settings(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Vec<CategorySettings>>> {
    Ok(Json(admin(&s, &p, "").category_settings(area_id).await?))
}

/// Change a category: enabled, urgent, duplicate radius and window, questions.
#[utoipa::path(patch, path = "/api/v1/areas/{id}/categories/{code}", tag = "admin",
    params(("id" = Uuid, Path), ("code" = String, Path)), request_body = CategoryChange,
    responses((status = 200, body = CategorySettings), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_category(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, code)): Path<(Uuid, String)>,
    ApiJson(req): ApiJson<CategoryChange>,
) -> AppResult<Json<CategorySettings>> {
    Ok(Json(admin(&s, &p, "").change_category(area_id, &code, req).await?))
}

/// Add the area's own category, mapped to a theme and to schoon/heel/veilig.
#[utoipa::path(post, path = "/api/v1/areas/{id}/categories", tag = "admin", params(("id" = Uuid, Path)),
    request_body = NewCategory,
    responses((status = 201, body = CategorySettings), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add_category(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewCategory>,
) -> AppResult<Response> {
    Ok(created(admin(&s, &p, "").add_category(area_id, req).await?))
}

/// The area's invites (open, used up, expired, revoked).
#[utoipa::path(get, path = "/api/v1/areas/{id}/invites", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<InviteInfo>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn invites(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Vec<InviteInfo>>> {
    Ok(Json(admin(&s, &p, "").invites(area_id).await?))
}

/// Invite phones for a role: the code, link and QR code are shown this once.
#[utoipa::path(post, path = "/api/v1/areas/{id}/invites", tag = "admin", params(("id" = Uuid, Path)),
    request_body = NewInviteRequest,
    responses((status = 201, body = CreatedInvite), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_invite(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewInviteRequest>,
) -> AppResult<Response> {
    let base = base_url(&s, &headers);
    Ok(created(admin(&s, &p, &base).create_invite(area_id, req).await?))
}

/// Revoke an invite.
#[utoipa::path(delete, path = "/api/v1/areas/{id}/invites/{invite_id}", tag = "admin",
    params(("id" = Uuid, Path), ("invite_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn revoke_invite(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, invite_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    admin(&s, &p, "").revoke_invite(area_id, invite_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The area's members with their roles and phones.
#[utoipa::path(get, path = "/api/v1/areas/{id}/members", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<MemberInfo>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn members(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Vec<MemberInfo>>> {
    Ok(Json(admin(&s, &p, "").members(area_id).await?))
}

/// Change a member's role (the last beheerder stays one).
#[utoipa::path(put, path = "/api/v1/areas/{id}/members/{person_id}/role", tag = "admin",
    params(("id" = Uuid, Path), ("person_id" = Uuid, Path)), request_body = RoleChange,
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_role(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, person_id)): Path<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<RoleChange>,
) -> AppResult<StatusCode> {
    admin(&s, &p, "").change_role(area_id, person_id, req.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a person from the area: their phones stop working, their reports stay.
#[utoipa::path(delete, path = "/api/v1/areas/{id}/members/{person_id}", tag = "admin",
    params(("id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn remove_member(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, person_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    admin(&s, &p, "").remove_member(area_id, person_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new one-time link for a member who forgot their password.
#[utoipa::path(post, path = "/api/v1/areas/{id}/members/{person_id}/password-link", tag = "admin",
    params(("id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 201, body = PasswordLink), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn reset_link(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path((area_id, person_id)): Path<(Uuid, Uuid)>,
) -> AppResult<Response> {
    let base = base_url(&s, &headers);
    Ok(created(admin(&s, &p, &base).reset_link(area_id, person_id).await?))
}

/// Revoke a (lost) phone: its next request is refused.
#[utoipa::path(delete, path = "/api/v1/areas/{id}/devices/{device_id}", tag = "admin",
    params(("id" = Uuid, Path), ("device_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn revoke_device(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, device_id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    admin(&s, &p, "").revoke_device(area_id, device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A web account for a werkgroep member or partner; they set their own password.
#[utoipa::path(post, path = "/api/v1/areas/{id}/accounts", tag = "admin", params(("id" = Uuid, Path)),
    request_body = NewAccount,
    responses((status = 201, body = CreatedAccount), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_account(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewAccount>,
) -> AppResult<Response> {
    let base = base_url(&s, &headers);
    Ok(created(admin(&s, &p, &base).create_account(area_id, req).await?))
}

/// An Open311 API key for a partner organisation's system, shown once.
#[utoipa::path(post, path = "/api/v1/areas/{id}/open311-keys", tag = "admin", params(("id" = Uuid, Path)),
    request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn create_api_key(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewApiKey>,
) -> AppResult<Response> {
    Ok(created(admin(&s, &p, "").create_api_key(area_id, req).await?))
}

/// The gemeente's own Open311 endpoint: reports assigned to the gemeente are forwarded there.
#[utoipa::path(put, path = "/api/v1/areas/{id}/open311-endpoint", tag = "admin", params(("id" = Uuid, Path)),
    request_body = Open311Endpoint,
    responses((status = 200, body = Open311EndpointInfo), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_open311_endpoint(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<Open311Endpoint>,
) -> AppResult<Json<Open311EndpointInfo>> {
    Ok(Json(admin(&s, &p, "").set_open311_endpoint(area_id, req, &s.config.open311_hosts).await?))
}

/// The gemeente's Open311 endpoint (without its key) and how forwarding goes.
#[utoipa::path(get, path = "/api/v1/areas/{id}/open311-endpoint", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Open311EndpointInfo), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn open311_endpoint(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Open311EndpointInfo>> {
    Ok(Json(admin(&s, &p, "").open311_endpoint(area_id).await?))
}

/// Whether the area's aggregated figures are public, and where.
#[utoipa::path(get, path = "/api/v1/areas/{id}/public-view", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = PublicViewInfo), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn public_view(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<PublicViewInfo>> {
    Ok(Json(admin(&s, &p, "").public_view(area_id).await?))
}

/// Publish the area's aggregated figures for everyone, or stop.
#[utoipa::path(put, path = "/api/v1/areas/{id}/public-view", tag = "admin", params(("id" = Uuid, Path)),
    request_body = PublicViewSetting,
    responses((status = 200, body = PublicViewInfo), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_public_view(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<PublicViewSetting>,
) -> AppResult<Json<PublicViewInfo>> {
    Ok(Json(admin(&s, &p, "").set_public_view(area_id, req).await?))
}

/// What the retention would remove now (a dry run of the nightly job).
#[utoipa::path(get, path = "/api/v1/areas/{id}/retention", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = RetentionSummary), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn retention(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<RetentionSummary>> {
    Ok(Json(admin(&s, &p, "").retention(area_id).await?))
}

/// Sets the area's retention in months (1–120); answers with its dry run.
#[utoipa::path(put, path = "/api/v1/areas/{id}/retention", tag = "admin", params(("id" = Uuid, Path)),
    request_body = RetentionSetting,
    responses((status = 200, body = RetentionSummary), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_retention(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<RetentionSetting>,
) -> AppResult<Json<RetentionSummary>> {
    Ok(Json(admin(&s, &p, "").set_retention(area_id, req).await?))
}

/// Set one's password with a one-time link's token (no sign-in needed).
#[utoipa::path(post, path = "/api/v1/password", tag = "admin", request_body = SetPassword,
    responses((status = 204)))]
pub async fn set_password(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SetPassword>,
) -> AppResult<StatusCode> {
    people::set_password(&s.pool, &s.auth, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of the audit log.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this one (`next` of the previous page).
    pub before: Option<i64>,
    /// 1–100, default 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The area's audit log, newest first.
#[utoipa::path(get, path = "/api/v1/areas/{id}/audit-log", tag = "admin",
    params(("id" = Uuid, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn audit_log(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    Ok(Json(admin(&s, &p, "").audit_log(area_id, q.before, q.limit).await?))
}
