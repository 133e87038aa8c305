//! The follow-up workflow: the permission table through the API, transition
//! by transition and role by role; history; duplicates offered on creation;
//! merged duplicates counted once; bad input.

use chrono::{Duration, Utc};
use kvo_api::{
    Role,
    follow_up::{Action, FollowUp, Organisation, Relation, allowed},
    wire::{Incident, IncidentStatus},
};
use kvo_server::analytics::rollup;
use kvo_tests::{DEVENTER, TestApp, report};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Stores an incident in a given state straight into the table.
async fn incident(
    pool: &PgPool,
    area: Uuid,
    reporter: Uuid,
    status: IncidentStatus,
    assigned: Option<Organisation>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO incidents (area_id, id, category, geom, occurred_at, reporter_id, status, request_hash,
                                cell, assigned_to)
         VALUES ($1, $2, 'vandalisme', ST_SetSRID(ST_MakePoint(6.157, 52.247), 4326), now() - interval '1 hour',
                 $3, $4, '\\x00', $5, $6)",
    )
    .bind(area)
    .bind(id)
    .bind(reporter)
    .bind(status.code())
    .bind(kvo_server::analytics::cells::cell_of(52.247, 6.157))
    .bind(assigned.map(Organisation::code))
    .execute(pool)
    .await
    .unwrap();
    id
}

/// The request that performs `action`, as (method, path suffix, body).
fn request(action: Action, target: Uuid) -> (&'static str, &'static str, serde_json::Value) {
    match action {
        Action::TakeInHand => ("POST", "status", json!({"status": "in_behandeling", "reason": "oppakken"})),
        Action::Resolve => ("POST", "status", json!({"status": "opgelost", "reason": "lamp vervangen"})),
        Action::Reject => ("POST", "status", json!({"status": "afgewezen", "reason": "geen incident"})),
        Action::Reopen => ("POST", "status", json!({"status": "heropend", "reason": "weer kapot"})),
        Action::Assign => ("POST", "assignment", json!({"organisation": "gemeente"})),
        Action::Comment => ("POST", "comments", json!({"body": "Ik heb het gezien."})),
        Action::Merge => ("POST", "merge", json!({"into": target, "reason": "dubbel"})),
        Action::Aangifte => ("PATCH", "facts", json!({"aangifte": true})),
        Action::Damage => ("PATCH", "facts", json!({"damage_eur": 125.5})),
        Action::HandBack => ("POST", "hand-back", json!({"reason": "niet van ons"})),
    }
}

async fn act(app: &TestApp, token: &str, id: Uuid, action: Action, target: Uuid) -> reqwest::Response {
    let (method, suffix, body) = request(action, target);
    let url = app.url(&format!("/api/v1/incidents/{id}/{suffix}"));
    let req = if method == "POST" { app.client.post(url) } else { app.client.patch(url) };
    req.bearer_auth(token).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn the_permission_table_holds_transition_by_transition_and_role_by_role() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let someone_else = app.device(area, Role::Ondernemer).await.person_id;
    let mut checked = 0;
    for &role in Role::ALL {
        let me = app.device(area, role).await;
        let mine = Organisation::of(role);
        // Not mine and not assigned to me; mine; assigned to my organisation.
        let mut relations = vec![(Relation { reporter: false, assigned: false }, someone_else, None)];
        relations.push((Relation { reporter: true, assigned: false }, me.person_id, None));
        if let Some(org) = mine {
            relations.push((Relation { reporter: false, assigned: true }, someone_else, Some(org)));
        }
        // Another organisation than mine is assigned: that grants nothing.
        let other_org = Organisation::ALL.iter().copied().find(|o| Some(*o) != mine).unwrap();
        relations.push((Relation { reporter: false, assigned: false }, someone_else, Some(other_org)));
        for (rel, reporter, assigned) in relations {
            for &from in IncidentStatus::ALL {
                for action in Action::ALL {
                    let id = incident(&app.pool, area, reporter, from, assigned).await;
                    let target = incident(&app.pool, area, someone_else, IncidentStatus::Nieuw, None).await;
                    let res = act(&app, &me.token, id, action, target).await;
                    let status = res.status().as_u16();
                    let context = format!("{role} {rel:?} assigned {assigned:?}: {action:?} from {from:?}");
                    let visible = role.sees_all_incidents() || rel.reporter;
                    let expected = if !visible {
                        404
                    } else if !allowed(role, rel, action) {
                        403
                    } else if action.transition(from).is_err() {
                        409
                    } else {
                        200
                    };
                    assert_eq!(status, expected, "{context}: {}", res.text().await.unwrap());
                    checked += 1;
                    if expected != 200 {
                        // Refused: nothing changed, nothing was written to the history.
                        let (st, rows): (String, i64) = sqlx::query_as(
                            "SELECT status, (SELECT count(*) FROM incident_status_history h
                                              WHERE h.area_id = i.area_id AND h.incident_id = i.id)
                               FROM incidents i WHERE area_id = $1 AND id = $2",
                        )
                        .bind(area)
                        .bind(id)
                        .fetch_one(&app.pool)
                        .await
                        .unwrap();
                        assert_eq!((st.as_str(), rows), (from.code(), 0), "{context}");
                        continue;
                    }
                    let f: FollowUp = res.json().await.unwrap();
                    let want = action.transition(from).unwrap().unwrap_or(from);
                    assert_eq!(f.status, want, "{context}");
                    if action != Action::Comment {
                        let last = f.history.last().expect("the action is in the history");
                        assert_eq!(last.by.as_deref(), Some(format!("test {role}").as_str()), "{context}");
                        assert_eq!(last.status, want, "{context}");
                    } else {
                        assert_eq!(f.comments.len(), 1, "{context}");
                    }
                    match action {
                        Action::Merge => assert_eq!(f.merged_into, Some(target), "{context}"),
                        Action::Assign => {
                            assert_eq!(f.assigned_to, Some(Organisation::Gemeente), "{context}")
                        }
                        Action::Aangifte => assert!(f.aangifte, "{context}"),
                        Action::Damage => assert_eq!(f.damage_eur, Some(125.5), "{context}"),
                        Action::HandBack => assert_eq!(f.assigned_to, None, "{context}"),
                        _ => {}
                    }
                    // What the server offers is what the table allows from here
                    // (handed back, it is no longer assigned to them).
                    let rel =
                        if action == Action::HandBack { Relation { assigned: false, ..rel } } else { rel };
                    for a in Action::ALL {
                        let offered = f.allowed.contains(&a);
                        let may = allowed(role, rel, a)
                            && a.transition(f.status).is_ok()
                            && (f.merged_into.is_none() || a == Action::Comment);
                        assert_eq!(offered, may, "{context}, then offered {a:?}");
                    }
                }
            }
        }
    }
    assert!(checked > 900, "{checked} combinations");
}

#[tokio::test]
async fn resolving_keeps_the_time_and_reopening_clears_it_with_who_and_why_in_the_history() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let ondernemer = app.device(area, Role::Ondernemer).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let gemeente = app.device(area, Role::Gemeente).await;
    let created: Incident =
        app.post(&ondernemer.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
    let id = created.id;
    let post = |token: String, suffix: &'static str, body: serde_json::Value| {
        let app = &app;
        async move { app.post(&token, &format!("/api/v1/incidents/{id}/{suffix}"), &body).await }
    };
    let due = (Utc::now() + Duration::days(14)).date_naive();
    let res =
        post(werkgroep.token.clone(), "assignment", json!({"organisation": "gemeente", "due_date": due}))
            .await;
    assert_eq!(res.status(), 200);
    let res = post(gemeente.token.clone(), "status", json!({"status": "in_behandeling"})).await;
    assert_eq!(res.status(), 200);
    let res =
        post(gemeente.token.clone(), "status", json!({"status": "opgelost", "reason": "Lamp vervangen"}))
            .await;
    assert_eq!(res.status(), 200);
    let resolved_at: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT resolved_at FROM incidents WHERE area_id = $1 AND id = $2")
            .bind(area)
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(resolved_at.is_some());
    let res = post(
        ondernemer.token.clone(),
        "status",
        json!({"status": "heropend", "reason": "Nog steeds donker"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let f: FollowUp = res.json().await.unwrap();
    assert_eq!(f.assigned_to, Some(Organisation::Gemeente));
    assert_eq!(f.due_date, Some(due));
    let lines: Vec<(&str, IncidentStatus, Option<&str>, Option<&str>)> = f
        .history
        .iter()
        .map(|h| (h.action.as_str(), h.status, h.by.as_deref(), h.reason.as_deref()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("status", IncidentStatus::Nieuw, Some("test ondernemer"), None),
            ("assign", IncidentStatus::Nieuw, Some("test werkgroep"), None),
            ("status", IncidentStatus::InBehandeling, Some("test gemeente"), None),
            ("status", IncidentStatus::Opgelost, Some("test gemeente"), Some("Lamp vervangen")),
            ("status", IncidentStatus::Heropend, Some("test ondernemer"), Some("Nog steeds donker")),
        ]
    );
    assert!(f.history[1].detail.as_deref().unwrap().starts_with("gemeente (uiterlijk "));
    let resolved_at: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT resolved_at FROM incidents WHERE area_id = $1 AND id = $2")
            .bind(area)
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(resolved_at, None, "reopened: no longer resolved");
    // The history cannot be rewritten.
    let rewrite = sqlx::query("UPDATE incident_status_history SET reason = 'anders' WHERE incident_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await;
    assert!(rewrite.is_err());
}

#[tokio::test]
async fn duplicates_are_offered_and_a_merged_duplicate_counts_once() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let werkgroep = app.device(area, Role::Werkgroep).await;
    let beveiliger = app.device(area, Role::Beveiliger).await;
    let first: Incident =
        app.post(&werkgroep.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
    assert!(first.possible_duplicates.is_empty());

    // 20 m north, same category: offered. 200 m away, or another category: not.
    let mut near = report(area);
    near.location.lat += 20.0 / 111_320.0;
    let res = app.post(&beveiliger.token, "/api/v1/incidents", &near).await;
    assert_eq!(res.status(), 201);
    let second: Incident = res.json().await.unwrap();
    assert_eq!(second.possible_duplicates.len(), 1);
    let hint = &second.possible_duplicates[0];
    assert_eq!((hint.id, hint.category.as_str()), (first.id, "diefstal"));
    assert!((hint.distance_m - 20.0).abs() < 1.0, "{}", hint.distance_m);
    let mut far = report(area);
    far.location.lat += 200.0 / 111_320.0;
    let far: Incident = app.post(&beveiliger.token, "/api/v1/incidents", &far).await.json().await.unwrap();
    assert!(far.possible_duplicates.is_empty());
    let mut other = report(area);
    other.category = "graffiti".into();
    let other: Incident =
        app.post(&beveiliger.token, "/api/v1/incidents", &other).await.json().await.unwrap();
    assert!(other.possible_duplicates.is_empty());
    // A retry of the same report answers with the hint as well.
    let again: Incident = app.post(&beveiliger.token, "/api/v1/incidents", &near).await.json().await.unwrap();
    assert_eq!(again.possible_duplicates.len(), 1);

    let today = Utc::now().date_naive();
    let heat_url = format!(
        "/api/v1/areas/{area}/heatmap?category=diefstal&from={}&to={}",
        today - Duration::days(2),
        today + Duration::days(1)
    );
    let heat_total = || async {
        let v: serde_json::Value = app.get(&werkgroep.token, &heat_url).await.json().await.unwrap();
        v["total"].as_i64().unwrap()
    };
    assert_eq!(heat_total().await, 3);
    rollup::compact_all(&app.pool).await.unwrap();

    // Only the werkgroep merges.
    let merge = json!({"into": first.id, "reason": "zelfde diefstal"});
    let url = format!("/api/v1/incidents/{}/merge", second.id);
    assert_eq!(app.post(&beveiliger.token, &url, &merge).await.status(), 403);
    let res = app.post(&werkgroep.token, &url, &merge).await;
    assert_eq!(res.status(), 200);
    let f: FollowUp = res.json().await.unwrap();
    assert_eq!(f.merged_into, Some(first.id));
    assert_eq!(f.allowed, vec![Action::Comment]);

    // Counted once: with the merge pending in the deltas, and after compaction.
    assert_eq!(heat_total().await, 2);
    rollup::compact_all(&app.pool).await.unwrap();
    assert_eq!(heat_total().await, 2);
    let analysis: serde_json::Value = app
        .get(
            &werkgroep.token,
            &format!(
                "/api/v1/areas/{area}/analysis?category=diefstal&from={}&to={}",
                today - Duration::days(2),
                today + Duration::days(1)
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(analysis["totals"]["current"], 2);
    // A merged report is no longer offered as a duplicate, and is not followed up itself.
    let mut third = report(area);
    third.location.lat += 10.0 / 111_320.0;
    let third: Incident =
        app.post(&beveiliger.token, "/api/v1/incidents", &third).await.json().await.unwrap();
    let offered: Vec<Uuid> = third.possible_duplicates.iter().map(|d| d.id).collect();
    assert!(offered.contains(&first.id) && !offered.contains(&second.id), "{offered:?}");
    let res = app
        .post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{}/status", second.id),
            &json!({"status": "opgelost"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    // Nothing merges into a merged report; a report merged into one moves along.
    let res = app
        .post(&werkgroep.token, &format!("/api/v1/incidents/{}/merge", third.id), &json!({"into": second.id}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{}/merge", third.id),
            &json!({"into": third.id})
        )
        .await
        .status(),
        422
    );
    // The target's history says what was merged into it.
    let f: FollowUp = app
        .get(&werkgroep.token, &format!("/api/v1/incidents/{}/follow-up", first.id))
        .await
        .json()
        .await
        .unwrap();
    let merged = f.history.iter().find(|h| h.action == "merge").unwrap();
    assert_eq!(merged.detail.as_deref(), Some(format!("dubbele melding {}", second.id).as_str()));
    assert_eq!(merged.reason.as_deref(), Some("zelfde diefstal"));
}

#[tokio::test]
async fn bad_follow_up_requests_get_a_clear_problem() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let w = app.device(area, Role::Werkgroep).await;
    let created: Incident =
        app.post(&w.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
    let id = created.id;
    let yesterday = (Utc::now() - Duration::days(2)).date_naive();
    // 400: unreadable (an unknown status or organisation, an unknown field);
    // 422: a value breaks a rule.
    for (suffix, body, field, status) in [
        ("status", json!({"status": "nieuw"}), "status", 422),
        ("status", json!({"status": "opgelost", "reason": "x".repeat(1001)}), "reason", 422),
        ("status", json!({"status": "gesloten"}), "", 400),
        ("status", json!({"status": "opgelost", "extra": 1}), "", 400),
        ("assignment", json!({"organisation": "gemeente", "due_date": yesterday}), "due_date", 422),
        ("assignment", json!({"organisation": "kiwa"}), "", 400),
        ("comments", json!({"body": "   "}), "body", 422),
        ("comments", json!({"body": "a\u{0007}b"}), "body", 422),
    ] {
        let res = app.post(&w.token, &format!("/api/v1/incidents/{id}/{suffix}"), &body).await;
        assert_eq!(res.status(), status, "{suffix} {body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = res.json().await.unwrap();
        if !field.is_empty() {
            assert_eq!(p["field"], field, "{p}");
        }
    }
    // A due date of today (the Dutch calendar day) is not in the past.
    let today = kvo_server::nl_time::today();
    let body = json!({"organisation": "gemeente", "due_date": today});
    let res = app.post(&w.token, &format!("/api/v1/incidents/{id}/assignment"), &body).await;
    assert_eq!(res.status(), 200, "a due date of today is fine");
    for damage in [json!(-1), json!(12.345), json!(2e9)] {
        let res = app
            .client
            .patch(app.url(&format!("/api/v1/incidents/{id}/facts")))
            .bearer_auth(&w.token)
            .json(&json!({"damage_eur": damage}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{damage}");
    }
    // Unknown incidents, and incidents of another area, are not found.
    let res = app
        .post(
            &w.token,
            &format!("/api/v1/incidents/{}/status", Uuid::new_v4()),
            &json!({"status": "opgelost"}),
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn two_opposite_merges_at_once_leave_one_merge_and_no_error() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let w = app.device(area, Role::Werkgroep).await;
    for _ in 0..12 {
        let a: Incident = app.post(&w.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
        let b: Incident = app.post(&w.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
        let merge = |from: uuid::Uuid, into: uuid::Uuid| {
            let (app, token) = (&app, w.token.clone());
            async move {
                app.post(&token, &format!("/api/v1/incidents/{from}/merge"), &json!({"into": into}))
                    .await
                    .status()
            }
        };
        // The rows are locked in one order whatever the direction, so the two cannot deadlock.
        let (x, y) = tokio::join!(merge(a.id, b.id), merge(b.id, a.id));
        let mut got = [x.as_u16(), y.as_u16()];
        got.sort();
        assert_eq!(got, [200, 409], "one merge wins, the other is a conflict");
    }
}

#[tokio::test]
async fn a_fact_set_again_to_the_same_value_writes_no_second_history_entry() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad Deventer", DEVENTER).await;
    let shop = app.device(area, Role::Ondernemer).await;
    let inc: Incident = app.post(&shop.token, "/api/v1/incidents", &report(area)).await.json().await.unwrap();
    let patch = |body: serde_json::Value| {
        let (app, token) = (&app, shop.token.clone());
        async move {
            let res = app
                .client
                .patch(app.url(&format!("/api/v1/incidents/{}/facts", inc.id)))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "the reporter records their own aangifte and damage");
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    // A phone's retry sends the same facts twice; then the damage changes.
    patch(json!({"aangifte": true, "damage_eur": 80})).await;
    patch(json!({"aangifte": true, "damage_eur": 80})).await;
    let f = patch(json!({"damage_eur": 95.5})).await;
    let actions: Vec<(&str, &str)> = f["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] != "status")
        .map(|h| (h["action"].as_str().unwrap(), h["detail"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(actions, [("aangifte", "ja"), ("damage", "€ 80,00"), ("damage", "€ 95,50")]);
    assert_eq!((f["aangifte"].as_bool(), f["damage_eur"].as_f64()), (Some(true), Some(95.5)));
}

#[tokio::test]
async fn the_work_list_shows_what_is_assigned_to_us_in_all_our_areas_overdue_first() {
    use kvo_api::follow_up::WorkList;
    let app = TestApp::spawn().await;
    let a = app.area("Binnenstad", DEVENTER).await;
    let b = app.area("Brink-Noord", DEVENTER).await;
    let not_mine = app.area("Elders", DEVENTER).await;
    for area in [a, b] {
        kvo_server::admin::people::upsert_web_user(
            &app.pool,
            "gemeente@example.org",
            "Gemeente",
            "wachtwoord-123",
            area,
            Role::Gemeente,
        )
        .await
        .unwrap();
    }
    let cookie = app.web_session("gemeente@example.org", "wachtwoord-123").await;
    let werkgroep = [
        app.device(a, Role::Werkgroep).await,
        app.device(b, Role::Werkgroep).await,
        app.device(not_mine, Role::Werkgroep).await,
    ];
    let today = kvo_server::nl_time::today();
    // (area index, category, organisation, due in days, status after)
    let cases = [
        (0, "diefstal", "gemeente", Some(3), None), // overdue (due set back below)
        (0, "diefstal", "gemeente", Some(5), None),
        (0, "diefstal", "politie", Some(1), None), // another organisation's
        (0, "overval", "gemeente", None, None),    // urgent, no due date
        (1, "diefstal", "gemeente", Some(1), None), // the other area
        (1, "diefstal", "gemeente", Some(2), Some("opgelost")), // closed
        (2, "diefstal", "gemeente", Some(1), None), // an area the person is not in
    ];
    let mut ids = vec![];
    for (i, (area_no, category, org, due, status)) in cases.iter().enumerate() {
        let wg = &werkgroep[*area_no];
        let mut r = report(wg.area_id);
        r.category = (*category).into();
        r.occurred_at = Utc::now() - Duration::minutes(60 - i as i64);
        assert_eq!(app.post(&wg.token, "/api/v1/incidents", &r).await.status(), 201);
        let due = due.map(|d| today + chrono::Days::new(d));
        let res = app
            .post(
                &wg.token,
                &format!("/api/v1/incidents/{}/assignment", r.id),
                &json!({"organisation": org, "due_date": due}),
            )
            .await;
        assert_eq!(res.status(), 200);
        if let Some(s) = status {
            assert_eq!(
                app.post(&wg.token, &format!("/api/v1/incidents/{}/status", r.id), &json!({"status": s}))
                    .await
                    .status(),
                200
            );
        }
        ids.push(r.id);
    }
    // Time passes: the first one's due date is now behind us.
    sqlx::query("UPDATE incidents SET due_date = $2 WHERE id = $1")
        .bind(ids[0])
        .bind(today - chrono::Days::new(2))
        .execute(&app.pool)
        .await
        .unwrap();
    let get = || async {
        let res =
            app.client.get(app.url("/api/v1/work-list")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<WorkList>().await.unwrap()
    };
    let list = get().await;
    assert_eq!(
        list.items.iter().map(|i| i.incident_id).collect::<Vec<_>>(),
        [ids[0], ids[3], ids[4], ids[1]],
        "overdue, then urgent, then by due date; not another organisation's, not closed, not another area's"
    );
    assert!(list.items[0].overdue && !list.items[1].overdue);
    assert_eq!(list.items[2].area_name, "Brink-Noord");
    assert_eq!(
        list.items[0].actions,
        [Action::TakeInHand, Action::Resolve, Action::Comment, Action::HandBack]
    );
    // Take in hand, resolve with a note, hand back: from the list, with the follow-up endpoints.
    let web = |path: String, body: serde_json::Value| {
        app.client.post(app.url(&path)).header("cookie", &cookie).header("x-kvo-csrf", "1").json(&body).send()
    };
    assert_eq!(
        web(format!("/api/v1/incidents/{}/status", ids[0]), json!({"status": "in_behandeling"}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        web(
            format!("/api/v1/incidents/{}/status", ids[3]),
            json!({"status": "opgelost", "reason": "pand gecontroleerd"})
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let empty =
        web(format!("/api/v1/incidents/{}/hand-back", ids[1]), json!({"reason": "  "})).await.unwrap();
    assert_eq!(empty.status(), 422);
    let back: FollowUp = web(
        format!("/api/v1/incidents/{}/hand-back", ids[1]),
        json!({"reason": "Dit is particulier terrein"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(back.assigned_to, None);
    assert_eq!(back.due_date, None);
    let last = back.history.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.reason.as_deref(), last.detail.as_deref()),
        ("hand_back", Some("Dit is particulier terrein"), Some("gemeente"))
    );
    let list = get().await;
    assert_eq!(list.items.iter().map(|i| i.incident_id).collect::<Vec<_>>(), [ids[0], ids[4]]);
    assert_eq!(list.items[0].status, IncidentStatus::InBehandeling);
    // The werkgroep does not hand back (it reassigns); an ondernemer has no list.
    let res = app
        .post(
            &werkgroep[1].token,
            &format!("/api/v1/incidents/{}/hand-back", ids[4]),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let shop = app.device(a, Role::Ondernemer).await;
    let none: WorkList = app.get(&shop.token, "/api/v1/work-list").await.json().await.unwrap();
    assert!(none.items.is_empty());
}
