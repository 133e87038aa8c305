//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! wire types' derives.

use axum::Json;
use kvo_api::wire;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr, ResponseBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{admin, analytics, follow_up, patrols, push, registers, v1};

#[derive(OpenApi)]
#[openapi(
    info(title = "KVO meldingen API", version = "1", description = "Incident reports for Keurmerk Veilig Ondernemen areas. Errors are RFC 9457 problem documents, in Dutch unless `Accept-Language: en`."),
    paths(
        v1::redeem, v1::sign_out, v1::login, v1::logout, v1::me, v1::export_me, v1::export_me_zip, v1::remove_me, v1::my_sessions, v1::sign_out_everywhere, v1::ui_config, v1::area, v1::categories,
        v1::create_incident, v1::list_incidents, v1::get_incident, v1::nearby, v1::confirm,
        v1::upload_photo, v1::get_photo, v1::get_thumbnail,
        patrols::start_patrol, patrols::get_patrol, patrols::add_points, patrols::end_patrol, patrols::round_report, patrols::scan,
        patrols::list_checkpoints, patrols::add_checkpoint, patrols::archive_checkpoint, patrols::checkpoint_sheet,
        patrols::list_agreements, patrols::add_agreement, patrols::delete_agreement, patrols::compliance,
        patrols::coverage, patrols::routes, patrols::checkpoint_hits,
        analytics::heatmap, analytics::tile, analytics::analysis,
        analytics::export_csv, analytics::export_geojson, analytics::export_analysis, analytics::incident_table,
        analytics::region_heatmap, analytics::region_areas,
        follow_up::get, follow_up::change_status, follow_up::assign, follow_up::comment,
        follow_up::set_facts, follow_up::merge, follow_up::hand_back, follow_up::work_list,
        push::key, push::subscribe, push::unsubscribe, push::preferences, push::set_preferences,
        admin::create_area, admin::change_area, admin::archive_area, admin::add_zone, admin::change_zone,
        admin::delete_zone, admin::category_settings, admin::change_category, admin::add_category,
        admin::invites, admin::create_invite, admin::revoke_invite, admin::members, admin::change_role,
        admin::remove_member, admin::reset_link, admin::revoke_device, admin::create_account, admin::create_api_key, admin::set_open311_endpoint, admin::open311_endpoint, admin::retention, admin::set_retention, admin::public_view, admin::set_public_view, analytics::public_figures,
        admin::set_password, admin::audit_log,
        registers::import_register, registers::import_streets, registers::nearest, registers::assets,
        registers::repeated,
    ),
    components(schemas(
        wire::Problem, kvo_api::Role, kvo_api::Theme, kvo_api::Dimension, kvo_api::rounds::HourBand,
        kvo_api::analysis::TableSort, kvo_api::analysis::SortOrder,
        kvo_api::CategoryCode,
        super::params::Shape
    )),
    modifiers(&Security, &Problems),
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

/// Operations anyone may call, without a credential.
const PUBLIC: &[(&str, &str)] = &[
    ("post", "/api/v1/devices/redeem"),
    ("post", "/api/v1/session"),
    ("get", "/api/v1/ui-config"),
    ("get", "/api/v1/push/key"),
    ("post", "/api/v1/password"),
];

/// Every error is an RFC 9457 problem document (`application/problem+json`),
/// and every operation documents the statuses any request can meet: a request
/// that cannot be read (400), no valid credential (401, except the public
/// operations), nothing there or not for this principal (404), too slow (408),
/// with a body: over the limit (413) or a value that breaks a rule (422), and the server's own trouble
/// (500, 503). The statuses particular to an operation are in its annotation.
struct Problems;

impl Modify for Problems {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let problem = || Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem"))));
        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(r) = response else { continue };
                    if !(status.starts_with('4') || status.starts_with('5')) {
                        continue;
                    }
                    let content = r.content.shift_remove("application/json").unwrap_or_else(problem);
                    r.content.insert("application/problem+json".into(), content);
                }
                let mut common = vec![
                    ("400", "The request cannot be read (a field, parameter or header is named in `field`)"),
                    ("404", "It does not exist, or it is not for this principal"),
                    ("408", "The request took too long"),
                    ("500", "Internal error (logged; no details)"),
                    ("503", "Temporarily unavailable (the database)"),
                ];
                if !PUBLIC.contains(&(method, path.as_str())) {
                    common.push(("401", "No valid credential"));
                }
                if op.request_body.is_some() {
                    common.push(("413", "The body is larger than allowed"));
                }
                if op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    common.push((
                        "422",
                        "A value, or a combination of values, breaks a rule (the field is named in `field`)",
                    ));
                }
                for (status, description) in common {
                    op.responses.responses.entry(status.into()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content("application/problem+json", problem())
                                .build(),
                        )
                    });
                }
            }
        }
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

    #[test]
    fn the_bearer_token_is_the_first_way_in_everywhere() {
        // The phones' way in comes first. A contract tester reads the first
        // declared scheme it finds in a request: with the cookie first, a
        // generated cookie beside a valid bearer token reads as invalid
        // credentials accepted (schemathesis ST401).
        let doc = serde_json::to_value(super::document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(first) = op["security"].as_array().and_then(|s| s.first()) {
                    assert!(first.get("bearer").is_some(), "{method} {path}: {first}");
                }
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        // Clients generated from the document (the map's types) key operations by id.
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate operationIds");
    }

    #[test]
    fn every_error_is_a_problem_document_and_the_common_statuses_are_documented() {
        let doc = serde_json::to_value(super::document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "404", "500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path}: no {status}");
                }
                for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5'))
                {
                    let types: Vec<&String> = r["content"].as_object().unwrap().keys().collect();
                    assert_eq!(types, ["application/problem+json"], "{method} {path} {status}");
                }
            }
        }
    }
}
