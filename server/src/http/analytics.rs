//! The handlers of the aggregate endpoints: heatmap, vector tiles, analysis
//! and exports (see `crate::analytics`).

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use kvo_api::{
    analysis::{Analysis, IncidentTable, PublicView, RegionOverview},
    wire::Problem,
};
use uuid::Uuid;

use super::{
    etag_matches,
    extract::ApiQuery,
    params::{AnalysisParams, FilterParams, HeatmapParams, RowParams, Shape, TableParams},
    problem::{AppError, AppResult},
    state::AppState,
};
use crate::{
    analytics::{
        analysis,
        export::{self, Format},
        heatmap::{self, View},
        region, table,
        tiles::{self, TileId},
    },
    auth::Principal,
};

/// Incident counts per H3 cell as a GeoJSON FeatureCollection (RFC 7946):
/// hexagons with `count` and `share`, or (`shape=points`) cell centres with a
/// `weight` of 0–1 for a heatmap layer. Roles below the werkgroep get cells
/// of at least 3 incidents only.
#[utoipa::path(get, path = "/api/v1/areas/{id}/heatmap", tag = "analysis",
    params(("id" = Uuid, Path), HeatmapParams),
    responses((status = 200, content_type = "application/geo+json", body = Object),
              (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn heatmap(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<HeatmapParams>,
) -> AppResult<Response> {
    let access = p.access(id)?;
    let points = q.shape.unwrap_or_default() == Shape::Points;
    let view = match (q.resolution, q.zoom) {
        (Some(r), _) => View::Resolution(r),
        (None, zoom) => View::Zoom(zoom.unwrap_or(15.0)),
    };
    let body = heatmap::build(&s.pool, &s.areas, &access, &q.filter(), view, points).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json"), (header::CACHE_CONTROL, "private, no-cache")], body)
        .into_response())
}

/// One heatmap across all the areas of the signed-in person (the region
/// view), each area's privacy applied before the counts are added.
#[utoipa::path(get, path = "/api/v1/region/heatmap", tag = "analysis", params(HeatmapParams),
    responses((status = 200, content_type = "application/geo+json", body = Object)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn region_heatmap(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<HeatmapParams>,
) -> AppResult<Response> {
    let points = q.shape.unwrap_or_default() == Shape::Points;
    let view = match (q.resolution, q.zoom) {
        (Some(r), _) => View::Resolution(r),
        (None, zoom) => View::Zoom(zoom.unwrap_or(8.0)),
    };
    let body = region::heatmap_json(&s.pool, &s.areas, &s.region, &p, &q.filter(), view, points).await?;
    Ok(([(header::CONTENT_TYPE, "application/geo+json"), (header::CACHE_CONTROL, "private, no-cache")], body)
        .into_response())
}

/// All the person's areas side by side: the period's count against the one
/// before, open and overdue reports.
#[utoipa::path(get, path = "/api/v1/region/areas", tag = "analysis", params(FilterParams),
    responses((status = 200, body = RegionOverview)), security(("bearer" = []), ("cookie" = [])))]
pub async fn region_areas(
    State(s): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<FilterParams>,
) -> AppResult<Json<RegionOverview>> {
    Ok(Json(region::overview(&s.pool, &s.areas, &p, &q.filter()).await?))
}

/// A Mapbox vector tile of the area's single incidents: layer `incidents`
/// (id, category, status, occurred_at as Unix seconds; at most 5,000, the
/// newest), from zoom 16, for roles that see individual incidents (others get
/// 403; cells at every zoom come from the heatmap). Send `If-None-Match` for a 304.
#[utoipa::path(get, path = "/api/v1/areas/{id}/tiles/{z}/{x}/{y}", tag = "analysis",
    params(("id" = Uuid, Path), ("z" = u8, Path, description = "Zoom 16–22", minimum = 0, maximum = 22), ("x" = u32, Path), ("y" = u32, Path),
           FilterParams),
    responses((status = 200, content_type = "application/vnd.mapbox-vector-tile"), (status = 304),
              (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn tile(
    State(s): State<AppState>,
    p: Principal,
    Path((id, z, x, y)): Path<(Uuid, u8, u32, u32)>,
    ApiQuery(q): ApiQuery<FilterParams>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let access = p.access(id)?;
    let served = tiles::tile(&s.pool, &s.areas, &s.tiles, &access, TileId { z, x, y }, &q.filter()).await?;
    s.metrics.tile_served(served.cached);
    let t = served.tile;
    let etag = HeaderValue::from_str(&t.etag).map_err(anyhow::Error::from)?;
    let cache =
        [(header::ETAG, etag), (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"))];
    if etag_matches(&headers, &t.etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let body = t.bytes.as_ref().clone();
    Ok((
        cache,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.mapbox-vector-tile"))],
        body,
    )
        .into_response())
}

/// The schoon-heel-veilig analysis of a period against the previous period
/// or the nul-meting: theme × dimension × zone with change, hour × weekday,
/// weekly trend, follow-up, and significant hotspots (Getis-Ord Gi*).
#[utoipa::path(get, path = "/api/v1/areas/{id}/analysis", tag = "analysis",
    params(("id" = Uuid, Path), AnalysisParams),
    responses((status = 200, body = Analysis), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn analysis(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<AnalysisParams>,
) -> AppResult<Json<Analysis>> {
    let access = p.access(id)?;
    Ok(Json(analysis::analyse(&s.pool, &s.areas, &access, &q.query()).await?))
}

/// An area's public figures, without signing in (when the area publishes
/// them): the last 52 weeks against the 52 before and the heatmap, counts
/// below 3 hidden; no reports, text, photos or names. Cacheable for 5 minutes.
#[utoipa::path(get, path = "/api/v1/public/{slug}", tag = "analysis", params(("slug" = String, Path)),
    responses((status = 200, body = PublicView), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn public_figures(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    ip: super::extract::ClientIp,
) -> AppResult<Response> {
    super::extract::within_limit(&s, crate::rate_limit::Limit::Public, None, ip)?;
    let view = crate::analytics::public::view(&s.pool, &s.areas, &slug).await?;
    let mut res = Json(view).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(res)
}

/// The filtered incidents as CSV for Dutch Excel (UTF-8 with BOM, `;`,
/// Dutch dates, decimal commas). Werkgroep and partners only.
#[utoipa::path(get, path = "/api/v1/areas/{id}/export/incidents.csv", tag = "analysis",
    params(("id" = Uuid, Path), RowParams),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn export_csv(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<RowParams>,
) -> AppResult<Response> {
    download(&s, &p, id, &q, Format::Csv).await
}

/// The filtered incidents as a GeoJSON FeatureCollection of points.
/// Werkgroep and partners only.
#[utoipa::path(get, path = "/api/v1/areas/{id}/export/incidents.geojson", tag = "analysis",
    params(("id" = Uuid, Path), RowParams),
    responses((status = 200, content_type = "application/geo+json"), (status = 403, body = Problem),
              (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn export_geojson(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<RowParams>,
) -> AppResult<Response> {
    download(&s, &p, id, &q, Format::GeoJson).await
}

/// The analysis as a JSON download.
#[utoipa::path(get, path = "/api/v1/areas/{id}/export/analysis.json", tag = "analysis",
    params(("id" = Uuid, Path), AnalysisParams),
    responses((status = 200, body = Analysis), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn export_analysis(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<AnalysisParams>,
) -> AppResult<Response> {
    let access = p.access(id)?;
    let a = analysis::analyse(&s.pool, &s.areas, &access, &q.query()).await?;
    let name =
        format!("kvo-analyse-{}-{}-tm-{}.json", &id.simple().to_string()[..8], a.period.from, a.period.to);
    Ok(([(header::CONTENT_DISPOSITION, attachment(&name)?)], Json(a)).into_response())
}

async fn download(
    s: &AppState,
    p: &Principal,
    id: Uuid,
    q: &RowParams,
    format: Format,
) -> AppResult<Response> {
    let access = p.access(id)?;
    let (chunks, name) = export::export(&s.pool, &s.areas, &access, &q.filter(), &q.rows(), format).await?;
    let body = axum::body::Body::from_stream(chunks);
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::GeoJson => "application/geo+json",
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, attachment(&name)?),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        body,
    )
        .into_response())
}

/// The werkgroep's incident table: the filtered incidents sorted by any
/// column, a page at a time, with the total (werkgroep and partners).
#[utoipa::path(get, path = "/api/v1/areas/{id}/incident-table", tag = "analysis",
    params(("id" = Uuid, Path), TableParams),
    responses((status = 200, body = IncidentTable), (status = 403, body = Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn incident_table(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiQuery(q): ApiQuery<TableParams>,
) -> AppResult<Json<IncidentTable>> {
    let access = p.access(id)?;
    let t = table::page(
        &s.pool,
        &s.areas,
        &access,
        &q.filter(),
        &q.rows(),
        q.sort.unwrap_or_default(),
        q.order.unwrap_or_default(),
        q.page.unwrap_or(0),
        q.page_size.unwrap_or(50),
    )
    .await?;
    Ok(Json(t))
}

fn attachment(name: &str) -> AppResult<HeaderValue> {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| AppError::from(anyhow::Error::from(e)))
}
