//! The sync engine against a scripted server: a fake [`Transport`] that
//! stores what it receives (idempotent on ids, like the real server) and
//! answers as each test scripts it. The decisions under test: a wedge spreads
//! to dependants only, 409 and 422 wedge with the server's reason, a 429
//! pauses every worker for its Retry-After, and a sync killed mid-request
//! resumes with nothing lost and nothing stored twice.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::{
    collections::HashMap,
    io::Cursor,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use kvo_api::{
    Role,
    wire::{DeviceSession, NewIncident},
};
use mobile_core::{
    GeoFix, ItemState, KvoClient, ReportDraft, SecretStore,
    engine::SYNC_WORKERS,
    error::Error,
    transport::{Answer, Body, Method, Request, Transport},
};
use uuid::Uuid;

/// What the fake does with one request: `None` for its default behaviour.
type Script = Box<dyn FnMut(&Request, usize) -> Option<Result<Answer, Error>> + Send>;

struct Fake {
    /// Every request with the time it started and the status it got (0: none).
    log: Mutex<Vec<(Instant, Request, u16)>>,
    /// Stored resources by path (an incident by its id), and how often each was received.
    stored: Mutex<HashMap<String, usize>>,
    script: Mutex<Script>,
    /// Set: the device "died"; every request from now on dies with it.
    dead: AtomicBool,
    /// The phone's secure storage: it outlives the app.
    keychain: Arc<Keychain>,
}

/// The platform's secure storage, as the apps implement [`SecretStore`].
#[derive(Default)]
struct Keychain(Mutex<HashMap<String, String>>);

impl SecretStore for Keychain {
    fn load(&self, key: String) -> Option<String> {
        self.0.lock().unwrap().get(&key).cloned()
    }
    fn save(&self, key: String, value: Option<String>) -> bool {
        let mut m = self.0.lock().unwrap();
        match value {
            Some(v) => m.insert(key, v),
            None => m.remove(&key),
        };
        true
    }
}

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            log: Mutex::default(),
            stored: Mutex::default(),
            script: Mutex::new(Box::new(|_, _| None)),
            dead: AtomicBool::new(false),
            keychain: Arc::default(),
        })
    }

    fn script(&self, s: impl FnMut(&Request, usize) -> Option<Result<Answer, Error>> + Send + 'static) {
        *self.script.lock().unwrap() = Box::new(s);
    }

    /// The key a request stores under, if it stores something.
    fn key(req: &Request) -> Option<String> {
        match (req.method, &req.body) {
            (Method::Post, Body::Json(b)) if req.path == "/api/v1/incidents" => {
                let inc: NewIncident = serde_json::from_slice(b).unwrap();
                Some(format!("incident {}", inc.id))
            }
            (Method::Put, Body::Jpeg(_)) => Some(req.path.clone()),
            (Method::Post, _) if req.path.starts_with("/api/v1/patrols") => Some(req.path.clone()),
            (Method::Post, _) if req.path.ends_with("/confirmations") => Some(req.path.clone()),
            (Method::Post, Body::Json(b)) if req.path == "/api/v1/checkpoint-scans" => {
                let scan: kvo_api::rounds::NewScan = serde_json::from_slice(b).unwrap();
                Some(format!("scan {}", scan.id))
            }
            _ => None,
        }
    }

    /// The real server's behaviour: store once, answer 201 then 200.
    fn default_answer(&self, req: &Request) -> Answer {
        if req.path == "/api/v1/devices/redeem" {
            let s = DeviceSession {
                token: "kvod_test".into(),
                person_id: Uuid::new_v4(),
                area_id: Uuid::new_v4(),
                area_name: "Binnenstad".into(),
                role: Role::Ondernemer,
            };
            return answer(201, &serde_json::to_vec(&s).unwrap());
        }
        assert_eq!(req.token.as_deref(), Some("kvod_test"), "every queued request carries the token");
        match Fake::key(req) {
            Some(k) => {
                let mut stored = self.stored.lock().unwrap();
                let n = stored.entry(k).or_default();
                *n += 1;
                answer(if *n == 1 { 201 } else { 200 }, b"{}")
            }
            None => answer(200, b"{}"),
        }
    }

    /// Paths of the requests that got `status`.
    fn answered(&self, status: u16) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, s)| *s == status)
            .map(|(_, r, _)| r.path.clone())
            .collect()
    }

    /// How many distinct incidents and photos the server holds.
    fn holds(&self) -> (usize, usize) {
        let stored = self.stored.lock().unwrap();
        let incidents = stored.keys().filter(|k| k.starts_with("incident ")).count();
        let photos = stored.keys().filter(|k| k.contains("/photos/")).count();
        (incidents, photos)
    }
}

fn answer(status: u16, body: &[u8]) -> Answer {
    Answer { status, retry_after: None, etag: None, body: body.to_vec() }
}

fn problem(status: u16, detail: &str) -> Answer {
    answer(status, &serde_json::to_vec(&serde_json::json!({"status": status, "detail": detail})).unwrap())
}

struct Via(Arc<Fake>);

impl Transport for Via {
    fn send(&self, req: Request) -> Result<Answer, Error> {
        let req = &req;
        let fake = &self.0;
        if fake.dead.load(Ordering::SeqCst) {
            panic!("the device is dead");
        }
        let started = Instant::now();
        let n = fake.log.lock().unwrap().len();
        let scripted = (fake.script.lock().unwrap())(req, n);
        let result = scripted.unwrap_or_else(|| Ok(fake.default_answer(req)));
        let status = result.as_ref().map_or(0, |a| a.status);
        fake.log.lock().unwrap().push((started, req.clone(), status));
        if fake.dead.load(Ordering::SeqCst) {
            // The request reached the server, the answer never reached the device.
            panic!("killed while the answer was on its way");
        }
        result
    }
}

fn client(dir: &std::path::Path, fake: &Arc<Fake>) -> KvoClient {
    let c = KvoClient::with_transport(dir, Box::new(Via(fake.clone())), Some(fake.keychain.clone())).unwrap();
    c.redeem_invite("KVO-TEST-TEST-TEST".into(), None, None).unwrap();
    c.set_backoff(20, 200);
    c
}

fn draft(description: &str) -> ReportDraft {
    ReportDraft {
        category: "diefstal".into(),
        location: Some(GeoFix { lat: 52.2475, lon: 6.1575, accuracy_m: Some(8.0) }),
        occurred_at: SystemTime::now() - Duration::from_secs(120),
        description: Some(description.into()),
        answers: Default::default(),
        anonymous: false,
        asset_id: None,
    }
}

fn jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([seed, (x * 4) as u8, (y * 5) as u8]));
    let mut out = Cursor::new(vec![]);
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn incident_id(req: &Request) -> Option<Uuid> {
    match &req.body {
        Body::Json(b) if req.path == "/api/v1/incidents" => {
            Some(serde_json::from_slice::<NewIncident>(b).unwrap().id)
        }
        _ => None,
    }
}

#[test]
fn a_422_or_409_wedges_its_report_and_its_photos_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let outside = c.create_report(draft("buiten")).unwrap();
    let outside_photo = c.attach_photo(outside.id, jpeg(1)).unwrap().photo;
    let fine = c.create_report(draft("binnen")).unwrap();
    c.attach_photo(fine.id, jpeg(2)).unwrap();
    let taken = c.create_report(draft("id al gebruikt")).unwrap();
    let last = c.create_report(draft("nog een")).unwrap();
    let (o, t) = (outside.id, taken.id);
    fake.script(move |req, _| match incident_id(req) {
        Some(id) if id == o => Some(Ok(problem(422, "ligt buiten het gebied"))),
        Some(id) if id == t => Some(Ok(problem(409, "er bestaat al een melding met dit id"))),
        _ => None,
    });

    let state = c.sync(10_000, None).unwrap();

    let outside = c.report(outside.id).unwrap();
    assert_eq!(outside.state, ItemState::Wedged);
    assert_eq!(outside.reason.as_deref(), Some("ligt buiten het gebied"));
    assert_eq!(outside.photos[0].state, ItemState::Wedged, "the photo waits on its report");
    assert!(outside.photos[0].reason.is_some());
    let taken = c.report(taken.id).unwrap();
    assert_eq!(
        (taken.state, taken.reason.as_deref()),
        (ItemState::Wedged, Some("er bestaat al een melding met dit id"))
    );
    for id in [fine.id, last.id] {
        let r = c.report(id).unwrap();
        assert_eq!(r.state, ItemState::Sent, "the rest of the queue goes on");
    }
    assert_eq!(c.report(fine.id).unwrap().photos[0].state, ItemState::Sent);
    assert_eq!((state.sent, state.wedged, state.pending), (3, 3, 0), "{state:?}");
    assert_eq!(fake.holds(), (2, 1));
    let photo_path = format!("/photos/{}", outside_photo.id);
    assert!(!fake.log.lock().unwrap().iter().any(|(_, r, _)| r.path.ends_with(&photo_path)), "never sent");
}

#[test]
fn a_429_pauses_every_worker_for_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    for i in 0..9 {
        c.create_report(draft(&format!("melding {i}"))).unwrap();
    }
    let refused_at = Arc::new(Mutex::new(None));
    let at = refused_at.clone();
    // The third request of the run (after the redeem) gets 429 with Retry-After: 1.
    fake.script(move |req, n| {
        (n == 3 && req.path == "/api/v1/incidents").then(|| {
            *at.lock().unwrap() = Some(Instant::now());
            Ok(Answer { status: 429, retry_after: Some(1), etag: None, body: vec![] })
        })
    });

    let started = Instant::now();
    let state = c.sync(10_000, None).unwrap();

    assert_eq!((state.sent, state.pending, state.wedged), (9, 0, 0), "{state:?}");
    assert_eq!(fake.holds().0, 9);
    assert!(started.elapsed() >= Duration::from_secs(1), "the whole run waited");
    let refused_at = refused_at.lock().unwrap().expect("the script ran");
    let log = fake.log.lock().unwrap();
    // Requests under way may finish, and a worker that had already claimed its
    // next item sends it; no other request starts during the pause.
    let during: Vec<Duration> = log
        .iter()
        .filter(|(t, _, _)| *t > refused_at)
        .map(|(t, _, _)| *t - refused_at)
        .filter(|d| *d < Duration::from_millis(990))
        .collect();
    assert!(during.len() < SYNC_WORKERS, "requests during the Retry-After pause: {during:?}");
    let after = log.iter().filter(|(t, _, _)| *t > refused_at).count();
    assert!(after >= 7, "the queue went on after the pause ({after} requests)");
}

#[test]
fn a_sync_killed_mid_request_resumes_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let mut ids = vec![];
    {
        let c = client(dir.path(), &fake);
        for i in 0..5 {
            let r = c.create_report(draft(&format!("melding {i}"))).unwrap();
            c.attach_photo(r.id, jpeg(i as u8)).unwrap();
            ids.push(r.id);
        }
        // The device dies while the fourth queued request is answered.
        let f = fake.clone();
        fake.script(move |_, n| {
            if n == 4 {
                f.dead.store(true, Ordering::SeqCst);
            }
            None
        });
        assert!(c.sync(10_000, None).is_err(), "the run died");
        assert!(fake.holds().0 >= 1 && fake.holds().0 < 5, "{:?}", fake.holds());
    } // The client is gone, as with a killed app.

    fake.dead.store(false, Ordering::SeqCst);
    fake.script(|_, _| None);
    let c = KvoClient::with_transport(dir.path(), Box::new(Via(fake.clone())), Some(fake.keychain.clone()))
        .unwrap();
    c.set_backoff(20, 200);
    let state = c.sync(10_000, None).unwrap();

    assert_eq!((state.sent, state.pending, state.wedged), (10, 0, 0), "{state:?}");
    assert_eq!(fake.holds(), (5, 5), "every report and photo arrived");
    let stored = fake.stored.lock().unwrap();
    // What reached the server while the device died (one request per worker
    // at most) was sent again and answered as a repeat; nothing else twice.
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!((1..=3).contains(&twice.len()), "{twice:?}");
    assert!(twice.iter().all(|(_, n)| **n == 2), "{twice:?}");
    assert_eq!(fake.answered(200).len(), twice.len(), "the repeats were answered 200");
    for id in ids {
        assert_eq!(c.report(id).unwrap().state, ItemState::Sent);
    }
}

#[test]
fn a_401_stops_the_run_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    for i in 0..3 {
        c.create_report(draft(&format!("melding {i}"))).unwrap();
    }
    fake.script(|_, _| Some(Ok(problem(401, "token ingetrokken"))));
    let started = Instant::now();
    assert!(matches!(c.sync(10_000, None), Err(mobile_core::ApiError::Unauthorized)));
    assert!(started.elapsed() < Duration::from_secs(2), "the run stopped at once ({:?})", started.elapsed());
    let refused = fake.answered(401).len();
    assert!(refused <= SYNC_WORKERS, "no new request after the 401 ({refused} refused)");
    let q = c.queue_state().unwrap();
    assert_eq!((q.pending, q.sent, q.wedged), (3, 0, 0), "{q:?}");
}

#[test]
fn server_errors_and_lost_connections_are_retried_until_everything_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let mut ids = vec![];
    for i in 0..4 {
        let r = c.create_report(draft(&format!("storing {i}"))).unwrap();
        c.attach_photo(r.id, jpeg(i as u8)).unwrap();
        ids.push(r.id);
    }
    // The first six requests of the run meet a failing server or network;
    // a photo's Content-Digest mismatch (damaged in transit) is one of them.
    let failures = Arc::new(Mutex::new(0));
    let f = failures.clone();
    fake.script(move |req, _| {
        let mut n = f.lock().unwrap();
        if *n >= 6 {
            return None;
        }
        *n += 1;
        Some(match *n {
            1 => Ok(problem(500, "interne fout")),
            2 => Ok(problem(503, "even niet")),
            3 => Err(Error::Transport("connection reset".into())),
            4 if req.method == Method::Put => Ok(Answer {
                status: 400,
                retry_after: None,
                etag: None,
                body: serde_json::to_vec(&serde_json::json!({"status": 400, "field": "Content-Digest"}))
                    .unwrap(),
            }),
            _ => Ok(problem(502, "proxy")),
        })
    });

    let state = c.sync(30_000, None).unwrap();

    assert_eq!(*failures.lock().unwrap(), 6, "every failure was met");
    assert_eq!((state.sent, state.pending, state.wedged), (8, 0, 0), "{state:?}");
    assert_eq!(fake.holds(), (4, 4));
    assert!(fake.stored.lock().unwrap().values().all(|n| *n == 1), "nothing stored twice");
    for id in ids {
        let r = c.report(id).unwrap();
        assert_eq!((r.state, r.photos[0].state), (ItemState::Sent, ItemState::Sent));
    }
}

/// The area's categories as the server publishes them: diefstal asks whether
/// an aangifte was made (required) and the damage (0 to 10,000).
fn categories_with_questions() -> Answer {
    use kvo_api::questions::{Question, QuestionKind};
    let q = |code: &str, kind, required, max: Option<f64>| Question {
        code: code.into(),
        kind,
        label_nl: code.into(),
        label_en: code.into(),
        required,
        options: vec![],
        min: max.map(|_| 0.0),
        max,
    };
    let list = kvo_api::wire::CategoryList {
        area_id: Uuid::new_v4(),
        categories: vec![kvo_api::wire::CategoryInfo {
            code: "diefstal".into(),
            label_nl: "Diefstal".into(),
            label_en: "Theft".into(),
            theme: None,
            dimension: None,
            urgent: false,
            questions: vec![
                q("aangifte", QuestionKind::YesNo, true, None),
                q("schade", QuestionKind::Number, false, Some(10_000.0)),
            ],
        }],
    };
    Answer {
        status: 200,
        retry_after: None,
        etag: Some("\"v1\"".into()),
        body: serde_json::to_vec(&list).unwrap(),
    }
}

#[test]
fn answers_are_checked_on_the_device_by_the_servers_rules_and_travel_with_the_report() {
    use kvo_api::questions::Answer as A;
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    fake.script(|req, _| req.path.ends_with("/categories").then(|| Ok(categories_with_questions())));
    assert!(c.refresh_categories().unwrap());
    let cat = c.categories().unwrap().into_iter().find(|c| c.code == "diefstal").unwrap();
    assert_eq!(cat.questions.len(), 2, "the questions are cached with the categories");

    let field = |r: Result<mobile_core::Report, mobile_core::ApiError>| match r {
        Err(mobile_core::ApiError::InvalidInput { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(c.create_report(draft("zonder antwoord"))), "answers.aangifte", "required");
    let answered = |pairs: &[(&str, A)], anonymous| ReportDraft {
        answers: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        anonymous,
        ..draft("met antwoorden")
    };
    assert_eq!(
        field(c.create_report(answered(&[("aangifte", A::Text("ja".into()))], false))),
        "answers.aangifte"
    );
    assert_eq!(
        field(c.create_report(answered(
            &[("aangifte", A::YesNo(true)), ("schade", A::Number(20_000.0))],
            false
        ))),
        "answers.schade",
        "out of range"
    );
    assert_eq!(
        field(c.create_report(answered(
            &[("aangifte", A::YesNo(true)), ("kleur", A::Text("rood".into()))],
            false
        ))),
        "answers.kleur",
        "unknown"
    );
    let r = c
        .create_report(answered(&[("aangifte", A::YesNo(true)), ("schade", A::Number(250.0))], true))
        .unwrap();
    assert!(r.anonymous && r.answers.len() == 2);

    c.sync(10_000, None).unwrap();
    let log = fake.log.lock().unwrap();
    let sent: Vec<NewIncident> = log
        .iter()
        .filter_map(|(_, req, _)| match &req.body {
            Body::Json(b) if req.path == "/api/v1/incidents" => Some(serde_json::from_slice(b).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "only the valid report was queued");
    assert!(sent[0].anonymous);
    assert_eq!(sent[0].answers.get("schade"), Some(&A::Number(250.0)));
}

#[test]
fn a_confirmation_waits_offline_and_is_sent_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let theirs = Uuid::new_v4();
    c.confirm_same(theirs).unwrap();
    c.confirm_same(theirs).unwrap();
    assert_eq!(
        c.queue_state().unwrap().pending,
        1,
        "the second confirmation of the same report is the first"
    );
    // Offline first: nothing answers, the confirmation stays queued.
    fake.script(|_, _| Some(Err(Error::Transport("no network".into()))));
    let q = c.sync(300, None).unwrap();
    assert_eq!((q.sent, q.pending), (0, 1), "{q:?}");
    fake.script(|_, _| None);
    let q = c.sync(10_000, None).unwrap();
    assert_eq!((q.sent, q.pending, q.wedged), (1, 0, 0), "{q:?}");
    let posted: Vec<_> = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, r, s)| r.path == format!("/api/v1/incidents/{theirs}/confirmations") && *s == 201)
        .map(|(_, r, _)| r.body.clone())
        .collect();
    assert_eq!(posted.len(), 1);
}

/// Every byte of the store's files, to look for a secret in them.
fn store_bytes(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("kvo.sqlite3"))
        .flat_map(|e| std::fs::read(e.path()).unwrap())
        .collect()
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_device_token_lives_in_secure_storage_and_an_old_one_moves_there() {
    // An app version before secure storage kept the token in the SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    {
        let old = KvoClient::with_transport(dir.path(), Box::new(Via(fake.clone())), None).unwrap();
        old.redeem_invite("KVO-TEST-TEST-TEST".into(), None, None).unwrap();
        old.create_report(draft("van voor de update")).unwrap();
    }
    assert!(holds(&store_bytes(dir.path()), "kvod_test"), "the old version's token is in the file");

    // The new version opens the same data with the platform's storage.
    let c = KvoClient::with_transport(dir.path(), Box::new(Via(fake.clone())), Some(fake.keychain.clone()))
        .unwrap();
    c.set_backoff(20, 200);
    assert_eq!(fake.keychain.load(mobile_core::secrets::DEVICE_TOKEN.into()).as_deref(), Some("kvod_test"));
    assert!(!holds(&store_bytes(dir.path()), "kvod_test"), "and no longer anywhere in the store's files");
    assert_eq!(c.sync(10_000, None).unwrap().sent, 1, "the queue goes on with the moved token");

    // Signing out forgets it there.
    c.sign_out().unwrap();
    assert_eq!(fake.keychain.load(mobile_core::secrets::DEVICE_TOKEN.into()), None);
    assert!(matches!(c.sync(10_000, None), Err(mobile_core::ApiError::Unauthorized)));
}

/// The server's answer to a report: the incident as stored, with `status`.
fn stored_as(req: &Request, status: kvo_api::wire::IncidentStatus) -> Answer {
    let Body::Json(b) = &req.body else { panic!("{req:?}") };
    let sent: NewIncident = serde_json::from_slice(b).unwrap();
    let inc = kvo_api::wire::Incident {
        id: sent.id,
        area_id: sent.area_id,
        category: sent.category,
        location: sent.location,
        occurred_at: sent.occurred_at,
        received_at: chrono::Utc::now(),
        description: sent.description,
        status,
        zone_id: None,
        zone_name: None,
        patrol_id: sent.patrol_id,
        poor_accuracy: false,
        photos: vec![],
        assigned_to: None,
        merged_into: None,
        possible_duplicates: vec![],
        answers: sent.answers,
        anonymous: sent.anonymous,
        confirmations: 0,
        asset: None,
        street: None,
    };
    answer(201, &serde_json::to_vec(&inc).unwrap())
}

#[test]
fn the_servers_status_is_kept_and_a_status_push_is_told_once() {
    use kvo_api::{
        push::{PushMessage, PushReason},
        wire::IncidentStatus,
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let r = c.create_report(draft("fiets weg")).unwrap();
    fake.script(|req, _| {
        (req.path == "/api/v1/incidents").then(|| Ok(stored_as(req, IncidentStatus::Nieuw)))
    });
    c.sync(10_000, None).unwrap();
    assert_eq!(c.report(r.id).unwrap().server_status, Some(IncidentStatus::Nieuw), "from the 201's body");

    let push = |incident_id, status, reason| {
        serde_json::to_string(&PushMessage {
            id: "a-1".into(),
            reason,
            area_id: Uuid::new_v4(),
            incident_id,
            category: "diefstal".into(),
            status,
            title: "t".into(),
            body: "b".into(),
            url: "/".into(),
        })
        .unwrap()
    };
    let change =
        c.handle_push(push(r.id, IncidentStatus::InBehandeling, PushReason::Status)).unwrap().unwrap();
    assert_eq!(
        (change.previous, change.status),
        (Some(IncidentStatus::Nieuw), IncidentStatus::InBehandeling)
    );
    assert_eq!(change.report_id, r.id);
    assert!(change.message.contains("in behandeling"), "{}", change.message);
    assert_eq!(
        c.handle_push(push(r.id, IncidentStatus::InBehandeling, PushReason::Status)).unwrap(),
        None,
        "told once"
    );
    assert_eq!(
        c.handle_push(push(Uuid::new_v4(), IncidentStatus::Opgelost, PushReason::Status)).unwrap(),
        None,
        "not mine"
    );
    assert_eq!(
        c.handle_push(push(r.id, IncidentStatus::Opgelost, PushReason::Urgent)).unwrap(),
        None,
        "not a status push"
    );
    assert_eq!(c.report(r.id).unwrap().server_status, Some(IncidentStatus::InBehandeling));

    // A report whose status the device never learnt: its first news is a change
    // unless it is just "nieuw".
    fake.script(|_, _| None);
    let (quiet, quieter) =
        (c.create_report(draft("onbekend 1")).unwrap(), c.create_report(draft("onbekend 2")).unwrap());
    c.sync(10_000, None).unwrap();
    assert_eq!(c.report(quiet.id).unwrap().server_status, None);
    assert_eq!(c.handle_push(push(quiet.id, IncidentStatus::Nieuw, PushReason::Status)).unwrap(), None);
    let first =
        c.handle_push(push(quieter.id, IncidentStatus::Opgelost, PushReason::Status)).unwrap().unwrap();
    assert_eq!((first.previous, first.status), (None, IncidentStatus::Opgelost));
}

#[test]
fn a_long_patrol_goes_up_in_chunks_and_ends_only_after_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let patrol = c.start_patrol().unwrap();
    let start = SystemTime::now() - Duration::from_secs(3_600);
    for i in 0..1_500u64 {
        c.add_route_point(52.2475 + i as f64 * 1e-6, 6.1575, start + Duration::from_secs(i)).unwrap();
    }
    c.end_patrol().unwrap();
    // The second chunk fails once: the end must wait for it.
    let failed = Arc::new(AtomicBool::new(false));
    let f = failed.clone();
    fake.script(move |req, _| {
        let Body::Json(b) = &req.body else { return None };
        let second_chunk = req.path.ends_with("/points") && b.len() > 100 && {
            let pts: kvo_api::wire::RoutePoints = serde_json::from_slice(b).unwrap();
            pts.points.len() == 500
        };
        (second_chunk && !f.swap(true, Ordering::SeqCst)).then(|| Ok(problem(503, "even niet")))
    });
    let state = c.sync(10_000, None).unwrap();
    assert_eq!((state.sent, state.pending, state.wedged), (2, 0, 0), "start and route: {state:?}");
    let paths: Vec<(String, u16)> = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, r, _)| r.path.contains(&patrol.to_string()))
        .map(|(_, r, s)| (r.path.rsplit('/').next().unwrap().to_string(), *s))
        .collect();
    let end = paths.iter().position(|(p, _)| p == "end").expect("the end was sent");
    assert!((200..300).contains(&paths[end].1), "{paths:?}");
    let points_ok = paths[..end].iter().filter(|(p, s)| p == "points" && (200..300).contains(s)).count();
    assert!(points_ok >= 2 && paths[end + 1..].is_empty(), "every chunk before the end: {paths:?}");
}

#[test]
fn aangifte_and_damage_wait_for_their_report_and_go_up_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let r = c.create_report(draft("Ruit ingegooid")).unwrap();
    c.set_facts(r.id, Some(true), None).unwrap();
    c.set_facts(r.id, None, Some(80.0)).unwrap();
    let shown = c.set_facts(r.id, None, Some(95.5)).unwrap();
    assert_eq!(
        (shown.aangifte, shown.damage_eur),
        (Some(true), Some(95.5)),
        "the latest of each, on the device"
    );
    for bad in [-1.0, 12.345, f64::NAN, 2e9] {
        let e = c.set_facts(r.id, None, Some(bad)).unwrap_err();
        assert!(
            matches!(e, mobile_core::ApiError::InvalidInput { ref field, .. } if field == "damage_eur"),
            "{bad}: {e:?}"
        );
    }
    assert!(c.set_facts(r.id, None, None).is_err(), "nothing to record");
    assert!(c.set_facts(Uuid::new_v4(), Some(true), None).is_err(), "not a report of this device");
    // The report's first attempt fails: no fact may go before it.
    let failed = Arc::new(AtomicBool::new(false));
    let f = failed.clone();
    fake.script(move |req, _| {
        (req.path == "/api/v1/incidents" && !f.swap(true, Ordering::SeqCst))
            .then(|| Ok(problem(503, "even niet")))
    });
    let q = c.sync(10_000, None).unwrap();
    assert_eq!((q.sent, q.pending, q.wedged), (4, 0, 0), "{q:?}");
    assert!(failed.load(Ordering::SeqCst), "the report's first attempt failed");
    let log = fake.log.lock().unwrap();
    let sent: Vec<(String, String)> = log
        .iter()
        .filter(|(_, r, s)| (200..300).contains(s) && r.path != "/api/v1/devices/redeem")
        .map(|(_, r, _)| {
            let body = match &r.body {
                Body::Json(b) if r.method == Method::Patch => String::from_utf8(b.clone()).unwrap(),
                _ => String::new(),
            };
            (format!("{} {}", r.method.as_str(), r.path), body)
        })
        .collect();
    let facts = format!("PATCH /api/v1/incidents/{}/facts", r.id);
    assert_eq!(
        sent,
        [
            ("POST /api/v1/incidents".to_string(), String::new()),
            (facts.clone(), r#"{"aangifte":true,"damage_eur":null}"#.to_string()),
            (facts.clone(), r#"{"aangifte":null,"damage_eur":80.0}"#.to_string()),
            (facts, r#"{"aangifte":null,"damage_eur":95.5}"#.to_string()),
        ]
    );
}

#[test]
fn checkpoint_scans_wait_offline_follow_their_patrols_start_and_arrive_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let here = GeoFix { lat: 52.2475, lon: 6.1575, accuracy_m: Some(6.0) };
    let before = c.scan_checkpoint("cp-aaaa-bbbb".into(), here).unwrap();
    let patrol = c.start_patrol().unwrap();
    let during = [
        c.scan_checkpoint("CP-CCCC-DDDD".into(), here).unwrap(),
        c.scan_checkpoint(" cp-eeee-ffff ".into(), here).unwrap(),
    ];
    c.end_patrol().unwrap();
    let bad = c.scan_checkpoint("   ".into(), here);
    assert!(
        matches!(bad, Err(mobile_core::ApiError::InvalidInput { ref field, .. }) if field == "tag"),
        "{bad:?}"
    );
    // Offline: nothing leaves; then the first scan of the patrol is lost once on the way.
    fake.script(|_, _| Some(Err(Error::Transport("no network".into()))));
    let q = c.sync(300, None).unwrap();
    assert_eq!((q.sent, q.pending), (0, 5), "a scan, the patrol's start, two scans, its route: {q:?}");
    let lost = Arc::new(AtomicBool::new(false));
    let l = lost.clone();
    fake.script(move |req, _| {
        (req.path == "/api/v1/checkpoint-scans" && !l.swap(true, Ordering::SeqCst))
            .then(|| Err(Error::Transport("connection reset".into())))
    });
    let q = c.sync(10_000, None).unwrap();
    assert_eq!((q.sent, q.pending, q.wedged), (5, 0, 0), "{q:?}");
    let log = fake.log.lock().unwrap();
    let scans: Vec<kvo_api::rounds::NewScan> = log
        .iter()
        .filter(|(_, r, s)| r.path == "/api/v1/checkpoint-scans" && *s == 201)
        .map(|(_, r, _)| match &r.body {
            Body::Json(b) => serde_json::from_slice(b).unwrap(),
            _ => unreachable!(),
        })
        .collect();
    let ids: Vec<Uuid> = scans.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 3, "each scan stored once: {ids:?}");
    assert!(ids.contains(&before) && during.iter().all(|d| ids.contains(d)));
    let of = |id: Uuid| scans.iter().find(|s| s.id == id).unwrap();
    assert_eq!(of(before).patrol_id, None);
    assert_eq!(of(during[0]).patrol_id, Some(patrol));
    assert_eq!(of(during[1]).tag, "CP-EEEE-FFFF", "the tag is read as the server reads it");
    assert_eq!(of(during[0]).position.accuracy_m, Some(6.0));
    let position =
        |pred: &dyn Fn(&Request) -> bool| log.iter().position(|(_, r, s)| pred(r) && *s == 201).unwrap();
    let started = position(&|r| r.path == "/api/v1/patrols");
    let first_during = position(&|r| {
        r.path == "/api/v1/checkpoint-scans"
            && matches!(&r.body, Body::Json(b) if serde_json::from_slice::<kvo_api::rounds::NewScan>(b).unwrap().patrol_id.is_some())
    });
    assert!(started < first_during, "a patrol's scans go after its start");
}

struct StopAfterFirst(std::sync::Weak<KvoClient>);

impl mobile_core::SyncObserver for StopAfterFirst {
    fn on_progress(&self, state: mobile_core::QueueState) {
        if state.sent >= 1
            && let Some(c) = self.0.upgrade()
        {
            c.stop_sync();
        }
    }
}

#[test]
fn a_sync_ends_at_its_deadline_or_when_asked_and_backs_off_as_set() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = Arc::new(client(dir.path(), &fake));
    for i in 0..30 {
        c.create_report(draft(&format!("melding {i}"))).unwrap();
    }
    // The server keeps failing: the run gives up at its deadline, queue intact.
    fake.script(|_, _| Some(Ok(problem(503, "onderhoud"))));
    let started = Instant::now();
    let q = c.sync(400, None).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!((q.sent, q.pending), (0, 30));
    // The back-off set (20 ms base) is the one used: several attempts fit in 400 ms.
    let attempts = fake.answered(503).len();
    assert!(attempts >= 6, "{attempts} attempts in 400 ms");

    // Asked to stop after the first report: the run ends with the rest queued.
    fake.script(|_, _| None);
    let q = c.sync(10_000, Some(Arc::new(StopAfterFirst(Arc::downgrade(&c))))).unwrap();
    assert!(q.sent >= 1 && q.pending > 0, "{q:?}");
    let q = c.sync(10_000, None).unwrap();
    assert_eq!((q.sent, q.pending), (30, 0), "the next run sends the rest");
}

#[derive(Default)]
struct Seen(Mutex<Vec<mobile_core::QueueState>>);

impl mobile_core::SyncObserver for Seen {
    fn on_progress(&self, state: mobile_core::QueueState) {
        self.0.lock().unwrap().push(state);
    }
}

#[test]
fn progress_reaches_the_observer_item_by_item_with_the_bytes_sent() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    let mut photo_bytes = 0;
    for i in 0..4 {
        let r = c.create_report(draft(&format!("melding {i}"))).unwrap();
        photo_bytes += c.attach_photo(r.id, jpeg(i as u8)).unwrap().photo.bytes;
    }
    let seen = Arc::new(Seen::default());
    c.sync(10_000, Some(seen.clone())).unwrap();
    let seen = seen.0.lock().unwrap();
    let last = seen.last().expect("progress was reported");
    assert_eq!((last.sent, last.pending), (8, 0));
    assert_eq!(last.bytes_total, photo_bytes, "the photos' bytes are the total");
    assert_eq!(last.bytes_sent, last.bytes_total);
    assert!(seen.len() >= 8, "a report per item sent ({} reports)", seen.len());
    assert!(seen.windows(2).all(|w| w[0].sent <= w[1].sent && w[0].bytes_sent <= w[1].bytes_sent));
    assert!(seen.iter().any(|s| s.bytes_sent > 0 && s.bytes_sent < photo_bytes), "bytes grow photo by photo");
}

#[test]
fn an_item_told_to_wait_is_not_sent_again_before_its_time_even_by_a_new_run() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    c.create_report(draft("later")).unwrap();
    fake.script(|req, _| {
        (req.path == "/api/v1/incidents")
            .then(|| Ok(Answer { status: 503, retry_after: Some(60), etag: None, body: vec![] }))
    });
    c.sync(300, None).unwrap();
    assert_eq!(fake.answered(503).len(), 1);
    // The app runs sync again soon (a new report, the app reopened): the item waits its minute.
    let q = c.sync(300, None).unwrap();
    assert_eq!((fake.answered(503).len(), q.pending), (1, 1), "not due yet");
}

#[test]
fn each_failed_attempt_doubles_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c = client(dir.path(), &fake);
    c.set_backoff(200, 5_000);
    c.create_report(draft("traag")).unwrap();
    let n = Arc::new(Mutex::new(0));
    let m = n.clone();
    fake.script(move |req, _| {
        let mut n = m.lock().unwrap();
        (req.path == "/api/v1/incidents" && *n < 3).then(|| {
            *n += 1;
            Ok(problem(503, "even niet"))
        })
    });
    assert_eq!(c.sync(10_000, None).unwrap().sent, 1);
    let times: Vec<Instant> = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, r, _)| r.path == "/api/v1/incidents")
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(times.len(), 4);
    let waits: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // 200 ms, 400 ms, 800 ms, each ±25 % (and room above for a busy machine).
    for (wait, base) in waits.iter().zip([200u64, 400, 800]) {
        let (lo, hi) = (Duration::from_millis(base * 3 / 4), Duration::from_millis(base * 2));
        assert!(*wait >= lo && *wait <= hi, "waits {waits:?}");
    }
}

struct Refusing;

impl SecretStore for Refusing {
    fn load(&self, _: String) -> Option<String> {
        None
    }
    fn save(&self, _: String, _: Option<String>) -> bool {
        false
    }
}

#[test]
fn a_secure_storage_that_refuses_is_a_storage_error_never_a_fallback_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new();
    let c =
        KvoClient::with_transport(dir.path(), Box::new(Via(fake.clone())), Some(Arc::new(Refusing))).unwrap();
    let e = c.redeem_invite("KVO-TEST-TEST-TEST".into(), None, None).unwrap_err();
    assert!(matches!(e, mobile_core::ApiError::Storage { .. }), "{e:?}");
    assert!(!holds(&store_bytes(dir.path()), "kvod_test"), "the token did not land in the file instead");
    assert!(c.session().is_none());
}
