//! Open311 GeoReport v2 as a server (issue 16): every endpoint in XML and
//! JSON, the XML parsed (not string-compared) and held against the JSON;
//! what the public may see of a report; the protocol's own errors.

use std::collections::BTreeSet;

use kvo_api::{
    Role,
    wire::{Incident, NewIncident, WireLocation},
};
use kvo_tests::{DEVENTER, LAGE_WEIDE, TestApp, report};
use serde_json::{Value, json};
use uuid::Uuid;

/// A public GET: status, content type and body.
async fn get(app: &TestApp, path: &str) -> (u16, String, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

async fn json_ok(app: &TestApp, path: &str) -> Value {
    let (status, ct, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(ct, "application/json", "{path}");
    serde_json::from_str(&body).unwrap()
}

/// The XML document at `path`, parsed, as a value of the same shape as the
/// JSON: lists where the JSON has arrays, text for every leaf.
async fn xml_ok(app: &TestApp, path: &str) -> (String, Value) {
    let (status, ct, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(ct.starts_with("text/xml"), "{path}: {ct}");
    let doc = roxmltree::Document::parse(&body).unwrap();
    let root = doc.root_element();
    (root.tag_name().name().to_string(), tree(root))
}

const LISTS: [&str; 7] =
    ["services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"];

fn tree(node: roxmltree::Node) -> Value {
    let children: Vec<_> = node.children().filter(|c| c.is_element()).collect();
    if LISTS.contains(&node.tag_name().name()) {
        return Value::Array(children.into_iter().map(tree).collect());
    }
    if children.is_empty() {
        return json!(node.text().unwrap_or(""));
    }
    Value::Object(children.into_iter().map(|c| (c.tag_name().name().to_string(), tree(c))).collect())
}

/// The JSON with every leaf as the text XML would carry.
fn as_text(v: &Value) -> Value {
    match v {
        Value::Null => json!(""),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => json!(s),
        Value::Array(a) => Value::Array(a.iter().map(as_text).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
    }
}

/// Both formats of `path` (without extension, with query): the JSON, after
/// checking that the XML says the same under `root`.
async fn both(app: &TestApp, path: &str, query: &str, root: &str) -> Value {
    let json = json_ok(app, &format!("{path}.json?{query}")).await;
    let (name, xml) = xml_ok(app, &format!("{path}.xml?{query}")).await;
    assert_eq!(name, root, "{path}");
    assert_eq!(xml, as_text(&json), "{path}: the XML mirrors the JSON");
    json
}

/// An Open311 error in both formats: its code, and the description.
async fn error(app: &TestApp, path: &str, query: &str, status: u16) -> String {
    let (got, ct, body) = get(app, &format!("{path}.json?{query}")).await;
    assert_eq!((got, ct.as_str()), (status, "application/json"), "{path}?{query}: {body}");
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors[0]["code"], status);
    let (got, ct, body) = get(app, &format!("{path}.xml?{query}")).await;
    assert_eq!(got, status, "{body}");
    assert!(ct.starts_with("text/xml"));
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "errors");
    let e = doc.root_element().first_element_child().unwrap();
    assert_eq!(e.tag_name().name(), "error");
    let code = e.children().find(|c| c.has_tag_name("code")).unwrap().text().unwrap();
    assert_eq!(code, status.to_string());
    errors[0]["description"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn open311_serves_services_and_public_requests_in_xml_and_json() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let other = app.area("Lage Weide", LAGE_WEIDE).await;
    let twin = app.area("Binnenstad Deventer", LAGE_WEIDE).await;
    let slug = |id: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT slug FROM areas WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(slug(area).await, "binnenstad-deventer");
    assert_eq!(slug(twin).await, "binnenstad-deventer-2", "a taken slug gets a number");
    assert_eq!(slug(other).await, "lage-weide");
    let j = "jurisdiction_id=binnenstad-deventer";

    // Discovery.
    let d = both(&app, "/open311/v2/discovery", "", "discovery").await;
    assert_eq!(d["endpoints"][0]["formats"], json!(["text/xml", "application/json"]));
    assert!(d["endpoints"][0]["url"].as_str().unwrap().ends_with("/open311/v2"));

    // Services: the enabled categories; metadata where there are questions.
    let ondernemer = app.device(area, Role::Ondernemer).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let disabled = kvo_api::admin::CategoryChange { enabled: Some(false), ..Default::default() };
    kvo_tests::set_category(&app.pool, area, "leegstand", disabled).await;
    app.state.areas.forget(area);
    let services = both(&app, "/open311/v2/services", j, "services").await;
    let codes: BTreeSet<&str> =
        services.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    let enabled: BTreeSet<String> =
        sqlx::query_scalar("SELECT code FROM categories WHERE area_id = $1 AND enabled")
            .bind(area)
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(codes, enabled.iter().map(String::as_str).collect());
    assert!(!codes.contains("leegstand"));
    let service =
        |code: &str| services.as_array().unwrap().iter().find(|s| s["service_code"] == code).unwrap();
    assert_eq!(service("diefstal")["metadata"], true);
    assert_eq!(service("graffiti")["metadata"], false);
    assert_eq!(service("diefstal")["service_name"], "Diefstal / winkeldiefstal");

    // A service definition: the questions as attributes.
    let def = both(&app, "/open311/v2/services/diefstal", j, "service_definition").await;
    let attrs = def["attributes"].as_array().unwrap();
    assert_eq!(attrs.len(), 2);
    assert_eq!(
        (attrs[0]["code"].as_str(), attrs[0]["datatype"].as_str(), attrs[0]["order"].as_i64()),
        (Some("aangifte"), Some("singlevaluelist"), Some(1))
    );
    let keys: Vec<&str> =
        attrs[0]["values"].as_array().unwrap().iter().map(|v| v["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["true", "false"]);
    assert_eq!(attrs[1]["datatype"], "number");
    let vandalisme = both(&app, "/open311/v2/services/vandalisme", j, "service_definition").await;
    assert_eq!(vandalisme["attributes"][0]["datatype"], "multivaluelist");
    error(&app, "/open311/v2/services/leegstand", j, 404).await;
    error(&app, "/open311/v2/services/bestaat_niet", j, 404).await;

    // Two reports with a name and free text in them; one in another area.
    let (lat, lon) = (52.24712, 6.15834);
    let theft = NewIncident {
        category: "diefstal".into(),
        location: WireLocation { lat, lon, accuracy_m: Some(5.0) },
        description: Some("Jan Jansen van de bakkerij zag de dader".parse().unwrap()),
        ..report(area)
    };
    let lamp = NewIncident {
        category: "kapotte_verlichting".into(),
        location: WireLocation { lat: 52.2502, lon: 6.1601, accuracy_m: Some(5.0) },
        description: Some("Lamp bij nummer 12 van mevrouw De Boer".parse().unwrap()),
        ..report(area)
    };
    let mut ids = vec![];
    for r in [&theft, &lamp] {
        let res = app.post(&ondernemer.token, "/api/v1/incidents", r).await;
        assert!(res.status().is_success());
        ids.push(res.json::<Incident>().await.unwrap().id);
    }
    let elsewhere = app.device(other, Role::Ondernemer).await;
    let there =
        NewIncident { location: WireLocation { lat: 52.105, lon: 5.07, accuracy_m: None }, ..report(other) };
    let res = app.post(&elsewhere.token, "/api/v1/incidents", &there).await;
    let foreign = res.json::<Incident>().await.unwrap().id;

    let list = both(&app, "/open311/v2/requests", j, "service_requests").await;
    let list = list.as_array().unwrap();
    let listed: BTreeSet<&str> = list.iter().map(|r| r["service_request_id"].as_str().unwrap()).collect();
    let expected: BTreeSet<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(listed, expected.iter().map(String::as_str).collect(), "the area's own, and only those");
    let by_id = |id: Uuid| list.iter().find(|r| r["service_request_id"] == id.to_string()).unwrap();
    let (t, l) = (by_id(ids[0]), by_id(ids[1]));
    assert_eq!((t["status"].as_str(), t["status_notes"].as_str()), (Some("open"), Some("Nieuw")));
    assert!(t["requested_datetime"].as_str().unwrap().ends_with("+01:00"), "{t}");
    // Veilig: moved to its cell's centre; heel: where it is.
    let (tlat, tlon) = (t["lat"].as_f64().unwrap(), t["long"].as_f64().unwrap());
    assert!((tlat, tlon) != (lat, lon) && (tlat - lat).abs() < 0.002 && (tlon - lon).abs() < 0.003, "{t}");
    assert_eq!((l["lat"].as_f64(), l["long"].as_f64()), (Some(52.2502), Some(6.1601)));
    // Nothing personal in any answer.
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT p.display_name FROM people p JOIN incidents i ON i.reporter_id = p.id WHERE i.area_id = $1",
    )
    .bind(area)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for path in [format!("/open311/v2/requests.json?{j}"), format!("/open311/v2/requests.xml?{j}")] {
        let body = get(&app, &path).await.2;
        for secret in names.iter().map(String::as_str).chain(["Jansen", "De Boer", "/photos/", "reporter"]) {
            assert!(!body.contains(secret), "{path} shows {secret:?}");
        }
    }

    // One request: a list of one; another area's is not found here.
    let one = both(&app, &format!("/open311/v2/requests/{}", ids[1]), j, "service_requests").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0], *l);
    error(&app, &format!("/open311/v2/requests/{foreign}"), j, 404).await;
    error(&app, "/open311/v2/requests/geen-id", j, 404).await;

    // Filters: service_code, status, service_request_id (which overrides the rest).
    let lamps =
        json_ok(&app, &format!("/open311/v2/requests.json?{j}&service_code=kapotte_verlichting&status="))
            .await;
    assert_eq!(lamps.as_array().unwrap().len(), 1);
    assert_eq!(lamps[0]["service_request_id"], ids[1].to_string());
    let closed = json_ok(&app, &format!("/open311/v2/requests.json?{j}&status=closed")).await;
    assert_eq!(closed, json!([]));
    let res = app
        .post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{}/status", ids[1]),
            &json!({"status": "opgelost"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let closed = both(&app, "/open311/v2/requests", &format!("{j}&status=closed"), "service_requests").await;
    assert_eq!(closed[0]["service_request_id"], ids[1].to_string());
    assert_eq!(
        (closed[0]["status"].as_str(), closed[0]["status_notes"].as_str()),
        (Some("closed"), Some("Opgelost"))
    );
    let open = json_ok(&app, &format!("/open311/v2/requests.json?{j}&status=open")).await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let named = json_ok(
        &app,
        &format!("/open311/v2/requests.json?{j}&service_request_id={},{foreign}&status=open", ids[1]),
    )
    .await;
    assert_eq!(named.as_array().unwrap().len(), 1, "the other area's id is not found here");

    // The area opts in to public descriptions: the lamp's shows, the theft's never.
    let beheerder = app.device(area, Role::Beheerder).await;
    let res = app
        .put(
            &beheerder.token,
            &format!("/api/v1/areas/{area}/public-view"),
            &json!({"enabled": false, "open311_descriptions": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let list = both(&app, "/open311/v2/requests", j, "service_requests").await;
    let text = |id: Uuid| {
        list.as_array().unwrap().iter().find(|r| r["service_request_id"] == id.to_string()).unwrap()["description"].clone()
    };
    assert_eq!(text(ids[1]), json!("Lamp bij nummer 12 van mevrouw De Boer"));
    assert_eq!(text(ids[0]), Value::Null, "veilig: never");

    // A period: reports received in it, with the time zone honoured.
    let old = json_ok(
        &app,
        &format!("/open311/v2/requests.json?{j}&start_date=2025-01-01T00:00:00%2B01:00&end_date=2025-03-01T00:00:00Z"),
    )
    .await;
    assert_eq!(old, json!([]));
}

#[tokio::test]
async fn open311_errors_come_in_its_own_format() {
    let app = TestApp::spawn().await;
    app.area("Binnenstad", DEVENTER).await;
    let j = "jurisdiction_id=binnenstad";
    let d = error(&app, "/open311/v2/services", "", 400).await;
    assert!(d.contains("jurisdiction_id"), "{d}");
    error(&app, "/open311/v2/services", "jurisdiction_id=", 400).await;
    error(&app, "/open311/v2/services", "jurisdiction_id=nergens", 404).await;
    error(&app, "/open311/v2/requests", "jurisdiction_id=nergens", 404).await;
    let d = error(&app, "/open311/v2/requests", &format!("{j}&service_code=bestaat_niet"), 400).await;
    assert!(d.contains("service_code"), "{d}");
    let d = error(
        &app,
        "/open311/v2/requests",
        &format!("{j}&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"),
        400,
    )
    .await;
    assert!(d.contains("90"), "{d}");
    let d = error(&app, "/open311/v2/requests", &format!("{j}&start_date=2026-01-01"), 400).await;
    assert!(d.contains("tijdzone"), "{d}");
    error(
        &app,
        "/open311/v2/requests",
        &format!("{j}&end_date=2026-01-01T00:00:00Z&start_date=2026-02-01T00:00:00Z"),
        400,
    )
    .await;
    error(&app, "/open311/v2/requests", &format!("{j}&status=half"), 400).await;
    error(&app, "/open311/v2/requests", &format!("{j}&service_request_id=x"), 400).await;
    error(&app, "/open311/v2/nergens", j, 404).await;
    // An unknown format or path is still Open311's error, in XML.
    for path in ["/open311/v2/services.csv", "/open311/v2/a/b/c"] {
        let (status, ct, body) = get(&app, path).await;
        assert_eq!(status, 404);
        assert!(ct.starts_with("text/xml"), "{path}: {ct}");
        assert_eq!(roxmltree::Document::parse(&body).unwrap().root_element().tag_name().name(), "errors");
    }
}

/// Form fields with their values.
type Form = Vec<(&'static str, String)>;

/// A form POST to `requests.{format}`: status and body.
async fn file(app: &TestApp, format: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = app
        .client
        .post(app.url(&format!("/open311/v2/requests.{format}")))
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn incidents_in(app: &TestApp, area: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM incidents WHERE area_id = $1")
        .bind(area)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partner_system_files_reports_with_its_api_key() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let other = app.area("Lage Weide", LAGE_WEIDE).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let key = api_key(&app, area).await;
    let foreign = api_key(&app, other).await;

    // A theft with its answers; the personal fields are not kept.
    let (status, body) = file(
        &app,
        "json",
        &[
            ("api_key", &key.api_key),
            ("jurisdiction_id", "binnenstad"),
            ("service_code", "diefstal"),
            ("lat", "52.2471"),
            ("long", "6.1583"),
            ("description", "Fiets gestolen bij de ingang"),
            ("attribute[aangifte]", "true"),
            ("attribute[schade_euro]", "120,5"),
            ("email", "melder@example.org"),
            ("first_name", "Piet"),
            ("phone", "0612345678"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let id: Uuid = answer[0]["service_request_id"].as_str().unwrap().parse().unwrap();
    let (category, answers, description, reporter, role): (String, Value, Option<String>, String, String) =
        sqlx::query_as(
            "SELECT i.category, i.answers, i.description, p.display_name, m.role FROM incidents i
               JOIN people p ON p.id = i.reporter_id
               JOIN memberships m ON m.area_id = i.area_id AND m.person_id = i.reporter_id
              WHERE i.area_id = $1 AND i.id = $2",
        )
        .bind(area)
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(category, "diefstal");
    assert_eq!(answers, json!({"aangifte": true, "schade_euro": 120.5}));
    assert_eq!(description.as_deref(), Some("Fiets gestolen bij de ingang"));
    assert_eq!((reporter.as_str(), role.as_str()), ("Open311: Buitendienst Deventer", "gemeente"));
    let kept: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM people WHERE email = 'melder@example.org' OR display_name LIKE '%Piet%')
              + (SELECT count(*) FROM incidents WHERE answers::text LIKE '%0612345678%')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, 0, "no personal field is stored");
    // It is in the public list at once, and in the audit log the key's creation.
    let listed = json_ok(&app, &format!("/open311/v2/requests/{id}.json?jurisdiction_id=binnenstad")).await;
    assert_eq!(listed[0]["service_code"], "diefstal");
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'api_key.create' AND area_id = $1")
            .bind(area)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(logged, 1);

    // XML, with a multivaluelist answer.
    let (status, body) = file(
        &app,
        "xml",
        &[
            ("api_key", &key.api_key),
            ("jurisdiction_id", "binnenstad"),
            ("service_code", "vandalisme"),
            ("lat", "52.2481"),
            ("long", "6.1593"),
            ("attribute[wat][]", "ruit"),
            ("attribute[wat][]", "deur"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let doc = roxmltree::Document::parse(&body).unwrap();
    let id = doc.descendants().find(|n| n.has_tag_name("service_request_id")).unwrap().text().unwrap();
    let answers: Value = sqlx::query_scalar("SELECT answers FROM incidents WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(answers, json!({"wat": ["ruit", "deur"]}));

    // Bad input: the protocol's own errors, and nothing stored.
    let before = incidents_in(&app, area).await;
    let long = "x".repeat(5_000);
    let phone = app.device(area, Role::Gemeente).await;
    let base = |extra: &[(&'static str, &str)]| {
        let mut f: Form = vec![
            ("api_key", key.api_key.clone()),
            ("jurisdiction_id", "binnenstad".into()),
            ("service_code", "diefstal".into()),
            ("lat", "52.2471".into()),
            ("long", "6.1583".into()),
        ];
        for (k, v) in extra {
            f.retain(|(x, _)| x != k);
            f.push((k, v.to_string()));
        }
        f
    };
    let cases: Vec<(Form, u16, &str)> = vec![
        (base(&[("service_code", "bestaat_niet")]), 400, "service_code"),
        (base(&[("service_code", "")]), 400, "service_code"),
        (base(&[("long", "")]), 400, "long"),
        (base(&[("lat", "noord")]), 400, "lat"),
        (base(&[("lat", "52.40")]), 400, "gebied"),
        (base(&[("attribute[lampnummer]", "12")]), 400, "lampnummer"),
        (base(&[("attribute[aangifte]", "misschien")]), 400, "aangifte"),
        (base(&[("attribute[schade_euro]", "-5")]), 400, "schade_euro"),
        (base(&[("description", &long)]), 400, "2000"),
        (base(&[("api_key", "kvo311_verkeerd")]), 403, "api_key"),
        (base(&[("api_key", "")]), 403, "api_key"),
        (base(&[("api_key", &phone.token)]), 403, "api_key"),
        (base(&[("api_key", &foreign.api_key)]), 403, "api_key"),
        (base(&[("jurisdiction_id", "nergens")]), 404, "jurisdiction_id"),
    ];
    for (fields, status, mentions) in cases {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, body) = file(&app, "json", &pairs).await;
        assert_eq!(got, status, "{fields:?}: {body}");
        let e: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        assert_eq!(e[0]["code"], status);
        assert!(e[0]["description"].as_str().unwrap().contains(mentions), "{fields:?}: {body}");
    }
    let (got, body) = file(&app, "xml", &[("api_key", "x"), ("jurisdiction_id", "binnenstad")]).await;
    assert_eq!(got, 400, "{body}");
    assert_eq!(roxmltree::Document::parse(&body).unwrap().root_element().tag_name().name(), "errors");
    assert_eq!(incidents_in(&app, area).await, before, "nothing stored");

    // A revoked key is refused.
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/areas/{area}/devices/{}", key.device_id)))
        .bearer_auth(&beheerder.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let pairs: Form = base(&[]);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(file(&app, "json", &pairs).await.0, 403);
}

/// Over the report limit a partner system gets Open311's own 429, with the
/// wait in `Retry-After` (as every other 429 of the server), and nothing is stored.
#[tokio::test]
async fn a_partner_system_over_the_limit_is_told_when_to_retry() {
    let app = TestApp::spawn_with(|c| c.rate_reports_per_minute = 2).await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let key = api_key(&app, area).await;
    // Three different reports (a repeated form would be one).
    let post = |n: u32| {
        app.client.post(app.url("/open311/v2/requests.json")).form(&[
            ("api_key", key.api_key.as_str()),
            ("jurisdiction_id", "binnenstad"),
            ("service_code", "graffiti"),
            ("lat", "52.2471"),
            ("long", "6.1583"),
            ("description", &format!("tag {n}")),
        ])
    };
    for n in 0..2 {
        assert_eq!(post(n).send().await.unwrap().status(), 200);
    }
    let res = post(2).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["code"], 429);
    assert!(body[0]["description"].as_str().unwrap().contains("probeer het over"), "{body}");
    assert_eq!(incidents_in(&app, area).await, 2);
}

/// A partner system that did not get the answer sends the form again: the
/// same form by the same key is one report (Open311 has no idempotency key),
/// also when both arrive at once; another form is another report.
#[tokio::test]
async fn a_repeated_form_files_one_report() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let key = api_key(&app, area).await;
    let form = |description: &'static str| {
        vec![
            ("api_key", key.api_key.clone()),
            ("jurisdiction_id", "binnenstad".to_string()),
            ("service_code", "graffiti".to_string()),
            ("lat", "52.2471".to_string()),
            ("long", "6.1583".to_string()),
            ("description", description.to_string()),
        ]
    };
    let id = |body: String| -> String {
        let v: Value = serde_json::from_str(&body).unwrap();
        v[0]["service_request_id"].as_str().unwrap().to_string()
    };
    let first = id(post_form(&app, &form("Tag op de gevel")).await);
    let again = id(post_form(&app, &form("Tag op de gevel")).await);
    assert_eq!(first, again, "the repeated form is the same report");
    assert_eq!(incidents_in(&app, area).await, 1);
    let bridge = form("Tag op de brug");
    let (a, b) = tokio::join!(post_form(&app, &bridge), post_form(&app, &bridge));
    assert_eq!(id(a), id(b), "two at once are one report");
    assert_eq!(incidents_in(&app, area).await, 2);
    let other = id(post_form(&app, &form("Tag op de deur")).await);
    assert_ne!(other, first);
    assert_eq!(incidents_in(&app, area).await, 3);
}

/// A form POST to `requests.json` that must succeed: its body.
async fn post_form(app: &TestApp, f: &Form) -> String {
    let res = app.client.post(app.url("/open311/v2/requests.json")).form(f).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// A new Open311 API key of `area`, made by its beheerder.
async fn api_key(app: &TestApp, area: Uuid) -> kvo_api::admin::CreatedApiKey {
    let beheerder = app.device(area, Role::Beheerder).await;
    let res = app
        .post(
            &beheerder.token,
            &format!("/api/v1/areas/{area}/open311-keys"),
            &json!({"name": "Buitendienst Deventer", "organisation": "gemeente"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}
