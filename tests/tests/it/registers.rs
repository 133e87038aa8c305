//! The gemeente's registers through the API (issue 15): importing assets in
//! CSV and GeoJSON, WGS 84 and RD; re-importing without breaking links; the
//! nearest lamp post offered and linked to a lighting report; assets with
//! repeated reports against a brute-force count; streets naming incidents,
//! assets and hotspots; bad files refused with nothing changed.

use kvo_api::{
    Role,
    analysis::IncidentTable,
    registers::{Asset, NearestAsset, RegisterImport, RepeatedAsset, StreetImport},
    wire::{Incident, NewIncident, Problem, WireLocation},
};
use kvo_tests::{DEVENTER, LAGE_WEIDE, TestApp, report};
use serde_json::json;
use uuid::Uuid;

async fn put(app: &TestApp, token: &str, path: &str, body: &str) -> reqwest::Response {
    app.put_bytes(token, path, body.as_bytes().to_vec()).await
}

async fn ok<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> T {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn problem(res: reqwest::Response, status: u16) -> Problem {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// A point in RD New (EPSG:28992), as the gemeente's systems export it.
async fn rd(app: &TestApp, lon: f64, lat: f64) -> (f64, f64) {
    sqlx::query_as(
        "SELECT round(ST_X(g)::numeric, 3)::float8, round(ST_Y(g)::numeric, 3)::float8
           FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 28992) g",
    )
    .bind(lon)
    .bind(lat)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn lighting(area: Uuid, lat: f64, lon: f64, asset: Option<Uuid>) -> NewIncident {
    NewIncident {
        category: "kapotte_verlichting".into(),
        location: WireLocation { lat, lon, accuracy_m: Some(5.0) },
        asset_id: asset,
        ..report(area)
    }
}

async fn live_assets(app: &TestApp, token: &str, area: Uuid) -> Vec<Asset> {
    ok(app.get(token, &format!("/api/v1/areas/{area}/assets?kind=lichtmast")).await).await
}

#[tokio::test]
async fn a_register_is_imported_offered_linked_and_reimported_without_breaking_links() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let ondernemer = app.device(area, Role::Ondernemer).await;
    let register = format!("/api/v1/areas/{area}/registers/lichtmast");

    // Dutch Excel: semicolons, decimal commas; one lamp post in Utrecht.
    let csv = "Nummer;Naam;Lat;Lon\n0412;Brink noord;52,2470;6,1580\n0413;;52,2500;6,1600\n0414;;52,2530;6,1620\nU-1;;52,1000;5,0700\n";
    let first: RegisterImport = ok(put(&app, &beheerder.token, &register, csv).await).await;
    assert_eq!(
        (first.added, first.updated, first.unchanged, first.removed, first.outside_area),
        (3, 0, 0, 0, 1)
    );
    let assets = live_assets(&app, &ondernemer.token, area).await;
    assert_eq!(assets.iter().map(|a| a.external_id.as_str()).collect::<Vec<_>>(), ["0412", "0413", "0414"]);
    let lamp_0412 = assets[0].id;

    // The nearest lamp post is offered for a lighting report, nothing for theft.
    let near: Vec<NearestAsset> = ok(app
        .get(
            &ondernemer.token,
            &format!(
                "/api/v1/areas/{area}/assets/nearest?category=kapotte_verlichting&lat=52.24705&lon=6.15805"
            ),
        )
        .await)
    .await;
    assert_eq!(near.len(), 1, "only 0412 lies within 50 m");
    assert_eq!(near[0].asset.external_id, "0412");
    assert!(near[0].distance_m > 3.0 && near[0].distance_m < 10.0, "{}", near[0].distance_m);
    let theft: Vec<NearestAsset> = ok(app
        .get(
            &ondernemer.token,
            &format!("/api/v1/areas/{area}/assets/nearest?category=diefstal&lat=52.247&lon=6.158"),
        )
        .await)
    .await;
    assert!(theft.is_empty());

    // A lighting report linked to it.
    let linked: Incident = ok(app
        .post(&ondernemer.token, "/api/v1/incidents", &lighting(area, 52.24705, 6.15805, Some(lamp_0412)))
        .await)
    .await;
    let link = linked.asset.clone().expect("the link");
    assert_eq!((link.id, link.external_id.as_str(), link.kind.code()), (lamp_0412, "0412", "lichtmast"));
    // Theft is about no asset; an asset of another area does not exist here.
    let wrong = NewIncident { asset_id: Some(lamp_0412), ..report(area) };
    let p = problem(app.post(&ondernemer.token, "/api/v1/incidents", &wrong).await, 422).await;
    assert_eq!(p.field.as_deref(), Some("asset_id"));
    let elsewhere = app.area("Lage Weide", LAGE_WEIDE).await;
    let other = app.device(elsewhere, Role::Beheerder).await;
    let p = problem(
        app.post(&other.token, "/api/v1/incidents", &lighting(elsewhere, 52.105, 5.07, Some(lamp_0412)))
            .await,
        422,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("asset_id"));

    // Re-imported in RD: 0412 moved 5 m and renamed, 0413 gone, 0415 new.
    let mut rows = String::from("id,x,y,omschrijving\n");
    for (id, lon, lat, name) in [
        ("0412", 6.15807, 52.24703, "Brink noordzijde"),
        ("0414", 6.1620, 52.2530, ""),
        ("0415", 6.1570, 52.2460, ""),
    ] {
        let (x, y) = rd(&app, lon, lat).await;
        rows.push_str(&format!("{id},{x},{y},{name}\n"));
    }
    let second: RegisterImport = ok(put(&app, &beheerder.token, &register, &rows).await).await;
    assert_eq!(second.crs, kvo_api::registers::Crs::Rd);
    assert_eq!(
        (second.added, second.updated, second.unchanged, second.removed, second.outside_area),
        (1, 1, 1, 1, 0),
        "0414 is unchanged: RD and back lands within a centimetre"
    );
    let assets = live_assets(&app, &ondernemer.token, area).await;
    assert_eq!(assets.iter().map(|a| a.external_id.as_str()).collect::<Vec<_>>(), ["0412", "0414", "0415"]);
    assert_eq!(assets[0].id, lamp_0412, "the same asset, updated in place");
    assert_eq!(assets[0].name.as_deref(), Some("Brink noordzijde"));
    assert!((assets[0].lat - 52.24703).abs() < 1e-6 && (assets[0].lon - 6.15807).abs() < 1e-6);
    let again: Incident =
        ok(app.get(&ondernemer.token, &format!("/api/v1/incidents/{}", linked.id)).await).await;
    assert_eq!(again.asset.map(|a| a.id), Some(lamp_0412), "the report keeps its link");
    // The same file again changes nothing.
    let third: RegisterImport = ok(put(&app, &beheerder.token, &register, &rows).await).await;
    assert_eq!((third.added, third.updated, third.unchanged, third.removed), (0, 0, 3, 0));
    // A removed asset comes back with its old id when it reappears.
    let removed_id: Uuid = sqlx::query_scalar("SELECT id FROM assets WHERE external_id = '0413'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let fourth: RegisterImport = ok(put(&app, &beheerder.token, &register, csv).await).await;
    assert_eq!((fourth.added, fourth.updated, fourth.removed), (0, 2, 1), "0412 back, 0413 back, 0415 gone");
    let back = live_assets(&app, &ondernemer.token, area).await;
    assert_eq!(back.iter().find(|a| a.external_id == "0413").map(|a| a.id), Some(removed_id));

    // Each import is in the audit log with its summary.
    let logged: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE area_id = $1 AND action = 'register.import' ORDER BY seq",
    )
    .bind(area)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(logged.len(), 4);
    assert_eq!(logged[1]["import"]["removed"], 1);
}

#[tokio::test]
async fn assets_with_repeated_reports_equal_a_brute_force_count() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let ondernemer = app.device(area, Role::Ondernemer).await;
    let geojson = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "0412", "geometry": {"type": "Point", "coordinates": [6.158, 52.247]}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.160, 52.250]}, "properties": {"nummer": "0413"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.162, 52.253]}, "properties": {"nummer": "0414"}},
    ]});
    let _: RegisterImport = ok(put(
        &app,
        &beheerder.token,
        &format!("/api/v1/areas/{area}/registers/lichtmast"),
        &geojson.to_string(),
    )
    .await)
    .await;
    let ids: Vec<(String, Uuid)> = sqlx::query_as("SELECT external_id, id FROM assets ORDER BY external_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    // 0412: four reports (one of them closed), 0413: two, 0414: one.
    for (n, (_, id)) in [4, 2, 1].into_iter().zip(&ids) {
        for _ in 0..n {
            let r: Incident = ok(app
                .post(&ondernemer.token, "/api/v1/incidents", &lighting(area, 52.25, 6.16, Some(*id)))
                .await)
            .await;
            let _ = r;
        }
    }
    sqlx::query(
        "UPDATE incidents SET status = 'opgelost'
          WHERE id = (SELECT id FROM incidents WHERE asset_id = $1 LIMIT 1)",
    )
    .bind(ids[0].1)
    .execute(&app.pool)
    .await
    .unwrap();

    let path = format!("/api/v1/areas/{area}/assets/repeated");
    let list: Vec<RepeatedAsset> = ok(app.get(&werkgroep.token, &path).await).await;
    let brute: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT a.external_id, count(*), count(*) FILTER (WHERE i.status <> 'opgelost')
           FROM incidents i JOIN assets a ON a.id = i.asset_id
          GROUP BY a.external_id HAVING count(*) >= 2 ORDER BY count(*) DESC",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let got: Vec<(String, i64, i64)> =
        list.iter().map(|r| (r.asset.external_id.clone(), i64::from(r.reports), i64::from(r.open))).collect();
    assert_eq!(got, brute);
    assert_eq!(got[0], ("0412".to_string(), 4, 3));
    let at_least_3: Vec<RepeatedAsset> =
        ok(app.get(&werkgroep.token, &format!("{path}?min_reports=3")).await).await;
    assert_eq!(at_least_3.len(), 1);
    // A period before the reports holds none.
    let old: Vec<RepeatedAsset> =
        ok(app.get(&werkgroep.token, &format!("{path}?from=2025-01-01&to=2025-06-30")).await).await;
    assert!(old.is_empty());
    // Who may: not an ondernemer (no counts per asset), nobody of another area.
    problem(app.get(&ondernemer.token, &path).await, 403).await;
    let elsewhere = app.area("Lage Weide", LAGE_WEIDE).await;
    let stranger = app.device(elsewhere, Role::Werkgroep).await;
    problem(app.get(&stranger.token, &path).await, 404).await;
    problem(app.get(&stranger.token, &format!("/api/v1/areas/{area}/assets")).await, 404).await;
    let p = problem(app.get(&werkgroep.token, &format!("{path}?min_reports=1")).await, 422).await;
    assert_eq!(p.field.as_deref(), Some("min_reports"));
    let p =
        problem(app.get(&werkgroep.token, &format!("{path}?from=2026-06-01&to=2026-01-01")).await, 422).await;
    assert_eq!(p.field.as_deref(), Some("from"));
}

#[tokio::test]
async fn streets_name_incidents_assets_and_table_rows() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    // Two named streets across the area, one unnamed path, one street far away.
    let streets = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[6.150, 52.2470], [6.170, 52.2470]]},
         "properties": {"straatnaam": "Brink"}},
        {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [[[6.1600, 52.2450], [6.1600, 52.2550]]]},
         "properties": {"openbareruimtenaam": "Bergstraat"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[6.156, 52.252], [6.157, 52.253]]},
         "properties": {}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[5.07, 52.10], [5.08, 52.10]]},
         "properties": {"naam": "Ver weg"}},
    ]});
    let path = format!("/api/v1/areas/{area}/streets");
    let imported: StreetImport = ok(put(&app, &beheerder.token, &path, &streets.to_string()).await).await;
    assert_eq!((imported.streets, imported.unnamed, imported.outside_area), (2, 1, 1));
    // The Brink line is clipped to the area (plus 25 m), not stored whole.
    let length_m: f64 =
        sqlx::query_scalar("SELECT ST_Length(geom::geography) FROM streets WHERE name = 'Brink'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(length_m > 700.0 && length_m < 760.0, "{length_m}");

    // 11 m from the Brink: named; 30 m from the Bergstraat and 300 m from the Brink: the Bergstraat.
    let brink: Incident = ok(app
        .post(
            &werkgroep.token,
            "/api/v1/incidents",
            &NewIncident {
                location: WireLocation { lat: 52.2471, lon: 6.1570, accuracy_m: Some(5.0) },
                ..report(area)
            },
        )
        .await)
    .await;
    assert_eq!(brink.street.as_deref(), Some("Brink"), "named in the answer to the report");
    let berg: Incident = ok(app
        .post(
            &werkgroep.token,
            "/api/v1/incidents",
            &NewIncident {
                location: WireLocation { lat: 52.2500, lon: 6.16044, accuracy_m: Some(5.0) },
                ..report(area)
            },
        )
        .await)
    .await;
    assert_eq!(berg.street.as_deref(), Some("Bergstraat"));
    let nowhere: Incident = ok(app
        .post(
            &werkgroep.token,
            "/api/v1/incidents",
            &NewIncident {
                location: WireLocation { lat: 52.2535, lon: 6.1630, accuracy_m: Some(5.0) },
                ..report(area)
            },
        )
        .await)
    .await;
    assert_eq!(nowhere.street, None, "no street within 60 m");
    let read: Incident =
        ok(app.get(&werkgroep.token, &format!("/api/v1/incidents/{}", brink.id)).await).await;
    assert_eq!(read.street.as_deref(), Some("Brink"));
    let table: IncidentTable =
        ok(app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/incident-table?sort=occurred_at")).await)
            .await;
    let mut named: Vec<Option<String>> = table.rows.iter().map(|r| r.street.clone()).collect();
    named.sort();
    assert_eq!(named, [None, Some("Bergstraat".into()), Some("Brink".into())]);

    // An asset on the Brink is named by it.
    let csv = "id,lat,lon\nL1,52.24695,6.1590\n";
    let _: RegisterImport =
        ok(put(&app, &beheerder.token, &format!("/api/v1/areas/{area}/registers/lichtmast"), csv).await)
            .await;
    let assets = live_assets(&app, &werkgroep.token, area).await;
    assert_eq!(assets[0].street.as_deref(), Some("Brink"));
    // A lighting report about it; the exports carry the street and the asset.
    let lamp: Incident = ok(app
        .post(
            &werkgroep.token,
            "/api/v1/incidents",
            &NewIncident {
                category: "kapotte_verlichting".into(),
                location: WireLocation { lat: 52.2470, lon: 6.1591, accuracy_m: Some(5.0) },
                asset_id: Some(assets[0].id),
                ..report(area)
            },
        )
        .await)
    .await;
    let csv = app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/export/incidents.csv")).await;
    let csv = csv.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(";bevestigingen;straat;object"), "{header}");
    let row = csv.lines().find(|l| l.starts_with(&lamp.id.to_string())).unwrap();
    assert!(row.ends_with(";Brink;lichtmast L1"), "{row}");
    let row = csv.lines().find(|l| l.starts_with(&nowhere.id.to_string())).unwrap();
    assert!(row.ends_with(";;"), "no street, no asset: {row}");
    let fc: serde_json::Value =
        ok(app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/export/incidents.geojson")).await).await;
    let f =
        fc["features"].as_array().unwrap().iter().find(|f| f["properties"]["id"] == json!(lamp.id)).unwrap();
    assert_eq!(f["properties"]["street"], "Brink");
    assert_eq!(
        f["properties"]["asset"],
        json!({"id": assets[0].id, "kind": "lichtmast", "external_id": "L1"})
    );

    // A re-import replaces the streets.
    let renamed = streets.to_string().replace("\"Brink\"", "\"De Brink\"");
    let _: StreetImport = ok(put(&app, &beheerder.token, &path, &renamed).await).await;
    let read: Incident =
        ok(app.get(&werkgroep.token, &format!("/api/v1/incidents/{}", brink.id)).await).await;
    assert_eq!(read.street.as_deref(), Some("De Brink"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM streets").fetch_one(&app.pool).await.unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn bad_register_files_get_a_clear_problem_and_change_nothing() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let beheerder = app.device(area, Role::Beheerder).await;
    let t = &beheerder.token;
    let register = format!("/api/v1/areas/{area}/registers/lichtmast");
    let _: RegisterImport = ok(put(&app, t, &register, "id,lat,lon\nA,52.25,6.16\n").await).await;
    let state = || async {
        let a: i64 = sqlx::query_scalar("SELECT count(*) FROM assets WHERE removed_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let l: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&app.pool).await.unwrap();
        (a, l)
    };
    let before = state().await;
    for (file, words) in [
        ("naam,lat,lon\nx,52.25,6.16\n", "kolom ‘id’"),
        ("id,lat,lon\nA,52.25,6.16\nA,52.251,6.16\n", "twee keer"),
        ("id,lat,lon\nA,52.25,6.16\nB,52.251\n", "regel 3"),
        ("id,lat,lon\nA,52.25,zes\n", "‘zes’ is geen getal"),
        ("id,lat,lon\nA,6.16,52.25\n", "omgewisseld"),
        ("id,x,y\nA,6.16,52.25\nB,208000,473000\n", "RD-coördinaten"),
        (
            "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[6.16,52.25],[6.161,52.25]]},\"properties\":{\"id\":\"A\"}}]}",
            "Point",
        ),
        ("{\"type\": \"FeatureCollection\"", "geen geldige GeoJSON"),
        ("", "leeg"),
    ] {
        let p = problem(put(&app, t, &register, file).await, 422).await;
        assert!(p.detail.contains(words), "{file:?}: {}", p.detail);
    }
    let p = problem(app.put_bytes(t, &register, vec![0xff, 0xfe, 0x41]).await, 422).await;
    assert!(p.detail.contains("UTF-8"), "{}", p.detail);
    let p = problem(
        put(&app, t, &format!("/api/v1/areas/{area}/streets"), "id,lat,lon\nA,52.25,6.16\n").await,
        422,
    )
    .await;
    assert!(p.detail.contains("GeoJSON"), "{}", p.detail);
    // In English too.
    let res = app
        .client
        .put(app.url(&register))
        .bearer_auth(t)
        .header("accept-language", "en")
        .body("id,lat,lon\nA,52.25,6.16\nA,52.251,6.16\n")
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert!(p.detail.contains("appears twice"), "{}", p.detail);
    assert_eq!(state().await, before, "nothing stored, nothing logged");

    // Only the beheerder of this area; an unknown kind is no path.
    let mut others = vec![];
    for role in [Role::Werkgroep, Role::Ondernemer, Role::Gemeente] {
        others.push(app.device(area, role).await);
    }
    let elsewhere = app.area("Lage Weide", LAGE_WEIDE).await;
    let other = app.device(elsewhere, Role::Beheerder).await;
    let before = state().await;
    for who in &others {
        problem(put(&app, &who.token, &register, "id,lat,lon\nB,52.25,6.16\n").await, 403).await;
    }
    problem(put(&app, &other.token, &register, "id,lat,lon\nB,52.25,6.16\n").await, 404).await;
    problem(
        put(&app, t, &format!("/api/v1/areas/{area}/registers/brievenbus"), "id,lat,lon\nB,52.25,6.16\n")
            .await,
        400,
    )
    .await;
    assert_eq!(state().await, before);
}
