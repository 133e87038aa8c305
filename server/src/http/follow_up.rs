//! The handlers of the follow-up workflow (`crate::follow_up`).

use axum::{
    Json,
    extract::{Path, State},
};
use kvo_api::{
    follow_up::{Assignment, Facts, FollowUp, HandBack, Merge, NewComment, StatusChange, WorkList},
    wire::Problem,
};
use uuid::Uuid;

use super::extract::ApiJson;
use super::{problem::AppResult, state::AppState};
use crate::{auth::Principal, follow_up};

/// An incident's follow-up: status, assignment, police report, damage,
/// history, comments, and what you may do with it.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/follow-up", tag = "follow-up", params(("id" = Uuid, Path)),
    responses((status = 200, body = FollowUp), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn get(State(s): State<AppState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::get(&s.pool, &p, id).await?))
}

/// Change the status: `in_behandeling` (take in hand), `opgelost`, `afgewezen`
/// or `heropend`. Who may is in `docs/follow-up.md`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = StatusChange,
    responses((status = 200, body = FollowUp), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn change_status(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<StatusChange>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::change_status(&s.pool, &p, id, req).await?))
}

/// Assign to a partner organisation, with an optional due date (werkgroep).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assignment", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = Assignment,
    responses((status = 200, body = FollowUp), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn assign(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<Assignment>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::assign(&s.pool, &p, id, req).await?))
}

/// Add a comment.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = NewComment,
    responses((status = 200, body = FollowUp), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn comment(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<NewComment>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::comment(&s.pool, &p, id, req).await?))
}

/// Record whether a police report (aangifte) was filed, and the damage in euros.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/facts", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = Facts,
    responses((status = 200, body = FollowUp), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn set_facts(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<Facts>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::set_facts(&s.pool, &p, id, req).await?))
}

/// Merge this report, a duplicate, into another report of the area
/// (werkgroep). It then no longer counts in maps and analyses.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = Merge,
    responses((status = 200, body = FollowUp), (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn merge(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<Merge>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::merge(&s.pool, &p, id, req).await?))
}

/// Hand a report back to the werkgroep (the organisation it is assigned to), with a note.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/hand-back", tag = "follow-up", params(("id" = Uuid, Path)),
    request_body = HandBack,
    responses((status = 200, body = FollowUp), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn hand_back(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<HandBack>,
) -> AppResult<Json<FollowUp>> {
    Ok(Json(follow_up::hand_back(&s.pool, &p, id, req).await?))
}

/// "Aan ons toegewezen": the open reports assigned to one's organisation in
/// all one's areas, overdue first (empty for roles without an organisation).
#[utoipa::path(get, path = "/api/v1/work-list", tag = "follow-up",
    responses((status = 200, body = WorkList)), security(("bearer" = []), ("cookie" = [])))]
pub async fn work_list(State(s): State<AppState>, p: Principal) -> AppResult<Json<WorkList>> {
    Ok(Json(crate::worklist::of(&s.pool, &p).await?))
}
