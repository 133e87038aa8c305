//! The region view: one heatmap and one table across all of a person's areas,
//! each area's privacy applied before anything is added, and no area of
//! someone else's in it.

use std::collections::HashMap;

use kvo_api::{Role, analysis::RegionOverview};
use kvo_tests::{DEVENTER, TestApp, report};
use serde_json::{Value, json};

#[tokio::test]
async fn the_region_adds_up_each_area_under_its_own_rules() {
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad", DEVENTER).await;
    let b = app.area("Bedrijvenpark", DEVENTER).await;
    let c = app.area("Niet van mij", DEVENTER).await;
    let pw = "regio-wachtwoord";
    kvo_server::admin::people::upsert_web_user(
        &app.pool,
        "regio@example.org",
        "Regio",
        pw,
        a,
        Role::Werkgroep,
    )
    .await
    .unwrap();
    kvo_server::admin::people::upsert_web_user(
        &app.pool,
        "regio@example.org",
        "Regio",
        pw,
        b,
        Role::Ondernemer,
    )
    .await
    .unwrap();
    let cookie = app.web_session("regio@example.org", pw).await;
    // (area, lat, lon, how many)
    let spots = [
        (a, 52.2465, 6.1565, 5),
        (a, 52.2535, 6.1635, 1),
        (b, 52.2465, 6.1565, 2), // same cell as A's five; B shows aggregates of ≥ 3 only
        (b, 52.2500, 6.1600, 4),
        (c, 52.2500, 6.1600, 10), // never in this person's region
    ];
    let mut expected: HashMap<String, i64> = HashMap::new();
    for (area, lat, lon, n) in spots {
        let shop = app.device(area, Role::Ondernemer).await;
        for _ in 0..n {
            let mut r = report(area);
            r.location.lat = lat;
            r.location.lon = lon;
            assert_eq!(app.post(&shop.token, "/api/v1/incidents", &r).await.status(), 201);
        }
        let cell = h3o::LatLng::new(lat, lon).unwrap().to_cell(h3o::Resolution::Nine).to_string();
        // A's in full (werkgroep); B's only from 3 on (ondernemer); C's never.
        let shown = if area == a || (area == b && n >= 3) { n } else { 0 };
        if shown > 0 {
            *expected.entry(cell).or_default() += shown;
        }
    }
    let get = |path: &str| app.client.get(app.url(path)).header("cookie", &cookie).send();
    let fc: Value = get("/api/v1/region/heatmap?resolution=9").await.unwrap().json().await.unwrap();
    let got: HashMap<String, i64> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["cell"].as_str().unwrap().to_string(),
                f["properties"]["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected, "A in full, B's small cell hidden, C not at all");
    assert_eq!(fc["total"], 10);
    assert_eq!(fc["suppressed_below"], 3);
    // The same after the deltas are folded into the rollup.
    kvo_server::analytics::rollup::compact(&app.pool).await.unwrap();
    let fc: Value = get("/api/v1/region/heatmap?resolution=9").await.unwrap().json().await.unwrap();
    assert_eq!(fc["total"], 10);

    // The table of areas: counts, the previous period, open and overdue.
    let wg = app.device(a, Role::Werkgroep).await;
    let first: Value =
        app.get(&wg.token, &format!("/api/v1/incidents?area_id={a}&limit=1")).await.json().await.unwrap();
    let id = first["items"][0]["id"].as_str().unwrap().to_string();
    let due = kvo_server::nl_time::today() + chrono::Days::new(3);
    app.post(
        &wg.token,
        &format!("/api/v1/incidents/{id}/assignment"),
        &json!({"organisation": "gemeente", "due_date": due}),
    )
    .await;
    sqlx::query("UPDATE incidents SET due_date = current_date - 1 WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let o: RegionOverview = get("/api/v1/region/areas").await.unwrap().json().await.unwrap();
    let rows: Vec<_> =
        o.areas.iter().map(|r| (r.name.as_str(), r.role, r.current, r.previous, r.open, r.overdue)).collect();
    assert_eq!(
        rows,
        [
            ("Bedrijvenpark", Role::Ondernemer, Some(6), None, Some(6), None),
            ("Binnenstad", Role::Werkgroep, Some(6), Some(0), Some(6), Some(1)),
        ]
    );
    assert_eq!(o.period.to, kvo_server::nl_time::today());
    assert_eq!((o.period.to - o.period.from).num_days(), (o.previous.to - o.previous.from).num_days());
    // A new report shows at once (the cached answer knows its areas' data version).
    let shop = app.device(a, Role::Ondernemer).await;
    assert_eq!(app.post(&shop.token, "/api/v1/incidents", &report(a)).await.status(), 201);
    let fc: Value = get("/api/v1/region/heatmap?resolution=9").await.unwrap().json().await.unwrap();
    assert_eq!(fc["total"], 11);
    // A phone's token reaches its one area only: its region is that area.
    let phone = app.device(c, Role::Werkgroep).await;
    let fc: Value = app.get(&phone.token, "/api/v1/region/heatmap?resolution=9").await.json().await.unwrap();
    assert_eq!(fc["total"], 10);
}
