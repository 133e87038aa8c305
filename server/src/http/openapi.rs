//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! wire types' derives.

use axum::Json;
use kvo_api::wire;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{analytics, follow_up, push, v1};

#[derive(OpenApi)]
#[openapi(
    info(title = "KVO meldingen API", version = "1", description = "Incident reports for Keurmerk Veilig Ondernemen areas. Errors are RFC 9457 problem documents, in Dutch unless `Accept-Language: en`."),
    paths(
        v1::redeem, v1::sign_out, v1::login, v1::logout, v1::me, v1::ui_config, v1::area, v1::categories,
        v1::create_incident, v1::list_incidents, v1::get_incident, v1::nearby, v1::confirm,
        v1::upload_photo, v1::get_photo, v1::get_thumbnail,
        v1::start_patrol, v1::get_patrol, v1::add_points, v1::end_patrol,
        analytics::heatmap, analytics::tile, analytics::analysis,
        analytics::export_csv, analytics::export_geojson, analytics::export_analysis,
        follow_up::get, follow_up::change_status, follow_up::assign, follow_up::comment,
        follow_up::set_facts, follow_up::merge,
        push::key, push::subscribe, push::unsubscribe, push::preferences, push::set_preferences,
    ),
    components(schemas(wire::Problem, kvo_api::Role, kvo_api::Theme, kvo_api::Dimension, super::params::Shape)),
    modifiers(&Security),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::auth::SESSION_COOKIE))),
        );
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_reference_resolves() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let missing: Vec<&str> = text
            .split("#/components/schemas/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or_default())
            .filter(|name| !schemas.contains_key(*name))
            .collect();
        assert!(missing.is_empty(), "unresolved $refs: {missing:?}");
    }
}
