//! Retention (issue 16 §3): on a data set with known ages, the personal data
//! of reports closed longer ago than the area's retention goes — reporter,
//! description, text answers, history notes, comments, photos, and the
//! phones of people who left — while every count of the analysis stays;
//! the dry run says beforehand exactly what the run removes.

use chrono::{Months, Utc};
use kvo_api::{
    Role,
    admin::RetentionSummary,
    follow_up::FollowUp,
    wire::{Incident, NewIncident, WireLocation},
};
use kvo_server::retention::{self, ANONYMOUS};
use kvo_tests::{DEVENTER, TestApp, jpeg, report};
use serde_json::{Value, json};
use uuid::Uuid;

async fn summary(app: &TestApp, token: &str, area: Uuid) -> RetentionSummary {
    let res = app.get(token, &format!("/api/v1/areas/{area}/retention")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// A report as stored: id, reporter, description, answers, anonymised at.
type Stored = (Uuid, Uuid, Option<String>, Value, Option<chrono::DateTime<Utc>>);

async fn analysis(app: &TestApp, token: &str, area: Uuid) -> Value {
    let res = app.get(token, &format!("/api/v1/areas/{area}/analysis")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn closed_reports_lose_their_personal_data_after_the_retention_and_every_count_stays() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let (beheerder, werkgroep, ondernemer) = (
        app.device(area, Role::Beheerder).await,
        app.device(area, Role::Werkgroep).await,
        app.device(area, Role::Ondernemer).await,
    );
    let leaver = app.device(area, Role::Ondernemer).await;

    // The retention: 24 months by default; nonsense refused, nothing changed.
    let retention = format!("/api/v1/areas/{area}/retention");
    assert_eq!(summary(&app, &beheerder.token, area).await.months, 24);
    for bad in [
        json!({"months": 0}),
        json!({"months": -6}),
        json!({"months": -1538.0}),
        json!({"months": 121}),
        json!({"months": 1.5}),
    ] {
        let res = app.put(&beheerder.token, &retention, &bad).await;
        // A whole number out of range is 422; one that is not whole, 400.
        let expected = if bad["months"].as_f64().unwrap().fract() == 0.0 { 422 } else { 400 };
        assert_eq!(res.status().as_u16(), expected, "{bad}");
    }
    assert_eq!(app.put(&werkgroep.token, &retention, &json!({"months": 12})).await.status(), 403);
    assert_eq!(summary(&app, &beheerder.token, area).await.months, 24);

    // A lamp with its number, a theft with answers, both closed; one open.
    let lamp = NewIncident {
        category: "kapotte_verlichting".into(),
        location: WireLocation { lat: 52.2471, lon: 6.1583, accuracy_m: None },
        description: Some("Mevrouw Jansen van nummer 4 zag het".into()),
        answers: serde_json::from_value(json!({"lampnummer": "0412"})).unwrap(),
        ..report(area)
    };
    let theft = NewIncident {
        description: Some("Dader was de zoon van De Vries".into()),
        answers: serde_json::from_value(json!({"aangifte": true, "schade_euro": 250})).unwrap(),
        ..report(area)
    };
    let open = NewIncident { description: Some("Nog open: Piet weet meer".into()), ..report(area) };
    let mut ids = vec![];
    for r in [&lamp, &theft, &open] {
        let res = app.post(&ondernemer.token, "/api/v1/incidents", r).await;
        ids.push(res.json::<Incident>().await.unwrap().id);
    }
    let res = app
        .put_bytes(
            &ondernemer.token,
            &format!("/api/v1/incidents/{}/photos/{}", ids[0], Uuid::new_v4()),
            jpeg(64, 48),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{}/comments", ids[1]),
            &json!({"body": "Jan belde, hij kent de dader"}),
        )
        .await;
    assert!(res.status().is_success());
    for (id, status) in [(ids[0], "opgelost"), (ids[1], "afgewezen")] {
        let res = app
            .post(
                &werkgroep.token,
                &format!("/api/v1/incidents/{id}/status"),
                &json!({"status": status, "reason": "Gebeld met Jan Jansen"}),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    // Someone leaves the area (their phone is revoked, still on record).
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/areas/{area}/members/{}", leaver.person_id)))
        .bearer_auth(&beheerder.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    let counts_before = analysis(&app, &werkgroep.token, area).await;
    assert_eq!(counts_before["totals"]["current"], 3, "{counts_before}");
    assert_eq!(counts_before["follow_up"]["resolved"], 1);

    // Today nothing is old enough; 23 months on, still not; 25 months on, the two closed ones.
    let now = Utc::now();
    assert_eq!(summary(&app, &beheerder.token, area).await.reports, 0);
    let early = retention::run(&app.pool, area, now.checked_add_months(Months::new(23)).unwrap(), true)
        .await
        .unwrap();
    assert_eq!((early.reports, early.devices), (0, 0));
    let later = now.checked_add_months(Months::new(25)).unwrap();
    let dry = retention::run(&app.pool, area, later, true).await.unwrap();
    assert_eq!(
        (dry.reports, dry.comments, dry.photos, dry.devices, dry.push_subscriptions, dry.dry_run),
        (2, 1, 1, 1, 0, true)
    );
    let stored: Option<String> = sqlx::query_scalar("SELECT description FROM incidents WHERE id = $1")
        .bind(ids[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.is_some(), "a dry run changes nothing");

    let done = retention::run(&app.pool, area, later, false).await.unwrap();
    assert_eq!((done.reports, done.comments, done.photos, done.devices, done.dry_run), (2, 1, 1, 1, false));

    // What went, and what stayed.
    let rows: Vec<Stored> = sqlx::query_as(
        "SELECT id, reporter_id, description, answers, anonymised_at FROM incidents WHERE area_id = $1 ORDER BY received_at",
    )
    .bind(area)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let row = |id: Uuid| rows.iter().find(|r| r.0 == id).unwrap();
    assert_eq!(
        (row(ids[0]).1, row(ids[0]).2.clone(), row(ids[0]).3.clone()),
        (ANONYMOUS, None, json!({})),
        "the lamp number is text"
    );
    assert_eq!(row(ids[1]).3, json!({"aangifte": true, "schade_euro": 250.0}), "yes/no and numbers stay");
    assert!(row(ids[1]).4.is_some());
    assert_eq!(row(ids[2]).1, ondernemer.person_id, "the open report is untouched");
    assert_eq!(row(ids[2]).2.as_deref(), Some("Nog open: Piet weet meer"));
    let everything: String = sqlx::query_scalar(
        "SELECT concat_ws('|',
            (SELECT string_agg(coalesce(reason, ''), '|') FROM incident_status_history WHERE incident_id = ANY($1)),
            (SELECT string_agg(body, '|') FROM incident_comments WHERE incident_id = ANY($1)),
            (SELECT string_agg(coalesce(description, ''), '|') FROM incidents WHERE id = ANY($1)))",
    )
    .bind(&ids[..2])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for name in ["Jansen", "De Vries", "Jan "] {
        assert!(!everything.contains(name), "{name} is still in {everything}");
    }
    let by_reporter: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM incident_status_history WHERE incident_id = ANY($1) AND changed_by = $2)
              + (SELECT count(*) FROM photos WHERE incident_id = ANY($1))
              + (SELECT count(*) FROM device_tokens WHERE person_id = $3)",
    )
    .bind(&ids[..2])
    .bind(ondernemer.person_id)
    .bind(leaver.person_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(by_reporter, 0, "no history line by the reporter, no photo, no phone of who left");
    // The follow-up still reads: who set the status stays, the reporter does not.
    let f: FollowUp = app
        .get(&werkgroep.token, &format!("/api/v1/incidents/{}/follow-up", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(f.history[0].by.as_deref(), Some("Geanonimiseerd"));
    assert!(f.history.iter().any(|h| h.by.as_deref() == Some("test werkgroep")), "{:?}", f.history);
    assert!(f.history.iter().all(|h| h.reason.is_none()));

    // Every count of the analysis is the same; the run is in the audit log; a second run finds nothing.
    assert_eq!(analysis(&app, &werkgroep.token, area).await, counts_before);
    let logged: Value =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE area_id = $1 AND action = 'retention.run'")
            .bind(area)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((logged["reports"].as_i64(), logged["photos"].as_i64()), (Some(2), Some(1)));
    let again = retention::run(&app.pool, area, later, false).await.unwrap();
    assert_eq!((again.reports, again.devices), (0, 0));

    // A shorter retention is set and shown.
    let res = app.put(&beheerder.token, &retention, &json!({"months": 6})).await;
    assert_eq!(res.status(), 200);
    let s: RetentionSummary = res.json().await.unwrap();
    assert_eq!((s.months, s.dry_run), (6, true));
}
