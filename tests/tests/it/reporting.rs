//! What the reporting app relies on: extra questions per category (published
//! with the categories, validated, stored, returned, exported), "al gemeld in
//! de buurt" before sending, "dit is dezelfde" as a confirmation instead of a
//! second incident, and anonymous reports.

use kvo_api::{
    Role,
    follow_up::FollowUp,
    questions::{Answer, Question, QuestionKind},
    wire::{CategoryList, Confirmed, Incident, Nearby, NewIncident},
};
use kvo_tests::{DEVENTER, TestApp, report};
use serde_json::json;
use uuid::Uuid;

fn required_question() -> Question {
    Question {
        code: "aangifte".into(),
        kind: QuestionKind::YesNo,
        label_nl: "Aangifte gedaan?".into(),
        label_en: "Reported to the police?".into(),
        required: true,
        options: vec![],
        min: None,
        max: None,
    }
}

#[tokio::test]
async fn extra_questions_are_published_validated_stored_and_exported() {
    let app = TestApp::spawn().await;
    let area = app.area("Centrum", DEVENTER).await;
    let (ondernemer, werkgroep) =
        (app.device(area, Role::Ondernemer).await, app.device(area, Role::Werkgroep).await);

    // The defaults are published with the categories, under the ETag.
    let path = format!("/api/v1/areas/{area}/categories");
    let res = app.get(&ondernemer.token, &path).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let list: CategoryList = res.json().await.unwrap();
    let diefstal = list.categories.iter().find(|c| c.code == "diefstal").unwrap();
    assert!(diefstal.questions.iter().any(|q| q.code == "schade_euro"));
    assert!(list.categories.iter().find(|c| c.code == "overval").unwrap().urgent);

    // A beheerder makes "aangifte" required: the ETag changes.
    let questions =
        kvo_api::admin::CategoryChange { questions: Some(vec![required_question()]), ..Default::default() };
    kvo_tests::set_category(&app.pool, area, "diefstal", questions).await;
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&ondernemer.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "new definitions, new ETag");

    // Missing, of the wrong kind, unknown: 422 naming the question.
    for (answers, field) in [
        (json!({}), "answers.aangifte"),
        (json!({"aangifte": "ja"}), "answers.aangifte"),
        (json!({"aangifte": true, "kleur": "rood"}), "answers.kleur"),
    ] {
        let mut body = serde_json::to_value(report(area)).unwrap();
        body["answers"] = answers;
        let res = app.post(&ondernemer.token, "/api/v1/incidents", &body).await;
        assert_eq!(res.status(), 422);
        let problem: serde_json::Value = res.json().await.unwrap();
        assert_eq!(problem["field"], field, "{problem}");
    }
    // Nothing was stored by the refused ones.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0);

    let mut r = report(area);
    r.answers.insert("aangifte".into(), Answer::YesNo(true));
    let res = app.post(&ondernemer.token, "/api/v1/incidents", &r).await;
    assert_eq!(res.status(), 201);
    let stored: Incident =
        app.get(&werkgroep.token, &format!("/api/v1/incidents/{}", r.id)).await.json().await.unwrap();
    assert_eq!(stored.answers.get("aangifte"), Some(&Answer::YesNo(true)));

    let csv = app
        .get(&werkgroep.token, &format!("/api/v1/areas/{area}/export/incidents.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("Aangifte gedaan?: ja"), "{csv}");
    let gj: serde_json::Value = app
        .get(&werkgroep.token, &format!("/api/v1/areas/{area}/export/incidents.geojson"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gj["features"][0]["properties"]["answers"]["aangifte"], true);
}

#[tokio::test]
async fn the_same_is_a_confirmation_not_a_second_incident() {
    let app = TestApp::spawn().await;
    let area = app.area("Centrum", DEVENTER).await;
    let first = app.device(area, Role::Ondernemer).await;
    let second = app.device(area, Role::Ondernemer).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let r = NewIncident { category: "kapotte_verlichting".into(), ..report(area) };
    assert_eq!(app.post(&first.token, "/api/v1/incidents", &r).await.status(), 201);

    // The second ondernemer, 20 m away, asks before sending.
    let near = format!(
        "/api/v1/areas/{area}/nearby?category=kapotte_verlichting&lat={}&lon={}",
        r.location.lat + 0.00018,
        r.location.lon
    );
    let res = app.get(&second.token, &near).await;
    assert_eq!(res.status(), 200);
    let nearby: Nearby = res.json().await.unwrap();
    assert_eq!(nearby.items.len(), 1);
    assert_eq!(nearby.items[0].id, r.id);
    assert!((15.0..25.0).contains(&nearby.items[0].distance_m), "{}", nearby.items[0].distance_m);
    // Another category, or far away: nothing.
    let other: Nearby = app
        .get(
            &second.token,
            &format!(
                "/api/v1/areas/{area}/nearby?category=graffiti&lat={}&lon={}",
                r.location.lat, r.location.lon
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(other.items.is_empty());

    // "Dit is dezelfde", sent twice (a retry): one confirmation.
    let confirmation = json!({"id": Uuid::new_v4()});
    for _ in 0..2 {
        let res = app
            .post(&second.token, &format!("/api/v1/incidents/{}/confirmations", r.id), &confirmation)
            .await;
        assert_eq!(res.status(), 200);
        let c: Confirmed = res.json().await.unwrap();
        assert_eq!(c.confirmations, 1);
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 1, "no second incident");
    let seen: Incident =
        app.get(&werkgroep.token, &format!("/api/v1/incidents/{}", r.id)).await.json().await.unwrap();
    assert_eq!(seen.confirmations, 1, "the werkgroep sees the count");

    // Another area's member cannot confirm it (404), and an unknown category is 422.
    let elsewhere = app.area("Elders", DEVENTER).await;
    let stranger = app.device(elsewhere, Role::Ondernemer).await;
    let res = app
        .post(
            &stranger.token,
            &format!("/api/v1/incidents/{}/confirmations", r.id),
            &json!({"id": Uuid::new_v4()}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .get(&second.token, &format!("/api/v1/areas/{area}/nearby?category=onbekend&lat=52.25&lon=6.16"))
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .get(&second.token, &format!("/api/v1/areas/{area}/nearby?category=graffiti&lat=200&lon=6.16"))
        .await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn an_anonymous_reporter_is_hidden_from_all_but_the_beheerder() {
    let app = TestApp::spawn().await;
    let area = app.area("Centrum", DEVENTER).await;
    let reporter = app.device(area, Role::Ondernemer).await;
    let r = NewIncident { anonymous: true, ..report(area) };
    assert_eq!(app.post(&reporter.token, "/api/v1/incidents", &r).await.status(), 201);
    let open = NewIncident { ..report(area) };
    assert_eq!(app.post(&reporter.token, "/api/v1/incidents", &open).await.status(), 201);

    let by = |f: &FollowUp| f.history[0].by.clone();
    for (role, hidden) in [(Role::Werkgroep, true), (Role::Gemeente, true), (Role::Beheerder, false)] {
        let viewer = app.device(area, role).await;
        let f: FollowUp = app
            .get(&viewer.token, &format!("/api/v1/incidents/{}/follow-up", r.id))
            .await
            .json()
            .await
            .unwrap();
        let expected = if hidden { "anoniem".to_string() } else { "test ondernemer".to_string() };
        assert_eq!(by(&f).as_deref(), Some(expected.as_str()), "{role:?}");
        let f: FollowUp = app
            .get(&viewer.token, &format!("/api/v1/incidents/{}/follow-up", open.id))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(by(&f).as_deref(), Some("test ondernemer"), "{role:?}: not anonymous, shown");
        let csv = app
            .get(&viewer.token, &format!("/api/v1/areas/{area}/export/incidents.csv"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("test ondernemer"), "exports never name the reporter");
    }
    // The reporter sees their own name.
    let f: FollowUp = app
        .get(&reporter.token, &format!("/api/v1/incidents/{}/follow-up", r.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by(&f).as_deref(), Some("test ondernemer"));
}
