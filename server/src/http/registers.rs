//! The handlers of the gemeente's registers: importing an asset register or
//! the street centrelines (the beheerder), the assets near a reporter, the
//! assets for the map, and the assets with repeated reports.

use axum::{
    Json,
    extract::{Path, State},
};
use chrono::NaiveDate;
use kvo_api::{
    CategoryCode, Location,
    registers::{Asset, AssetKind, NearestAsset, RegisterImport, RepeatedAsset, StreetImport},
    wire::Problem,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    extract::{ApiQuery, RawBody},
    problem::AppResult,
    state::AppState,
};
use crate::{
    admin::{Admin, Who},
    auth::Principal,
    registers,
};

fn admin<'a>(s: &'a AppState, p: &'a Principal) -> Admin<'a> {
    Admin { pool: &s.pool, areas: &s.areas, auth: &s.auth, who: Who::Person(p), base_url: "" }
}

/// Import (or re-import) the area's register of one kind of asset: a
/// GeoJSON FeatureCollection of Points, or a CSV with a header (`id`,
/// optional `naam`, and `lat`/`lon` or RD `x`/`y`; comma, semicolon or tab
/// separated), at most 64 MB and 200,000 rows. Rows outside the area are left
/// out and counted; an asset with the same id is updated in place (its
/// reports keep their link); one no longer in the file is marked removed.
#[utoipa::path(put, path = "/api/v1/areas/{id}/registers/{kind}", tag = "registers",
    params(("id" = Uuid, Path), ("kind" = AssetKind, Path)),
    request_body(content = String, description = "GeoJSON or CSV",
        content(("text/csv"), ("application/geo+json"))),
    responses((status = 200, body = RegisterImport), (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn import_register(
    State(s): State<AppState>,
    p: Principal,
    Path((area_id, kind)): Path<(Uuid, AssetKind)>,
    RawBody(body): RawBody,
) -> AppResult<Json<RegisterImport>> {
    Ok(Json(admin(&s, &p).import_register(area_id, kind, &body).await?))
}

/// Replace the area's street centrelines: a GeoJSON FeatureCollection of
/// LineStrings and MultiLineStrings named by `straatnaam`,
/// `openbareruimtenaam`, `stt_naam`, `naam` or `name` (WGS 84 or RD), clipped
/// to the area. Places are named by the nearest street within 60 m.
#[utoipa::path(put, path = "/api/v1/areas/{id}/streets", tag = "registers", params(("id" = Uuid, Path)),
    request_body(content = String, description = "GeoJSON", content_type = "application/geo+json"),
    responses((status = 200, body = StreetImport), (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn import_streets(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    RawBody(body): RawBody,
) -> AppResult<Json<StreetImport>> {
    Ok(Json(admin(&s, &p).import_streets(area_id, &body).await?))
}

/// `GET /areas/{id}/assets/nearest`: where the reporter is and what they report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NearestParams {
    /// The category about to be reported.
    #[param(value_type = CategoryCode)]
    pub category: CategoryCode,
    /// Latitude, -90..90.
    #[param(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, -180..180.
    #[param(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// The position's accuracy in metres (widens the search by at most 50 m).
    #[param(minimum = 0.0, maximum = 10000.0)]
    pub accuracy_m: Option<f64>,
}

/// The assets a report of a category may be about near a point, nearest
/// first (at most 3, within 50 m plus the accuracy): a lighting report gets
/// the nearest lamp posts offered. Empty for a category about no asset.
#[utoipa::path(get, path = "/api/v1/areas/{id}/assets/nearest", tag = "registers",
    params(("id" = Uuid, Path), NearestParams),
    responses((status = 200, body = Vec<NearestAsset>), (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn nearest(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<NearestParams>,
) -> AppResult<Json<Vec<NearestAsset>>> {
    let loc = Location::new(q.lat, q.lon, q.accuracy_m)?;
    Ok(Json(registers::nearest(&s.pool, &p, area_id, q.category.as_str(), loc).await?))
}

/// `GET /areas/{id}/assets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetParams {
    /// Only this kind.
    pub kind: Option<AssetKind>,
}

/// The area's assets still in the register, for the map.
#[utoipa::path(get, path = "/api/v1/areas/{id}/assets", tag = "registers", params(("id" = Uuid, Path), AssetParams),
    responses((status = 200, body = Vec<Asset>)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn assets(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<AssetParams>,
) -> AppResult<Json<Vec<Asset>>> {
    Ok(Json(registers::list(&s.pool, &p, area_id, q.kind).await?))
}

/// `GET /areas/{id}/assets/repeated`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RepeatedParams {
    /// First day (Dutch calendar); default six months before `to`.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive; default today.
    pub to: Option<NaiveDate>,
    /// At least this many reports, 2–100 (default 2).
    #[param(minimum = 2, maximum = 100)]
    pub min_reports: Option<u32>,
}

/// Assets with repeated reports in the period, most first ("lichtmast 0412:
/// 4 meldingen in 6 maanden"). For the roles that see individual reports.
#[utoipa::path(get, path = "/api/v1/areas/{id}/assets/repeated", tag = "registers",
    params(("id" = Uuid, Path), RepeatedParams),
    responses((status = 200, body = Vec<RepeatedAsset>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn repeated(
    State(s): State<AppState>,
    p: Principal,
    Path(area_id): Path<Uuid>,
    ApiQuery(q): ApiQuery<RepeatedParams>,
) -> AppResult<Json<Vec<RepeatedAsset>>> {
    Ok(Json(registers::repeated(&s.pool, &p, area_id, q.from, q.to, q.min_reports).await?))
}
