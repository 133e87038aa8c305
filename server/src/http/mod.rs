//! The HTTP surface: routes, the middleware stack, operations endpoints and
//! the served map UI.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod extract;
pub mod follow_up;
pub mod metrics;
pub mod open311;
pub mod openapi;
pub mod params;
pub mod patrols;
pub mod problem;
pub mod push;
pub mod registers;
pub mod state;
pub mod v1;

use std::future::Future;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{Html, IntoResponse},
    routing::{delete, get, patch, post, put},
};
use tower_http::{
    catch_panic::CatchPanicLayer, services::ServeDir, set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer, trace::TraceLayer,
};

use self::{problem::render_problems, state::AppState};
use crate::db;

/// JSON bodies are small; 1 MB leaves room for a batch of patrol points.
const JSON_BODY_LIMIT: usize = 1_000_000;

/// The Content-Security-Policy of every response: only our own scripts,
/// styles and data, and the configured basemap's tiles; no framing.
fn csp(cfg: &crate::config::Config) -> String {
    let basemap = cfg.basemap_origin().map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{basemap}; \
         connect-src 'self'{basemap}; worker-src 'self' blob:; font-src 'self' data:; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The whole application, built from its state so tests can run it in-process.
pub fn router(state: AppState) -> Router {
    let cfg = &state.config;
    let api = Router::new()
        .route("/devices/redeem", post(v1::redeem))
        .route("/devices/current", delete(v1::sign_out))
        .route("/session", post(v1::login).delete(v1::logout))
        .route("/me", get(v1::me).delete(v1::remove_me))
        .route("/me/export", get(v1::export_me))
        .route("/me/export.zip", get(v1::export_me_zip))
        .route("/me/sessions", get(v1::my_sessions))
        .route("/me/sign-out-everywhere", post(v1::sign_out_everywhere))
        .route("/areas", post(admin::create_area))
        .route("/areas/{id}", get(v1::area).patch(admin::change_area))
        .route("/areas/{id}/archive", post(admin::archive_area))
        .route("/areas/{id}/zones", post(admin::add_zone))
        .route("/areas/{id}/zones/{zone_id}", patch(admin::change_zone).delete(admin::delete_zone))
        .route("/areas/{id}/categories", get(v1::categories).post(admin::add_category))
        .route("/areas/{id}/categories/{code}", patch(admin::change_category))
        .route("/areas/{id}/category-settings", get(admin::category_settings))
        .route("/areas/{id}/invites", get(admin::invites).post(admin::create_invite))
        .route("/areas/{id}/invites/{invite_id}", delete(admin::revoke_invite))
        .route("/areas/{id}/members", get(admin::members))
        .route("/areas/{id}/members/{person_id}", delete(admin::remove_member))
        .route("/areas/{id}/members/{person_id}/role", put(admin::change_role))
        .route("/areas/{id}/members/{person_id}/password-link", post(admin::reset_link))
        .route("/areas/{id}/devices/{device_id}", delete(admin::revoke_device))
        .route("/areas/{id}/accounts", post(admin::create_account))
        .route("/areas/{id}/open311-keys", post(admin::create_api_key))
        .route("/areas/{id}/open311-endpoint", get(admin::open311_endpoint).put(admin::set_open311_endpoint))
        .route("/areas/{id}/retention", get(admin::retention).put(admin::set_retention))
        .route("/areas/{id}/public-view", get(admin::public_view).put(admin::set_public_view))
        .route("/public/{slug}", get(analytics::public_figures))
        .route("/areas/{id}/audit-log", get(admin::audit_log))
        .route("/password", post(admin::set_password))
        .route("/areas/{id}/heatmap", get(analytics::heatmap))
        .route("/areas/{id}/tiles/{z}/{x}/{y}", get(analytics::tile))
        .route("/areas/{id}/analysis", get(analytics::analysis))
        .route("/areas/{id}/incident-table", get(analytics::incident_table))
        .route("/region/heatmap", get(analytics::region_heatmap))
        .route("/region/areas", get(analytics::region_areas))
        .route("/areas/{id}/export/incidents.csv", get(analytics::export_csv))
        .route("/areas/{id}/export/incidents.geojson", get(analytics::export_geojson))
        .route("/areas/{id}/export/analysis.json", get(analytics::export_analysis))
        .route("/incidents", post(v1::create_incident).get(v1::list_incidents))
        .route("/incidents/{id}", get(v1::get_incident))
        .route("/incidents/{id}/confirmations", post(v1::confirm))
        .route("/areas/{id}/nearby", get(v1::nearby))
        .route("/areas/{id}/assets", get(registers::assets))
        .route("/areas/{id}/assets/nearest", get(registers::nearest))
        .route("/areas/{id}/assets/repeated", get(registers::repeated))
        .route("/push/key", get(push::key))
        .route("/push/subscriptions", post(push::subscribe))
        .route("/push/subscriptions/{id}", delete(push::unsubscribe))
        .route("/areas/{id}/push/preferences", get(push::preferences).put(push::set_preferences))
        .route("/incidents/{id}/follow-up", get(follow_up::get))
        .route("/incidents/{id}/status", post(follow_up::change_status))
        .route("/incidents/{id}/assignment", post(follow_up::assign))
        .route("/incidents/{id}/comments", post(follow_up::comment))
        .route("/incidents/{id}/facts", patch(follow_up::set_facts))
        .route("/incidents/{id}/merge", post(follow_up::merge))
        .route("/incidents/{id}/hand-back", post(follow_up::hand_back))
        .route("/work-list", get(follow_up::work_list))
        .route("/patrols", post(patrols::start_patrol))
        .route("/patrols/{id}", get(patrols::get_patrol))
        .route("/patrols/{id}/points", post(patrols::add_points))
        .route("/patrols/{id}/end", post(patrols::end_patrol))
        .route("/patrols/{id}/report", get(patrols::round_report))
        .route("/checkpoint-scans", post(patrols::scan))
        .route("/areas/{id}/checkpoints", get(patrols::list_checkpoints).post(patrols::add_checkpoint))
        .route("/areas/{id}/checkpoints/sheet", get(patrols::checkpoint_sheet))
        .route("/areas/{id}/checkpoints/hits", get(patrols::checkpoint_hits))
        .route("/areas/{id}/coverage", get(patrols::coverage))
        .route("/areas/{id}/patrols", get(patrols::routes))
        .route("/areas/{id}/checkpoints/{checkpoint_id}", delete(patrols::archive_checkpoint))
        .route("/areas/{id}/round-agreements", get(patrols::list_agreements).post(patrols::add_agreement))
        .route("/areas/{id}/round-agreements/{agreement_id}", delete(patrols::delete_agreement))
        .route("/areas/{id}/rounds/compliance", get(patrols::compliance))
        .route("/openapi.json", get(openapi::serve))
        .route("/ui-config", get(v1::ui_config))
        .fallback(|| async { problem::AppError::Domain(crate::error::Error::NotFound) })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, cfg.request_timeout()));
    let photos = Router::new()
        .route("/incidents/{id}/photos/{photo_id}", put(v1::upload_photo).get(v1::get_photo))
        .route("/incidents/{id}/photos/{photo_id}/thumbnail", get(v1::get_thumbnail))
        .layer(DefaultBodyLimit::max(cfg.max_photo_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, cfg.upload_timeout()));
    // Registers are files of up to 64 MB, read as a whole.
    let imports = Router::new()
        .route("/areas/{id}/registers/{kind}", put(registers::import_register))
        .route("/areas/{id}/streets", put(registers::import_streets))
        .layer(DefaultBodyLimit::max(kvo_api::registers::MAX_FILE_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, cfg.upload_timeout()));
    let map_ui = ServeDir::new(&cfg.map_ui_dir).fallback(get(placeholder));

    Router::new()
        .nest("/api/v1", api.merge(photos).merge(imports))
        .nest("/open311/v2", open311::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .fallback_service(map_ui)
        // Inside the problem renderer, so that even a panic is answered as a problem.
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(middleware::from_fn(render_problems))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp(cfg)).expect("an ASCII policy"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every migration is applied; a
/// problem (503) that says which is not the case otherwise.
async fn readyz(State(s): State<AppState>) -> Result<Json<serde_json::Value>, problem::AppError> {
    match db::migrations_applied(&s.pool).await {
        Ok(true) => Ok(Json(serde_json::json!({"status": "ready"}))),
        Ok(false) => Err(problem::AppError::MigrationsPending),
        Err(e) => {
            tracing::warn!(error = ?e, "readiness check failed");
            Err(problem::AppError::DatabaseUnreachable)
        }
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
}

/// Served at `/` until the map UI has been built into `map_ui_dir`.
async fn placeholder() -> Html<&'static str> {
    Html(include_str!("../../../map-ui/placeholder.html"))
}

/// Serves `state` on `listener` until `shutdown` resolves; in-flight requests
/// are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer's address reaches the handlers (abuse limits per address).
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Starts the background work of a serving process: the rollup compactor,
/// the push worker, the Open311 forwarder and the nightly retention. Each
/// is safe to run in several processes at once.
pub fn spawn_workers(state: &AppState) -> Workers {
    Workers(vec![
        tokio::spawn(crate::analytics::rollup::run_compactor(state.pool.clone())),
        tokio::spawn(crate::push::worker::run(
            state.pool.clone(),
            (*state.vapid).clone(),
            crate::push::worker::Settings::from_config(&state.config),
        )),
        tokio::spawn(crate::retention::nightly(state.pool.clone())),
        tokio::spawn(crate::open311::forward::run(
            state.pool.clone(),
            crate::open311::forward::Forwarder::from_config(&state.config),
        )),
    ])
}

/// The background tasks of a serving process. Dropping this leaves them
/// running; [`Workers::stop`] ends them, which a process does before it
/// closes its database pool.
pub struct Workers(Vec<tokio::task::JoinHandle<()>>);

impl Workers {
    /// Adds another background task to stop with the rest.
    pub fn push(&mut self, task: tokio::task::JoinHandle<()>) {
        self.0.push(task);
    }

    /// Stops every task at its next await point and waits until it has.
    /// Work cut off is safe to repeat: the compactor folds in transactions,
    /// and push deliveries are leased, so an unfinished round is sent again.
    pub async fn stop(self) {
        for t in &self.0 {
            t.abort();
        }
        for t in self.0 {
            let _ = t.await;
        }
    }
}

/// Whether the request's `If-None-Match` names `etag` (a 304 is due): the one
/// conditional-GET check.
pub fn etag_matches(headers: &axum::http::HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag))
}
