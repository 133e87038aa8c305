//! Forwarding to the gemeente's own Open311 endpoint (issue 16 §2), against
//! a local Open311 server written for this test: down, answering 500,
//! answering garbage, slow (it stores the report but answers after we gave
//! up), then well; each report stored there exactly once (by our id), and
//! the gemeente's status read back into the report's history.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use kvo_api::{
    Role,
    admin::Open311EndpointInfo,
    follow_up::FollowUp,
    wire::{Incident, NewIncident, WireLocation},
};
use kvo_server::open311::forward::{self, Forwarder};
use kvo_tests::{DEVENTER, TestApp, report};
use serde_json::json;
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Well,
    Fails,
    Garbage,
    Slow,
}

/// The gemeente's system: requests by its id, our id → its id, statuses.
#[derive(Default)]
struct Remote {
    mode: Option<Mode>,
    posts: usize,
    by_kvo_id: HashMap<String, String>,
    stored: Vec<HashMap<String, String>>,
    status: HashMap<String, (String, String)>,
}

type Shared = Arc<Mutex<Remote>>;

async fn post_request(State(r): State<Shared>, body: String) -> Response {
    let f: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap();
    let (mode, id) = {
        let mut r = r.lock().unwrap();
        r.posts += 1;
        let mode = r.mode.unwrap_or(Mode::Well);
        if mode == Mode::Fails {
            return (StatusCode::INTERNAL_SERVER_ERROR, "kapot").into_response();
        }
        if mode == Mode::Garbage {
            return (StatusCode::OK, "<html>onderhoud</html>").into_response();
        }
        if f.get("api_key").map(String::as_str) != Some("geheim")
            || f.get("jurisdiction_id").map(String::as_str) != Some("deventer")
        {
            return (StatusCode::FORBIDDEN, Json(json!([{"code": 403, "description": "bad key"}])))
                .into_response();
        }
        let kvo_id = f.get("attribute[kvo_id]").cloned().unwrap_or_default();
        let next = format!("G-{}", r.stored.len() + 1);
        let id = match r.by_kvo_id.get(&kvo_id) {
            Some(id) => id.clone(),
            None => {
                r.by_kvo_id.insert(kvo_id, next.clone());
                r.stored.push(f.clone());
                r.status.insert(next.clone(), ("open".into(), String::new()));
                next
            }
        };
        (mode, id)
    };
    if mode == Mode::Slow {
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
    Json(json!([{"service_request_id": id}])).into_response()
}

async fn get_request(
    State(r): State<Shared>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let r = r.lock().unwrap();
    if r.mode == Some(Mode::Fails) {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    assert_eq!(q.get("jurisdiction_id").map(String::as_str), Some("deventer"));
    let id = file.trim_end_matches(".json");
    match r.status.get(id) {
        Some((status, notes)) => {
            Json(json!([{"service_request_id": id, "status": status, "status_notes": notes}])).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn remote() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/open311/v2/requests.json", post(post_request))
        .route("/open311/v2/requests/{file}", get(get_request))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/open311/v2", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

/// A port nobody listens on.
async fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/open311/v2")
}

async fn errors(app: &TestApp) -> Vec<(Uuid, Option<String>, i32, Option<String>)> {
    sqlx::query_as("SELECT incident_id, last_error, attempts, remote_id FROM open311_forwards ORDER BY created_at, incident_id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Time passes: every waiting report is due again.
async fn later(app: &TestApp) {
    sqlx::query("UPDATE open311_forwards SET next_attempt_at = now() WHERE remote_id IS NULL")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn reports_assigned_to_the_gemeente_reach_its_open311_system_once_and_its_status_comes_back() {
    // The operator allows the gemeente's host (here the local stand-in).
    let app = TestApp::spawn_with(|c| c.open311_hosts = vec!["127.0.0.1".into()]).await;
    let area = app.area("Binnenstad", DEVENTER).await;
    let (beheerder, werkgroep, ondernemer) = (
        app.device(area, Role::Beheerder).await,
        app.device(area, Role::Werkgroep).await,
        app.device(area, Role::Ondernemer).await,
    );
    let (url, shared) = remote().await;
    let endpoint = format!("/api/v1/areas/{area}/open311-endpoint");
    let settings = |url: &str| {
        json!({"url": url, "api_key": "geheim", "jurisdiction_id": "deventer",
               "service_codes": {"kapotte_verlichting": "LAMP", "zwerfvuil": "AFVAL"}})
    };
    // Bad settings are refused with nothing stored.
    for (bad, status) in [
        (json!({"url": "ftp://x", "api_key": "k"}), 422),
        (json!({"url": "https://meldingen.example.org/open311/v2", "api_key": "k"}), 422),
        (json!({"url": "http://localhost:1/open311/v2", "api_key": "k"}), 422),
        (json!({"url": "http://x y", "api_key": "k"}), 422),
        (json!({"url": url, "api_key": ""}), 422),
        (json!({"url": url, "api_key": "k", "service_codes": {"bestaat_niet": "X"}}), 404),
    ] {
        let res = app.put(&beheerder.token, &endpoint, &bad).await;
        assert_eq!(res.status(), status, "{bad}: {}", res.text().await.unwrap());
    }
    assert_eq!(app.get(&beheerder.token, &endpoint).await.status(), 404, "none set");
    let res = app.put(&beheerder.token, &endpoint, &settings(&url)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(app.put(&werkgroep.token, &endpoint, &settings(&url)).await.status(), 403);
    let logged: String =
        sqlx::query_scalar("SELECT after::text FROM audit_log WHERE action = 'open311_endpoint.set'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(logged.contains("LAMP") && !logged.contains("geheim"), "the key is not in the log: {logged}");

    // A lamp, litter, and a theft (no service code for it); one not assigned.
    let mut ids = vec![];
    for (category, lat) in [
        ("kapotte_verlichting", 52.2471),
        ("zwerfvuil", 52.2481),
        ("diefstal", 52.2491),
        ("graffiti", 52.2501),
    ] {
        let r = NewIncident {
            category: category.into(),
            location: WireLocation { lat, lon: 6.1583, accuracy_m: None },
            description: Some(format!("{category} bij de Brink")),
            ..report(area)
        };
        let res = app.post(&ondernemer.token, "/api/v1/incidents", &r).await;
        ids.push(res.json::<Incident>().await.unwrap().id);
    }
    for id in &ids[..3] {
        let res = app
            .post(
                &werkgroep.token,
                &format!("/api/v1/incidents/{id}/assignment"),
                &json!({"organisation": "gemeente"}),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    // Assigning again does not queue again; the unassigned one is not queued.
    let res = app
        .post(
            &werkgroep.token,
            &format!("/api/v1/incidents/{}/assignment", ids[0]),
            &json!({"organisation": "gemeente"}),
        )
        .await;
    assert!(res.status().is_success());
    let queued: Vec<Uuid> = errors(&app).await.into_iter().map(|r| r.0).collect();
    assert_eq!(queued.len(), 3);
    assert!(!queued.contains(&ids[3]));

    let f = Forwarder {
        timeout: Duration::from_millis(1_000),
        first_delay: Duration::from_secs(5),
        poll_every: Duration::ZERO,
        hosts: vec!["127.0.0.1".into()],
        ..Forwarder::default()
    };
    // The remote answers 500: retried later, with the delay; the theft is never sent.
    shared.lock().unwrap().mode = Some(Mode::Fails);
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0);
    let rows = errors(&app).await;
    let theft = rows.iter().find(|r| r.0 == ids[2]).unwrap();
    assert!(theft.1.as_deref().unwrap().contains("geen service_code"), "{theft:?}");
    for r in rows.iter().filter(|r| r.0 != ids[2]) {
        assert!(r.1.as_deref().unwrap().contains("500"), "{r:?}");
    }
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM open311_forwards WHERE incident_id = $1",
    )
    .bind(ids[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((3.0..=5.5).contains(&wait), "the first delay: {wait}");
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0, "not due yet");

    // Garbage, then nobody listening, then slow: retried each time.
    later(&app).await;
    shared.lock().unwrap().mode = Some(Mode::Garbage);
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0);
    assert!(errors(&app).await[0].1.as_deref().unwrap().contains("onleesbaar"));
    sqlx::query("UPDATE open311_endpoints SET url = $1")
        .bind(dead_url().await)
        .execute(&app.pool)
        .await
        .unwrap();
    later(&app).await;
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0);
    assert!(errors(&app).await[0].1.as_deref().unwrap().contains("niet bereikbaar"));
    sqlx::query("UPDATE open311_endpoints SET url = $1").bind(&url).execute(&app.pool).await.unwrap();
    later(&app).await;
    shared.lock().unwrap().mode = Some(Mode::Slow);
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0);
    assert!(errors(&app).await[0].1.as_deref().unwrap().contains("niet op tijd"));
    assert_eq!(shared.lock().unwrap().stored.len(), 2, "the remote kept both, though we heard nothing");

    // Well again: sent, and stored there exactly once each (by our id).
    later(&app).await;
    shared.lock().unwrap().mode = Some(Mode::Well);
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 2);
    {
        let r = shared.lock().unwrap();
        assert_eq!(r.stored.len(), 2, "each report once, after {} posts", r.posts);
        assert!(r.posts >= 4);
        let lamp = r.stored.iter().find(|s| s["attribute[kvo_id]"] == ids[0].to_string()).unwrap();
        assert_eq!(lamp["service_code"], "LAMP");
        assert_eq!(lamp["description"], "kapotte_verlichting bij de Brink");
        assert!((lamp["lat"].parse::<f64>().unwrap() - 52.2471).abs() < 1e-9);
    }
    let rows = errors(&app).await;
    assert!(rows.iter().filter(|r| r.0 != ids[2]).all(|r| r.3.is_some() && r.1.is_none()), "{rows:?}");
    assert_eq!(forward::send_due(&app.pool, &f).await.unwrap(), 0, "nothing left");

    // The gemeente closes the lamp: its status comes back into the history, once.
    let lamp_remote = rows.iter().find(|r| r.0 == ids[0]).unwrap().3.clone().unwrap();
    shared.lock().unwrap().status.insert(lamp_remote.clone(), ("closed".into(), "Lamp vervangen".into()));
    assert_eq!(forward::poll(&app.pool, &f).await.unwrap(), 2, "both now known: one open, one closed");
    assert_eq!(forward::poll(&app.pool, &f).await.unwrap(), 0, "nothing new");
    let follow: FollowUp = app
        .get(&werkgroep.token, &format!("/api/v1/incidents/{}/follow-up", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    let lines: Vec<(String, Option<String>)> = follow
        .history
        .iter()
        .filter(|h| h.action == "open311")
        .map(|h| (h.action.clone(), h.detail.clone()))
        .collect();
    assert_eq!(
        lines.iter().map(|l| l.1.clone().unwrap()).collect::<Vec<_>>(),
        [
            format!("doorgestuurd naar de gemeente (melding {lamp_remote})"),
            "gemeente: afgehandeld (Lamp vervangen)".into()
        ]
    );
    let theft: FollowUp = app
        .get(&werkgroep.token, &format!("/api/v1/incidents/{}/follow-up", ids[2]))
        .await
        .json()
        .await
        .unwrap();
    let last = theft.history.last().unwrap();
    assert_eq!(last.detail.as_deref(), Some("niet doorgestuurd naar de gemeente"));
    assert!(last.reason.as_deref().unwrap().contains("diefstal"));

    // The beheerder sees how forwarding goes.
    let info: Open311EndpointInfo = app.get(&beheerder.token, &endpoint).await.json().await.unwrap();
    assert_eq!((info.waiting, info.sent, info.given_up), (0, 2, 1));
    assert_eq!(info.service_codes["zwerfvuil"], "AFVAL");
}
