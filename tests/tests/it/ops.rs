use kvo_api::Role;
use kvo_tests::{TestApp, report};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let ready: serde_json::Value =
        app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    app.post(&dev.token, "/api/v1/incidents", &r).await;
    app.post(&dev.token, "/api/v1/incidents", &r).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("kvo_incidents_created_total 1"), "{text}");
    assert!(text.contains("kvo_incidents_replayed_total 1"));
    assert!(
        text.contains(r#"kvo_http_requests_total{method="POST",route="/api/v1/incidents",status="201"} 1"#)
    );
    assert!(
        text.contains("kvo_http_request_duration_seconds_bucket{route=\"/api/v1/incidents\",le=\"+Inf\"} 2")
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_phone_paths() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let doc: serde_json::Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/photos/{photo_id}",
        "/api/v1/incidents/{id}/photos/{photo_id}/thumbnail",
        "/api/v1/areas/{id}/categories",
        "/api/v1/patrols",
        "/api/v1/patrols/{id}/points",
        "/api/v1/patrols/{id}/end",
        "/api/v1/devices/redeem",
        "/api/v1/areas/{id}/heatmap",
        "/api/v1/areas/{id}/tiles/{z}/{x}/{y}",
        "/api/v1/areas/{id}/analysis",
        "/api/v1/areas/{id}/export/incidents.csv",
        "/api/v1/areas/{id}/export/incidents.geojson",
        "/api/v1/areas/{id}/export/analysis.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(paths["/api/v1/incidents"]["post"]["responses"]["409"].is_object());
    assert!(doc["components"]["schemas"]["NewIncident"].is_object());
    assert!(doc["components"]["schemas"]["Analysis"].is_object());
    let heat_params: Vec<&str> = paths["/api/v1/areas/{id}/heatmap"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["from", "to", "category", "theme", "dimension", "status", "resolution", "shape"] {
        assert!(heat_params.contains(&p), "heatmap parameter {p} missing: {heat_params:?}");
    }
}

#[tokio::test]
async fn the_map_ui_is_served_at_the_root() {
    // A built UI (a stand-in with markers of its own): the map at `/`, the
    // reporting app at `/melden/`, its manifest with its media type.
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("melden")).unwrap();
    std::fs::write(dist.path().join("index.html"), "<title>kaart-9f3a</title>").unwrap();
    std::fs::write(dist.path().join("melden/index.html"), "<title>melden-71c2</title>").unwrap();
    std::fs::write(dist.path().join("melden/manifest.webmanifest"), "{}").unwrap();
    let dir = dist.path().to_path_buf();
    let app = TestApp::spawn_with(move |c| c.map_ui_dir = dir).await;
    let body = |path: &'static str| {
        let app = &app;
        async move {
            let res = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let kind = res.headers()["content-type"].to_str().unwrap().to_string();
            (kind, res.text().await.unwrap())
        }
    };
    assert_eq!(body("/").await.1, "<title>kaart-9f3a</title>");
    assert_eq!(body("/melden/").await.1, "<title>melden-71c2</title>");
    assert_eq!(body("/melden/manifest.webmanifest").await.0, "application/manifest+json");
    // Without a build, a placeholder points at the API.
    let app = TestApp::spawn_with(|c| c.map_ui_dir = "/nonexistent-kvo-ui".into()).await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("/api/v1/openapi.json"), "the placeholder");
}
