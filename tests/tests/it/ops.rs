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

/// Issue 18, operations: the 1 MB JSON limit, readiness with a pending
/// migration, keyset paging through equal timestamps, a bounding box.
#[tokio::test]
async fn limits_readiness_paging_and_bounding_boxes() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Werkgroep).await;

    // A body over 1 MB: 413 as a problem, before it is parsed.
    let mut big = serde_json::to_value(report(area)).unwrap();
    big["description"] = serde_json::Value::String("x".repeat(1_100_000));
    let res = app.post(&dev.token, "/api/v1/incidents", &big).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    // Seven reports at exactly the same time: pages of two give each once.
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..7 {
        let mut r = report(area);
        r.occurred_at = at;
        r.location.lat += f64::from(i) * 0.0001;
        assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
        ids.insert(r.id);
    }
    let (mut seen, mut cursor) = (vec![], None::<String>);
    loop {
        let path = format!(
            "/api/v1/incidents?area_id={area}&limit=2{}",
            cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default()
        );
        let page: kvo_api::wire::IncidentPage = app.get(&dev.token, &path).await.json().await.unwrap();
        seen.extend(page.items.iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "no report twice");
    assert_eq!(seen.into_iter().collect::<std::collections::BTreeSet<_>>(), ids);

    // A bounding box around three of them returns those three.
    let bbox = "6.1569,52.2469,6.1571,52.24721";
    let page: kvo_api::wire::IncidentPage = app
        .get(&dev.token, &format!("/api/v1/incidents?area_id={area}&bbox={bbox}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3, "{:?}", page.items.iter().map(|i| i.location).collect::<Vec<_>>());

    // A server on a database one migration behind is not ready (and says why).
    let (pool, _) = kvo_tests::empty_database().await;
    let latest = kvo_server::db::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    kvo_server::db::MIGRATOR.run_to(latest - 1, &pool).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = kvo_server::config::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
    let behind = TestApp::start(pool, dir, config).await;
    let res = behind.client.get(behind.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 503, "{body}");
    assert_eq!(body["type"], "https://kvo-meldingen.nl/problems/migrations-pending", "{body}");
    assert_eq!(body["title"], "Niet gereed", "{body}");
}

/// The server's connections run without parallel query workers (ADR 0023):
/// the rollup's short reads, planned generically after five executions,
/// started workers that cost more than the read itself.
#[tokio::test]
async fn the_servers_connections_start_no_parallel_workers() {
    let app = TestApp::spawn().await;
    let mut conns = vec![];
    for _ in 0..3 {
        conns.push(app.pool.acquire().await.unwrap());
    }
    for conn in &mut conns {
        let workers: String =
            sqlx::query_scalar("SHOW max_parallel_workers_per_gather").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(workers, "0");
    }
}
