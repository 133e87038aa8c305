//! The public view (issue 16 §3): off until the beheerder switches it on;
//! then anyone reads the area's aggregated figures without signing in —
//! counts below 3 hidden, nothing personal in the answer — cacheable and
//! limited per address.

use kvo_api::{
    Role,
    admin::PublicViewInfo,
    analysis::PublicView,
    wire::{NewIncident, WireLocation},
};
use kvo_tests::{DEVENTER, TestApp, jpeg, report};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn an_area_publishes_its_aggregated_figures_and_nothing_personal() {
    let app = TestApp::spawn_with(|c| c.rate_public_per_minute = 5).await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let (beheerder, werkgroep, ondernemer) = (
        app.device(area, Role::Beheerder).await,
        app.device(area, Role::Werkgroep).await,
        app.device(area, Role::Ondernemer).await,
    );
    // Four thefts in one spot, one lamp elsewhere; with names and a photo.
    for i in 0..4 {
        let r = NewIncident {
            location: WireLocation { lat: 52.2471, lon: 6.1583 + f64::from(i) * 0.00001, accuracy_m: None },
            description: Some(format!("Winkeldief bij bakkerij Jansen, ronde {i}")),
            ..report(area)
        };
        let res = app.post(&ondernemer.token, "/api/v1/incidents", &r).await;
        assert_eq!(res.status(), 201);
        if i == 0 {
            let id = res.json::<kvo_api::wire::Incident>().await.unwrap().id;
            let path = format!("/api/v1/incidents/{id}/photos/{}", Uuid::new_v4());
            assert_eq!(app.put_bytes(&ondernemer.token, &path, jpeg(32, 32)).await.status(), 201);
        }
    }
    let lamp = NewIncident {
        category: "kapotte_verlichting".into(),
        location: WireLocation { lat: 52.2530, lon: 6.1630, accuracy_m: None },
        description: Some("Lamp voor het huis van De Boer".into()),
        ..report(area)
    };
    assert_eq!(app.post(&ondernemer.token, "/api/v1/incidents", &lamp).await.status(), 201);

    let public = "/api/v1/public/binnenstad-deventer";
    assert_eq!(app.client.get(app.url(public)).send().await.unwrap().status(), 404, "off by default");
    let setting = format!("/api/v1/areas/{area}/public-view");
    assert_eq!(app.put(&werkgroep.token, &setting, &json!({"enabled": true})).await.status(), 403);
    let res = app.put(&beheerder.token, &setting, &json!({"enabled": true})).await;
    assert_eq!(res.status(), 200);
    let info: PublicViewInfo = res.json().await.unwrap();
    assert_eq!((info.enabled, info.path.as_str()), (true, public));

    // Without signing in: the figures, cacheable.
    let res = app.client.get(app.url(public)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let text = res.text().await.unwrap();
    let view: PublicView = serde_json::from_str(&text).unwrap();
    assert_eq!(view.name, "Binnenstad Deventer");
    assert_eq!(view.analysis.totals.current, Some(5));
    // Per category: the thefts shown, the lone lamp hidden.
    let count = |code: &str| view.categories.iter().find(|c| c.code == code).map(|c| c.counts.current);
    assert_eq!(
        (count("diefstal"), count("kapotte_verlichting"), count("graffiti")),
        (Some(Some(4)), Some(None), None)
    );
    // The four thefts make a cell; the lone lamp's cell is hidden.
    let cells = view.heatmap["features"].as_array().unwrap();
    let counts: Vec<i64> = cells.iter().map(|f| f["properties"]["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [4], "{text}");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT display_name FROM people").fetch_all(&app.pool).await.unwrap();
    for secret in
        names.iter().map(String::as_str).chain(["Jansen", "De Boer", "/photos/", "reporter", "description"])
    {
        assert!(!text.contains(secret), "the public view shows {secret:?}");
    }

    // Limited per address.
    for _ in 0..3 {
        assert_eq!(app.client.get(app.url(public)).send().await.unwrap().status(), 200);
    }
    let res = app.client.get(app.url(public)).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));

    // Switched off again: gone.
    assert_eq!(app.put(&beheerder.token, &setting, &json!({"enabled": false})).await.status(), 200);
    let app2 = TestApp::start(
        app.pool.clone(),
        tempfile::tempdir().unwrap(),
        app.config.clone().without_rate_limits(),
    )
    .await;
    assert_eq!(app2.client.get(app2.url(public)).send().await.unwrap().status(), 404);
}
