//! [`KvoClient`], the object the apps hold: session, categories, reports,
//! photos, patrols, and the sync engine that drains the outbox.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, SubsecRound, Utc};
use kvo_api::{
    Description, Location,
    push::{PushMessage, PushReason},
    validate::check_occurred_at,
    wire::{
        CategoryList, DeviceSession, EndPatrol, Incident, IncidentPage, IncidentStatus, NewIncident,
        NewPatrol, RoutePoint, RoutePoints, WireLocation,
    },
};
use rand::Rng;
use uuid::Uuid;

use crate::{
    error::{ApiError, Error, Result},
    net::{Body, Http},
    photo,
    queue::{Attempt, Backoff, Decision, ItemState, decide},
    store::{Item, Kind, PhotoRow, ReportRow, Store},
};

/// The signed-in device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Session {
    pub person_id: String,
    pub area_id: String,
    pub area_name: String,
    /// ondernemer, beveiliger, …
    pub role: String,
}

/// A category the area offers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Category {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Option<String>,
    pub dimension: Option<String>,
}

/// A position with its accuracy (metres).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
}

/// What the user entered for a report.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportDraft {
    pub category: String,
    /// May be missing: the report waits until it has one (from GPS, a photo, or the user's pin).
    pub location: Option<GeoFix>,
    pub occurred_at: SystemTime,
    pub description: Option<String>,
}

/// A prepared photo on the device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoEntry {
    pub id: String,
    /// SHA-256 (hex) of the prepared JPEG: what leaves the device.
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub state: ItemState,
    pub reason: Option<String>,
}

/// A report on the device, with its queue state and the server's status.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Report {
    pub id: String,
    pub category: String,
    pub location: Option<GeoFix>,
    /// The fix is worse than 100 m: ask for a better one, or let the user place the pin.
    pub poor_location: bool,
    pub occurred_at: SystemTime,
    pub description: Option<String>,
    pub patrol_id: Option<String>,
    pub state: ItemState,
    /// Why it is wedged, in Dutch, for the user.
    pub reason: Option<String>,
    /// The server's follow-up status (nieuw, in_behandeling, opgelost, …) once known.
    pub server_status: Option<String>,
    pub photos: Vec<PhotoEntry>,
}

/// A photo just attached, and a location the app may offer when the report has none.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachedPhoto {
    pub photo: PhotoEntry,
    /// The position the original carried, if the report has no location yet.
    pub suggested_location: Option<GeoFix>,
}

/// Queue counts and upload progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, uniffi::Record)]
pub struct QueueState {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub wedged: u64,
    /// Bytes sent in this sync run, of `bytes_total` that were waiting when it began.
    pub bytes_sent: u64,
    pub bytes_total: u64,
}

/// The server's status of one of my reports changed: what the app shows as
/// a notification ("Uw melding is nu: opgelost").
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StatusChange {
    pub report_id: String,
    pub category: String,
    /// The status the device knew before, if any.
    pub previous: Option<String>,
    /// nieuw, in_behandeling, opgelost, afgewezen or heropend.
    pub status: String,
    /// A Dutch line for the notification.
    pub message: String,
}

/// Records `status` for report `id`; a change when the device knew another
/// status, or knew none and the report has moved on from nieuw.
fn status_change(db: &Store, id: &str, status: IncidentStatus) -> Result<Option<StatusChange>> {
    let Some((category, previous)) = db.set_server_status(id, status.code())? else {
        return Ok(None);
    };
    let changed = match &previous {
        Some(p) => p != status.code(),
        None => status != IncidentStatus::Nieuw,
    };
    Ok(changed.then(|| StatusChange {
        report_id: id.to_string(),
        category,
        previous,
        status: status.code().to_string(),
        message: format!("Uw melding is nu: {}", status.label_nl().to_lowercase()),
    }))
}

/// Receives progress while a sync runs (on the syncing thread).
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// Called after every change of the queue.
    fn on_progress(&self, state: QueueState);
}

/// The reporting core. Thread-safe: the app may create reports on the main
/// thread while another thread syncs.
#[derive(uniffi::Object)]
pub struct KvoClient {
    store: Mutex<Store>,
    http: Http,
    backoff: Mutex<Backoff>,
    syncing: AtomicBool,
    stop: AtomicBool,
}

const SESSION_KEY: &str = "session";
const TOKEN_KEY: &str = "token";
const CATEGORIES_KEY: &str = "categories";
const CATEGORIES_ETAG_KEY: &str = "categories_etag";
/// Requests in flight during a sync: enough to keep a server with a few cores
/// busy (photos are processed in parallel there), few enough for a phone.
const SYNC_WORKERS: usize = 3;
/// Route points per upload request.
const POINTS_PER_REQUEST: usize = 1_000;

fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t).trunc_subsecs(6)
}

impl KvoClient {
    fn db(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn token(&self) -> Result<String> {
        self.db().meta(TOKEN_KEY)?.ok_or(Error::Unauthorized)
    }

    fn session_inner(&self) -> Result<Session> {
        let raw = self.db().meta(SESSION_KEY)?.ok_or(Error::Unauthorized)?;
        let s: DeviceSession = serde_json::from_str(&raw)?;
        Ok(Session {
            person_id: s.person_id.to_string(),
            area_id: s.area_id.to_string(),
            area_name: s.area_name,
            role: s.role.code().to_string(),
        })
    }

    fn validate(
        &self,
        draft: &ReportDraft,
    ) -> Result<(Option<Location>, Option<Description>, DateTime<Utc>)> {
        let location = draft.location.map(|l| Location::new(l.lat, l.lon, l.accuracy_m)).transpose()?;
        let description = match &draft.description {
            Some(d) => Description::parse(d)?,
            None => None,
        };
        let occurred_at = to_utc(draft.occurred_at);
        check_occurred_at(occurred_at, Utc::now())?;
        let cats = self.categories_inner()?;
        if !cats.is_empty() && !cats.iter().any(|c| c.code == draft.category) {
            return Err(Error::Invalid {
                field: "category".into(),
                reason: "not offered in this area".into(),
            });
        }
        Ok((location, description, occurred_at))
    }

    fn categories_inner(&self) -> Result<Vec<Category>> {
        let Some(raw) = self.db().meta(CATEGORIES_KEY)? else {
            return Ok(vec![]);
        };
        let list: CategoryList = serde_json::from_str(&raw)?;
        Ok(list
            .categories
            .into_iter()
            .map(|c| Category {
                code: c.code,
                label_nl: c.label_nl,
                label_en: c.label_en,
                theme: c.theme.map(|t| t.code().to_string()),
                dimension: c.dimension.map(|d| d.code().to_string()),
            })
            .collect())
    }

    fn to_report(&self, r: ReportRow) -> Result<Report> {
        let photos = self.db().photos(&r.id)?.into_iter().map(photo_entry).collect();
        let location = match (r.lat, r.lon) {
            (Some(lat), Some(lon)) => Some(GeoFix { lat, lon, accuracy_m: r.accuracy_m }),
            _ => None,
        };
        Ok(Report {
            poor_location: r.accuracy_m.is_some_and(|a| a > kvo_api::validate::POOR_ACCURACY_M),
            id: r.id,
            category: r.category,
            location,
            occurred_at: r.occurred_at.into(),
            description: r.description,
            patrol_id: r.patrol_id,
            state: r.state,
            reason: r.reason,
            server_status: r.server_status,
            photos,
        })
    }

    fn state(&self, bytes_sent: u64, bytes_total: u64) -> Result<QueueState> {
        let c = self.db().counts()?;
        Ok(QueueState {
            pending: c.pending,
            sending: c.sending,
            sent: c.sent,
            wedged: c.wedged,
            bytes_sent,
            bytes_total,
        })
    }

    /// Performs the request of one queued item.
    fn perform(&self, item: &Item, token: &str) -> Result<Attempt> {
        let answer = |r: Result<crate::net::Answer>| match r {
            Ok(a) => Ok((a.attempt(), Some(a))),
            Err(Error::Transport(_)) => Ok((Attempt::NoAnswer, None)),
            Err(e) => Err(e),
        };
        match item.kind {
            Kind::Report => {
                let r = self.db().report(&item.entity_id)?;
                let body = NewIncident {
                    id: Uuid::parse_str(&r.id).map_err(|_| Error::State("corrupt report id"))?,
                    area_id: Uuid::parse_str(&r.area_id).map_err(|_| Error::State("corrupt area id"))?,
                    category: r.category.clone(),
                    location: WireLocation {
                        lat: r.lat.unwrap_or_default(),
                        lon: r.lon.unwrap_or_default(),
                        accuracy_m: r.accuracy_m,
                    },
                    occurred_at: r.occurred_at,
                    description: r.description.clone(),
                    patrol_id: r.patrol_id.as_deref().and_then(|p| Uuid::parse_str(p).ok()),
                };
                let (attempt, a) = answer(self.http.request(
                    "POST",
                    "/api/v1/incidents",
                    Some(token),
                    Body::Json(serde_json::to_vec(&body)?),
                    None,
                ))?;
                if let Some(inc) = a
                    .filter(|a| a.status < 300)
                    .and_then(|a| serde_json::from_slice::<Incident>(&a.body).ok())
                {
                    self.db().set_server_status(&r.id, inc.status.code())?;
                }
                Ok(attempt)
            }
            Kind::Photo => {
                let p = self.db().photo(&item.entity_id)?;
                let bytes = std::fs::read(&p.file)?;
                let path = format!("/api/v1/incidents/{}/photos/{}", p.report_id, p.id);
                Ok(answer(self.http.request("PUT", &path, Some(token), Body::Jpeg(&bytes), None))?.0)
            }
            Kind::PatrolStart => {
                let (area_id, started_at, _) = self.db().patrol(&item.entity_id)?;
                let body = NewPatrol {
                    id: Uuid::parse_str(&item.entity_id).map_err(|_| Error::State("corrupt patrol id"))?,
                    area_id: Uuid::parse_str(&area_id).map_err(|_| Error::State("corrupt area id"))?,
                    started_at,
                };
                Ok(answer(self.http.request(
                    "POST",
                    "/api/v1/patrols",
                    Some(token),
                    Body::Json(serde_json::to_vec(&body)?),
                    None,
                ))?
                .0)
            }
            Kind::PatrolRoute => {
                let points = self.db().points(&item.entity_id)?;
                let (_, _, ended_at) = self.db().patrol(&item.entity_id)?;
                let base = format!("/api/v1/patrols/{}", item.entity_id);
                for chunk in points.chunks(POINTS_PER_REQUEST) {
                    let body = RoutePoints {
                        points: chunk.iter().map(|&(at, lat, lon)| RoutePoint { lat, lon, at }).collect(),
                    };
                    let (attempt, _) = answer(self.http.request(
                        "POST",
                        &format!("{base}/points"),
                        Some(token),
                        Body::Json(serde_json::to_vec(&body)?),
                        None,
                    ))?;
                    if !matches!(attempt, Attempt::Answered { status: 200..=299, .. }) {
                        return Ok(attempt);
                    }
                }
                let body = EndPatrol { ended_at: ended_at.ok_or(Error::State("patrol has not ended"))? };
                Ok(answer(self.http.request(
                    "POST",
                    &format!("{base}/end"),
                    Some(token),
                    Body::Json(serde_json::to_vec(&body)?),
                    None,
                ))?
                .0)
            }
        }
    }

    /// Drains the outbox with [`SYNC_WORKERS`] requests in flight: items start
    /// in queue order, an item whose dependency is not yet sent waits, and a
    /// transient failure pauses every worker (the server or the network is the
    /// problem, not the item).
    fn sync_inner(&self, budget: Duration, observer: Option<Arc<dyn SyncObserver>>) -> Result<QueueState> {
        let token = self.token()?;
        let run = Run {
            deadline: Instant::now() + budget,
            bytes_total: self.db().unsent_bytes()?,
            bytes_sent: AtomicU64::new(0),
            paused_until: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            signed_out: AtomicBool::new(false),
            observer,
            notifying: Mutex::new(()),
        };
        run.notify(self)?;
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let workers: Vec<_> =
                (0..SYNC_WORKERS).map(|_| scope.spawn(|| self.worker(&run, &token))).collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or(Err(Error::State("sync worker panicked"))))
                .collect()
        });
        // The last word is the final state, whatever order the workers' calls arrived in.
        run.notify(self)?;
        if run.signed_out.load(Ordering::SeqCst) {
            return Err(Error::Unauthorized);
        }
        results.into_iter().collect::<Result<Vec<()>>>()?;
        self.state(run.bytes_sent.load(Ordering::SeqCst), run.bytes_total)
    }

    fn worker(&self, run: &Run, token: &str) -> Result<()> {
        loop {
            if self.stop.load(Ordering::SeqCst)
                || run.signed_out.load(Ordering::SeqCst)
                || Instant::now() >= run.deadline
            {
                return Ok(());
            }
            let pause = *run.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = pause.filter(|p| *p > Instant::now()) {
                if p >= run.deadline {
                    return Ok(());
                }
                sleep_until(p, &self.stop);
                continue;
            }
            let now_ms = Utc::now().timestamp_millis();
            let claimed = {
                let db = self.db();
                let item = db.next_due(now_ms)?;
                if let Some(i) = &item {
                    db.mark_sending(i.seq)?;
                }
                item
            };
            let Some(item) = claimed else {
                // Nothing due: wait for an item in flight (it may release dependants)
                // or for the earliest backoff to pass; otherwise the queue is done.
                let wakeup = self.db().next_wakeup()?;
                let busy = run.in_flight.load(Ordering::SeqCst) > 0;
                match wakeup {
                    Some(t) if t > now_ms => sleep_until(
                        Instant::now() + Duration::from_millis(((t - now_ms) as u64).min(50)),
                        &self.stop,
                    ),
                    _ if busy => std::thread::sleep(Duration::from_millis(5)),
                    _ => return Ok(()),
                }
                continue;
            };
            run.in_flight.fetch_add(1, Ordering::SeqCst);
            let outcome = self.send_one(run, &item, token, now_ms);
            run.in_flight.fetch_sub(1, Ordering::SeqCst);
            outcome?;
            run.notify(self)?;
        }
    }

    fn send_one(&self, run: &Run, item: &Item, token: &str, now_ms: i64) -> Result<()> {
        run.notify(self)?;
        let attempt = self.perform(item, token)?;
        let backoff = *self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        match decide(&attempt, item.attempts + 1, &backoff, rand::rng().random()) {
            Decision::Done => {
                self.db().mark_sent(item)?;
                run.bytes_sent.fetch_add(item.bytes, Ordering::SeqCst);
            }
            Decision::RetryAfter(d) => {
                self.db().mark_retry(item.seq, now_ms + d.as_millis() as i64)?;
                let mut p = run.paused_until.lock().unwrap_or_else(|p| p.into_inner());
                let until = Instant::now() + d;
                *p = Some(p.map_or(until, |old| old.max(until)));
            }
            Decision::Wedge(reason) => self.db().mark_wedged(item.seq, &reason)?,
            Decision::SignInAgain => {
                self.db().mark_retry(item.seq, now_ms)?;
                run.signed_out.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

/// Shared state of one sync run.
struct Run {
    deadline: Instant,
    bytes_total: u64,
    bytes_sent: AtomicU64,
    paused_until: Mutex<Option<Instant>>,
    in_flight: AtomicUsize,
    signed_out: AtomicBool,
    observer: Option<Arc<dyn SyncObserver>>,
    /// One progress call at a time, so the app never sees two at once.
    notifying: Mutex<()>,
}

impl Run {
    fn notify(&self, client: &KvoClient) -> Result<()> {
        if let Some(o) = &self.observer {
            let _one_at_a_time = self.notifying.lock().unwrap_or_else(|p| p.into_inner());
            o.on_progress(client.state(self.bytes_sent.load(Ordering::SeqCst), self.bytes_total)?);
        }
        Ok(())
    }
}

fn sleep_until(t: Instant, stop: &AtomicBool) {
    while Instant::now() < t && !stop.load(Ordering::SeqCst) {
        std::thread::sleep((t - Instant::now()).min(Duration::from_millis(50)));
    }
}

fn photo_entry(p: PhotoRow) -> PhotoEntry {
    PhotoEntry {
        id: p.id,
        sha256: p.sha256,
        bytes: p.bytes,
        width: p.width,
        height: p.height,
        state: p.state,
        reason: p.reason,
    }
}

#[uniffi::export]
impl KvoClient {
    /// Opens the client on `data_dir` (created if missing) for the server at
    /// `server_url`. Work that was under way when the app was killed is queued again.
    #[uniffi::constructor]
    pub fn open(data_dir: String, server_url: String) -> std::result::Result<Arc<KvoClient>, ApiError> {
        let store = Store::open(std::path::Path::new(&data_dir))?;
        Ok(Arc::new(KvoClient {
            store: Mutex::new(store),
            http: Http::new(&server_url),
            backoff: Mutex::new(Backoff::default()),
            syncing: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }))
    }

    /// Sets the retry backoff: `base_ms × 2^attempt`, at most `max_ms`, ±25 % jitter.
    pub fn set_backoff(&self, base_ms: u64, max_ms: u64) {
        *self.backoff.lock().unwrap_or_else(|p| p.into_inner()) = Backoff {
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
            jitter: 0.25,
        };
    }

    /// The signed-in device, if any.
    pub fn session(&self) -> Option<Session> {
        self.session_inner().ok()
    }

    /// Redeems an invite code (as printed or typed) for this device.
    pub fn redeem_invite(
        &self,
        code: String,
        display_name: Option<String>,
        device_name: Option<String>,
    ) -> std::result::Result<Session, ApiError> {
        let body =
            serde_json::json!({"code": code, "display_name": display_name, "device_name": device_name});
        let answer = self.http.request(
            "POST",
            "/api/v1/devices/redeem",
            None,
            Body::Json(serde_json::to_vec(&body).map_err(Error::from)?),
            None,
        )?;
        if answer.status == 400 {
            return Err(ApiError::InvalidInput {
                field: "code".into(),
                reason: answer.detail().unwrap_or_default(),
            });
        }
        let s: DeviceSession = serde_json::from_slice(&answer.ok()?.body).map_err(Error::from)?;
        let db = self.db();
        db.set_meta(TOKEN_KEY, Some(&s.token))?;
        let mut stored = s.clone();
        stored.token = String::new();
        db.set_meta(SESSION_KEY, Some(&serde_json::to_string(&stored).map_err(Error::from)?))?;
        drop(db);
        Ok(self.session_inner()?)
    }

    /// Signs this device out: revokes the token on the server (if reachable)
    /// and forgets it. Unsent reports stay on the device.
    pub fn sign_out(&self) -> std::result::Result<(), ApiError> {
        if let Ok(token) = self.token() {
            let _ = self.http.request("DELETE", "/api/v1/devices/current", Some(&token), Body::None, None);
        }
        let db = self.db();
        db.set_meta(TOKEN_KEY, None)?;
        db.set_meta(SESSION_KEY, None)?;
        Ok(())
    }

    /// The area's categories from the offline cache (empty before the first refresh).
    pub fn categories(&self) -> std::result::Result<Vec<Category>, ApiError> {
        Ok(self.categories_inner()?)
    }

    /// Refreshes the categories with the server's ETag; returns whether they changed.
    pub fn refresh_categories(&self) -> std::result::Result<bool, ApiError> {
        let session = self.session_inner()?;
        let token = self.token()?;
        let etag = self.db().meta(CATEGORIES_ETAG_KEY)?;
        let path = format!("/api/v1/areas/{}/categories", session.area_id);
        let a = self.http.request("GET", &path, Some(&token), Body::None, etag.as_deref())?.ok()?;
        if a.status == 304 {
            return Ok(false);
        }
        let list: CategoryList = serde_json::from_slice(&a.body).map_err(Error::from)?;
        let db = self.db();
        db.set_meta(CATEGORIES_KEY, Some(&serde_json::to_string(&list).map_err(Error::from)?))?;
        db.set_meta(CATEGORIES_ETAG_KEY, a.etag.as_deref())?;
        Ok(true)
    }

    /// Creates a report. It is stored and queued before anything touches the
    /// network; during a patrol it belongs to the patrol.
    pub fn create_report(&self, draft: ReportDraft) -> std::result::Result<Report, ApiError> {
        let session = self.session_inner()?;
        let (location, description, occurred_at) = self.validate(&draft)?;
        let patrol_id = self.db().active_patrol()?.map(|p| p.0);
        let row = ReportRow {
            id: Uuid::new_v4().to_string(),
            area_id: session.area_id,
            category: draft.category,
            lat: location.map(|l| l.lat()),
            lon: location.map(|l| l.lon()),
            accuracy_m: location.and_then(|l| l.accuracy_m()),
            occurred_at,
            description: description.map(Description::into_inner),
            patrol_id,
            state: ItemState::Pending,
            reason: None,
            server_status: None,
        };
        self.db().insert_report(&row, Utc::now())?;
        let stored = self.db().report(&row.id)?;
        Ok(self.to_report(stored)?)
    }

    /// Changes a report that has not been sent yet (a wedged report may be
    /// corrected and is then queued again).
    pub fn update_report(&self, id: String, draft: ReportDraft) -> std::result::Result<Report, ApiError> {
        let (location, description, occurred_at) = self.validate(&draft)?;
        let mut row = self.db().report(&id)?;
        row.category = draft.category;
        row.lat = location.map(|l| l.lat());
        row.lon = location.map(|l| l.lon());
        row.accuracy_m = location.and_then(|l| l.accuracy_m());
        row.occurred_at = occurred_at;
        row.description = description.map(Description::into_inner);
        self.db().update_report(&row)?;
        let stored = self.db().report(&id)?;
        Ok(self.to_report(stored)?)
    }

    /// Sets only the location of an unsent report (the user's pin, or a photo's position).
    pub fn set_location(&self, id: String, location: GeoFix) -> std::result::Result<Report, ApiError> {
        let r = self.report(id.clone())?;
        let draft = ReportDraft {
            category: r.category,
            location: Some(location),
            occurred_at: r.occurred_at,
            description: r.description,
        };
        self.update_report(id, draft)
    }

    /// One report on this device.
    pub fn report(&self, id: String) -> std::result::Result<Report, ApiError> {
        let row = self.db().report(&id)?;
        Ok(self.to_report(row)?)
    }

    /// Every report on this device, newest first.
    pub fn reports(&self) -> std::result::Result<Vec<Report>, ApiError> {
        let rows = self.db().reports()?;
        Ok(rows.into_iter().map(|r| self.to_report(r)).collect::<Result<_>>()?)
    }

    /// Prepares a photo (EXIF orientation applied, metadata stripped, at most
    /// 1600 px, JPEG q80) and queues it after its report; also for a report that
    /// was already sent. The original bytes are not kept.
    pub fn attach_photo(
        &self,
        report_id: String,
        image: Vec<u8>,
    ) -> std::result::Result<AttachedPhoto, ApiError> {
        let report = self.db().report(&report_id)?;
        let prepared = photo::prepare(&image).map_err(Error::from)?;
        drop(image);
        let row = PhotoRow {
            id: Uuid::new_v4().to_string(),
            report_id: report_id.clone(),
            file: Default::default(),
            sha256: prepared.sha256.clone(),
            bytes: prepared.jpeg.len() as u64,
            width: prepared.width,
            height: prepared.height,
            state: ItemState::Pending,
            reason: None,
        };
        self.db().insert_photo(&row, &prepared.jpeg, Utc::now())?;
        let suggested_location = match (report.lat, prepared.gps) {
            (None, Some((lat, lon))) => Some(GeoFix { lat, lon, accuracy_m: None }),
            _ => None,
        };
        let photo = photo_entry(self.db().photo(&row.id)?);
        Ok(AttachedPhoto { photo, suggested_location })
    }

    /// Starts a surveillance round; reports made until it ends belong to it.
    pub fn start_patrol(&self) -> std::result::Result<String, ApiError> {
        let session = self.session_inner()?;
        if self.db().active_patrol()?.is_some() {
            return Err(ApiError::State { reason: "a patrol is already under way".into() });
        }
        let id = Uuid::new_v4().to_string();
        self.db().insert_patrol(&id, &session.area_id, Utc::now().trunc_subsecs(6))?;
        Ok(id)
    }

    /// Adds a point to the route of the patrol under way. Cheap enough to call
    /// every few seconds; points at an already stored time are ignored.
    pub fn add_route_point(&self, lat: f64, lon: f64, at: SystemTime) -> std::result::Result<(), ApiError> {
        let loc = Location::new(lat, lon, None).map_err(Error::from)?;
        let db = self.db();
        let (id, _, _) =
            db.active_patrol()?.ok_or(ApiError::State { reason: "no patrol under way".into() })?;
        db.add_point(&id, to_utc(at), loc.lat(), loc.lon())?;
        Ok(())
    }

    /// Ends the patrol under way; its route is uploaded with it.
    pub fn end_patrol(&self) -> std::result::Result<(), ApiError> {
        let mut db = self.db();
        let (id, _, _) =
            db.active_patrol()?.ok_or(ApiError::State { reason: "no patrol under way".into() })?;
        db.end_patrol(&id, Utc::now().trunc_subsecs(6))?;
        Ok(())
    }

    /// The id of the patrol under way, if any.
    pub fn active_patrol(&self) -> Option<String> {
        self.db().active_patrol().ok().flatten().map(|p| p.0)
    }

    /// Counts of the queue.
    pub fn queue_state(&self) -> std::result::Result<QueueState, ApiError> {
        Ok(self.state(0, 0)?)
    }

    /// Sends what is queued, in order, for at most `budget_ms`; retries with
    /// backoff, wedges what can never succeed, reports progress to `observer`.
    /// Returns when the queue is empty (or only wedged items and reports without
    /// a location remain), when the budget is spent, or after `stop_sync`.
    pub fn sync(
        &self,
        budget_ms: u64,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> std::result::Result<QueueState, ApiError> {
        if self.syncing.swap(true, Ordering::SeqCst) {
            return Err(ApiError::State { reason: "a sync is already running".into() });
        }
        self.stop.store(false, Ordering::SeqCst);
        let result = self.sync_inner(Duration::from_millis(budget_ms), observer);
        self.syncing.store(false, Ordering::SeqCst);
        Ok(result?)
    }

    /// Asks a running sync to stop after the request under way.
    pub fn stop_sync(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Fetches the status of my reports from the server ("what happened to my
    /// report") and returns every report on the device.
    pub fn refresh_my_reports(&self) -> std::result::Result<Vec<Report>, ApiError> {
        self.status_changes()?;
        self.reports()
    }

    /// Fetches the status of my reports from the server and returns what
    /// changed since the device last knew: for an app that polls, or that
    /// woke up from a push it could not read.
    pub fn status_changes(&self) -> std::result::Result<Vec<StatusChange>, ApiError> {
        let token = self.token()?;
        let mut cursor: Option<String> = None;
        let mut changes = vec![];
        loop {
            let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let a = self
                .http
                .request(
                    "GET",
                    &format!("/api/v1/incidents?mine=true&limit=500{q}"),
                    Some(&token),
                    Body::None,
                    None,
                )?
                .ok()?;
            let page: IncidentPage = serde_json::from_slice(&a.body).map_err(Error::from)?;
            for inc in &page.items {
                changes.extend(status_change(&self.db(), &inc.id.to_string(), inc.status)?);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(changes)
    }

    /// Reads the decrypted payload of a push (Web Push, or the data of an FCM
    /// or APNs message) and records a status change of one of my reports.
    /// Returns the change, or `None` when the push is about something else or
    /// tells nothing new (a repeated delivery).
    pub fn handle_push(&self, payload: String) -> std::result::Result<Option<StatusChange>, ApiError> {
        let msg: PushMessage = serde_json::from_str(&payload).map_err(|e| ApiError::InvalidInput {
            field: "payload".into(),
            reason: format!("geen KVO-pushbericht / not a KVO push message: {e}"),
        })?;
        if msg.reason != PushReason::Status {
            return Ok(None);
        }
        Ok(status_change(&self.db(), &msg.incident_id.to_string(), msg.status)?)
    }
}
