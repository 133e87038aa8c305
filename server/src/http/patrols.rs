//! The handlers of the beveiliger's work: patrols, checkpoints and their
//! scans, the agreed rounds, compliance and the round report.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{Duration, NaiveDate};
use kvo_api::{
    rounds::{
        Checkpoint, CheckpointHits, Compliance, HourBand, NewCheckpoint, NewRoundAgreement, NewScan,
        PatrolReport, RoundAgreement, Scan,
    },
    wire::{EndPatrol, NewPatrol, Patrol, Problem, RoutePoints},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    extract::{ApiJson, ApiQuery},
    problem::AppResult,
    state::AppState,
};
use crate::{
    areas,
    auth::Principal,
    nl_time,
    patrols::{self, agreements, checkpoints, report, scans},
};

fn created<T: serde::Serialize>(new: bool, body: T) -> Response {
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(body)).into_response()
}

/// Start a patrol (surveillanceronde). Idempotent on `id`.
#[utoipa::path(post, path = "/api/v1/patrols", tag = "patrols", request_body = NewPatrol,
    responses((status = 201, body = Patrol), (status = 200, body = Patrol), (status = 403, body = Problem),
              (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn start_patrol(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<NewPatrol>,
) -> AppResult<Response> {
    let (new, patrol) = patrols::start(&s.pool, &p, req).await?;
    Ok(created(new, patrol))
}

/// A patrol with its route so far (not for ondernemers).
#[utoipa::path(get, path = "/api/v1/patrols/{id}", tag = "patrols", params(("id" = Uuid, Path)),
    responses((status = 200, body = Patrol), (status = 403, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn get_patrol(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Patrol>> {
    Ok(Json(patrols::read(&s.pool, &p, id).await?))
}

/// Append route points (idempotent: a point is identified by its time).
#[utoipa::path(post, path = "/api/v1/patrols/{id}/points", tag = "patrols", params(("id" = Uuid, Path)),
    request_body = RoutePoints, responses((status = 200, body = Patrol), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_points(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<RoutePoints>,
) -> AppResult<Json<Patrol>> {
    Ok(Json(patrols::add_points(&s.pool, &p, id, req).await?))
}

/// End a patrol; its route line is stored.
#[utoipa::path(post, path = "/api/v1/patrols/{id}/end", tag = "patrols", params(("id" = Uuid, Path)),
    request_body = EndPatrol, responses((status = 200, body = Patrol)), security(("bearer" = [])))]
pub async fn end_patrol(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<EndPatrol>,
) -> AppResult<Json<Patrol>> {
    Ok(Json(patrols::end(&s.pool, &p, id, req.ended_at).await?))
}

/// The round report of a patrol: route, duration, distance, checkpoints hit
/// and missed, findings with their photos.
#[utoipa::path(get, path = "/api/v1/patrols/{id}/report", tag = "patrols", params(("id" = Uuid, Path)),
    responses((status = 200, body = PatrolReport), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn round_report(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<Json<PatrolReport>> {
    Ok(Json(report::of_patrol(&s.pool, &p, id).await?))
}

/// A guard scanned a checkpoint's tag. Idempotent on `id`; a scan far from
/// its checkpoint or outside a patrol is stored, flagged.
#[utoipa::path(post, path = "/api/v1/checkpoint-scans", tag = "patrols", request_body = NewScan,
    responses((status = 201, body = Scan), (status = 200, body = Scan), (status = 403, body = Problem),
              (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn scan(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<NewScan>,
) -> AppResult<Response> {
    let (new, scan) = scans::record(&s.pool, &p, req).await?;
    Ok(created(new, scan))
}

/// Query of the checkpoint list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckpointQuery {
    /// Also archived checkpoints. Default: false.
    #[serde(default)]
    pub archived: bool,
}

/// The area's checkpoints.
#[utoipa::path(get, path = "/api/v1/areas/{id}/checkpoints", tag = "patrols",
    params(("id" = Uuid, Path), CheckpointQuery),
    responses((status = 200, body = Vec<Checkpoint>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_checkpoints(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> AppResult<Json<Vec<Checkpoint>>> {
    Ok(Json(checkpoints::list(&s.pool, &p, area_id, q.archived).await?))
}

/// Register a checkpoint (beheerder); its tag id is generated.
#[utoipa::path(post, path = "/api/v1/areas/{id}/checkpoints", tag = "patrols", params(("id" = Uuid, Path)),
    request_body = NewCheckpoint, responses((status = 201, body = Checkpoint), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add_checkpoint(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewCheckpoint>,
) -> AppResult<Response> {
    let c = checkpoints::register(&s.pool, &s.areas, &p, area_id, req).await?;
    Ok(created(true, c))
}

/// Archive a checkpoint (beheerder): its scans stay, its tag takes no new ones.
#[utoipa::path(delete, path = "/api/v1/areas/{id}/checkpoints/{checkpoint_id}", tag = "patrols",
    params(("id" = Uuid, Path), ("checkpoint_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn archive_checkpoint(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    checkpoints::archive(&s.pool, &p, area_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The checkpoints' QR codes as a page to print and hang up.
#[utoipa::path(get, path = "/api/v1/areas/{id}/checkpoints/sheet", tag = "patrols", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn checkpoint_sheet(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Response> {
    let list = checkpoints::list(&s.pool, &p, area_id, false).await?;
    let area = areas::get_area(&s.pool, area_id).await?;
    let html = checkpoints::sheet_html(&area.name, &list)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// The area's agreed rounds.
#[utoipa::path(get, path = "/api/v1/areas/{id}/round-agreements", tag = "patrols", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<RoundAgreement>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_agreements(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
) -> AppResult<Json<Vec<RoundAgreement>>> {
    Ok(Json(agreements::list(&s.pool, &p, area_id).await?))
}

/// Agree rounds (beheerder): a nightly window, how many rounds, past which checkpoints.
#[utoipa::path(post, path = "/api/v1/areas/{id}/round-agreements", tag = "patrols", params(("id" = Uuid, Path)),
    request_body = NewRoundAgreement,
    responses((status = 201, body = RoundAgreement), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add_agreement(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiJson(req): ApiJson<NewRoundAgreement>,
) -> AppResult<Response> {
    Ok(created(true, agreements::create(&s.pool, &p, area_id, req).await?))
}

/// End an agreement (beheerder).
#[utoipa::path(delete, path = "/api/v1/areas/{id}/round-agreements/{agreement_id}", tag = "patrols",
    params(("id" = Uuid, Path), ("agreement_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem)), security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_agreement(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, id)): Path<(Uuid, Uuid)>,
) -> AppResult<StatusCode> {
    agreements::delete(&s.pool, &p, area_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The nights of a compliance request.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// First night (YYYY-MM-DD, the evening the window opens), inclusive. Default: 6 nights before `to`.
    pub from: Option<NaiveDate>,
    /// Last night, inclusive. Default: last night (yesterday's evening).
    pub to: Option<NaiveDate>,
}

/// Rounds walked against every agreement, per night and per ISO week.
#[utoipa::path(get, path = "/api/v1/areas/{id}/rounds/compliance", tag = "patrols",
    params(("id" = Uuid, Path), ComplianceQuery),
    responses((status = 200, body = Compliance), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn compliance(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<ComplianceQuery>,
) -> AppResult<Json<Compliance>> {
    let to = q.to.unwrap_or_else(|| nl_time::today() - Duration::days(1));
    let from = q.from.unwrap_or(to - Duration::days(6));
    Ok(Json(agreements::report(&s.pool, &p, area_id, from, to).await?))
}

/// A period of Dutch days, for the map's patrol layers.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LayerQuery {
    /// First day (YYYY-MM-DD), inclusive. Default: 27 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD), inclusive. Default: today.
    pub to: Option<NaiveDate>,
    /// Coverage only: one quarter of the day. Default: the whole day.
    pub band: Option<HourBand>,
}

impl LayerQuery {
    fn period(&self) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or_else(nl_time::today);
        (self.from.unwrap_or(to - Duration::days(27)), to)
    }
}

/// Coverage against risk: per cell, incidents and patrol passes in the
/// period (optionally one hour band), as GeoJSON hexagons.
#[utoipa::path(get, path = "/api/v1/areas/{id}/coverage", tag = "patrols", params(("id" = Uuid, Path), LayerQuery),
    responses((status = 200, content_type = "application/geo+json", body = Object), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn coverage(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<LayerQuery>,
) -> AppResult<Response> {
    let (from, to) = q.period();
    let fc = patrols::coverage::cells(&s.pool, &p, area_id, from, to, q.band).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response())
}

/// The routes of the patrols that started in the period (at most 31 days), as GeoJSON lines.
#[utoipa::path(get, path = "/api/v1/areas/{id}/patrols", tag = "patrols", params(("id" = Uuid, Path), LayerQuery),
    responses((status = 200, content_type = "application/geo+json", body = Object), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn routes(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<LayerQuery>,
) -> AppResult<Response> {
    let (from, to) = q.period();
    let fc = patrols::coverage::routes(&s.pool, &p, area_id, from, to).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response())
}

/// Each active checkpoint with its hit rate in the period.
#[utoipa::path(get, path = "/api/v1/areas/{id}/checkpoints/hits", tag = "patrols", params(("id" = Uuid, Path), LayerQuery),
    responses((status = 200, body = Vec<CheckpointHits>), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn checkpoint_hits(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<LayerQuery>,
) -> AppResult<Json<Vec<CheckpointHits>>> {
    let (from, to) = q.period();
    Ok(Json(patrols::coverage::hits(&s.pool, &p, area_id, from, to).await?))
}
