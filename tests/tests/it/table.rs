//! The werkgroep's incident table: every sort in both directions, paged,
//! equals a brute-force ordering; the row filters equal brute-force counts;
//! the export gives the rows the table shows.

use kvo_api::{
    Role,
    analysis::{IncidentTable, TableRow},
};
use kvo_tests::{BRINK_ZONE, DEVENTER, TestApp, report};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;
use uuid::Uuid;

async fn all_pages(app: &TestApp, token: &str, area: Uuid, query: &str) -> (i64, Vec<TableRow>) {
    let mut rows = vec![];
    let mut total = 0;
    for page in 0.. {
        let res = app
            .get(token, &format!("/api/v1/areas/{area}/incident-table?{query}&page={page}&page_size=7"))
            .await;
        assert_eq!(res.status(), 200, "{query}");
        let t: IncidentTable = res.json().await.unwrap();
        if t.rows.is_empty() {
            break;
        }
        total = t.total;
        rows.extend(t.rows);
    }
    (total, rows)
}

#[tokio::test]
async fn every_sort_and_filter_pages_through_what_a_brute_force_count_gives() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let brink = kvo_server::admin::on_server::zone(
        &app.pool,
        area,
        "Brink",
        &kvo_server::areas::parse_polygon_geojson(BRINK_ZONE).unwrap(),
    )
    .await
    .unwrap();
    let shop = app.device(area, Role::Ondernemer).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let mut rng = StdRng::seed_from_u64(rand::random());
    let categories = ["diefstal", "graffiti", "vandalisme", "overval"];
    for i in 0..40 {
        let mut r = report(area);
        r.category = categories[rng.random_range(0..categories.len())].into();
        r.location.lat = rng.random_range(52.2455..52.2545);
        r.location.lon = rng.random_range(6.1555..6.1645);
        r.occurred_at = chrono::Utc::now() - chrono::Duration::minutes(rng.random_range(1..20_000));
        assert_eq!(app.post(&shop.token, "/api/v1/incidents", &r).await.status(), 201);
        let path = |x: &str| format!("/api/v1/incidents/{}/{x}", r.id);
        if i % 3 == 0 {
            let org = ["gemeente", "politie"][rng.random_range(0..2)];
            let due = kvo_server::nl_time::today() + chrono::Days::new(rng.random_range(0..30));
            let due = if i % 2 == 0 { Some(due) } else { None };
            app.post(&werkgroep.token, &path("assignment"), &json!({"organisation": org, "due_date": due}))
                .await;
        }
        if i % 4 == 0 {
            let facts = json!({"aangifte": true, "damage_eur": rng.random_range(0..50_000) as f64 / 100.0});
            assert_eq!(
                app.client
                    .patch(app.url(&path("facts")))
                    .bearer_auth(&werkgroep.token)
                    .json(&facts)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        if i % 5 == 0 {
            app.post(&werkgroep.token, &path("status"), &json!({"status": "in_behandeling"})).await;
        }
    }
    let (n, everything) = all_pages(&app, &werkgroep.token, area, "sort=occurred_at").await;
    assert_eq!((n, everything.len()), (40, 40));
    // Every sort, both ways: the pages together are a brute-force sort (nulls last, then id the same way).
    for sort in
        ["occurred_at", "category", "zone", "status", "assigned_to", "due_date", "damage", "confirmations"]
    {
        for order in ["asc", "desc"] {
            let (_, got) =
                all_pages(&app, &werkgroep.token, area, &format!("sort={sort}&order={order}")).await;
            let key = |r: &TableRow| -> Option<String> {
                match sort {
                    "occurred_at" => Some(r.occurred_at.to_rfc3339()),
                    "category" => Some(r.category.clone()),
                    "zone" => r.zone_name.clone(),
                    "status" => Some(r.status.code().to_string()),
                    "assigned_to" => r.assigned_to.map(|o| o.code().to_string()),
                    "due_date" => r.due_date.map(|d| d.to_string()),
                    "damage" => r.damage_eur.map(|d| format!("{:012.2}", d)),
                    _ => Some(format!("{:06}", r.confirmations)),
                }
            };
            let mut want = everything.clone();
            want.sort_by(|a, b| {
                let (ka, kb) = (key(a), key(b));
                let by_key = match (&ka, &kb) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => {
                        if order == "asc" {
                            x.cmp(y)
                        } else {
                            y.cmp(x)
                        }
                    }
                };
                let by_id = if order == "asc" { a.id.cmp(&b.id) } else { b.id.cmp(&a.id) };
                by_key.then(by_id)
            });
            let ids = |v: &[TableRow]| v.iter().map(|r| r.id).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "sort={sort}&order={order}");
        }
    }
    // Row filters against brute-force counts of the full list.
    let count = |f: &dyn Fn(&TableRow) -> bool| everything.iter().filter(|r| f(r)).count() as i64;
    for (query, want) in [
        (format!("zone={brink}"), count(&|r| r.zone_id == Some(brink))),
        ("no_zone=true".to_string(), count(&|r| r.zone_id.is_none())),
        (format!("zone={brink}&no_zone=true"), 40),
        ("assigned_to=gemeente".to_string(), count(&|r| r.assigned_to.map(|o| o.code()) == Some("gemeente"))),
        ("aangifte=true".to_string(), count(&|r| r.aangifte)),
        ("aangifte=false&status=nieuw".to_string(), count(&|r| !r.aangifte && r.status.code() == "nieuw")),
        (
            "category=graffiti,overval".to_string(),
            count(&|r| ["graffiti", "overval"].contains(&r.category.as_str())),
        ),
    ] {
        let (total, rows) = all_pages(&app, &werkgroep.token, area, &query).await;
        assert_eq!((total, rows.len() as i64), (want, want), "{query}");
        // The export of the same filter has the same rows.
        let csv = app
            .get(&werkgroep.token, &format!("/api/v1/areas/{area}/export/incidents.csv?{query}"))
            .await
            .text()
            .await
            .unwrap();
        let mut exported: Vec<&str> = csv.lines().skip(1).map(|l| l.split(';').next().unwrap()).collect();
        let mut shown: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        exported.sort();
        shown.sort();
        assert_eq!(exported, shown, "export of {query}");
    }
    assert!(count(&|r| r.zone_id == Some(brink)) > 0 && count(&|r| r.aangifte) > 0, "the data has both");
    // A page beyond the last is empty and still knows the total.
    let beyond: IncidentTable = app
        .get(&werkgroep.token, &format!("/api/v1/areas/{area}/incident-table?page=99"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((beyond.rows.len(), beyond.total), (0, 40));
    // Not for an ondernemer; a page size out of range is refused.
    assert_eq!(app.get(&shop.token, &format!("/api/v1/areas/{area}/incident-table")).await.status(), 403);
    assert_eq!(
        app.get(&werkgroep.token, &format!("/api/v1/areas/{area}/incident-table?page_size=500"))
            .await
            .status(),
        422
    );
}
