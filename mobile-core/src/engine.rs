//! The sync engine: drains the outbox through a [`Transport`] with a few
//! requests in flight, and applies the queue's decisions ([`queue::decide`])
//! to the store. No FFI here but the progress callback and the records it
//! carries; the exported [`crate::KvoClient`] wraps it, the tests drive it
//! with a scripted transport.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use kvo_api::wire::{Incident, IncidentStatus};
use rand::Rng;
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    queue::{Attempt, Backoff, Decision, decide},
    requests,
    secrets::{DEVICE_TOKEN, SecretStore},
    store::{Item, Kind, Store},
    transport::{Answer, Request, Transport},
};

/// Keys of the store's key-value table.
pub const SESSION_KEY: &str = "session";
pub const TOKEN_KEY: &str = "token";
pub const CATEGORIES_KEY: &str = "categories";
pub const CATEGORIES_ETAG_KEY: &str = "categories_etag";
/// Requests in flight during a sync: enough to keep a server with a few cores
/// busy (photos are processed in parallel there), few enough for a phone.
pub const SYNC_WORKERS: usize = 3;

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
    pub report_id: Uuid,
    pub category: String,
    /// The status the device knew before, if any.
    pub previous: Option<IncidentStatus>,
    pub status: IncidentStatus,
    /// A Dutch line for the notification.
    pub message: String,
}

/// Receives progress while a sync runs (on the syncing thread).
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// Called after every change of the queue.
    fn on_progress(&self, state: QueueState);
}

/// The store, the transport, and the state of syncing.
pub struct Engine {
    store: Mutex<Store>,
    transport: Box<dyn Transport>,
    /// The platform's secure storage for the token; `None` in tests and tools.
    secrets: Option<Arc<dyn SecretStore>>,
    backoff: Mutex<Backoff>,
    stop: AtomicBool,
}

impl Engine {
    /// An engine on `store` that reaches the server through `transport`.
    /// With `secrets`, the device token lives there (a token an older
    /// version kept in the store moves over); without, in the store (tests
    /// and tools only).
    pub fn new(
        store: Store,
        transport: Box<dyn Transport>,
        secrets: Option<Arc<dyn SecretStore>>,
    ) -> Result<Engine> {
        if let Some(s) = &secrets
            && let Some(old) = store.meta(TOKEN_KEY)?
        {
            if !s.save(DEVICE_TOKEN.into(), Some(old)) {
                return Err(Error::SecureStorage);
            }
            store.erase_meta(TOKEN_KEY)?;
        }
        Ok(Engine {
            store: Mutex::new(store),
            transport,
            secrets,
            backoff: Mutex::new(Backoff::default()),
            stop: AtomicBool::new(false),
        })
    }

    /// The store, for one short step (never held across a request).
    pub fn db(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The device token.
    pub fn token(&self) -> Result<String> {
        match &self.secrets {
            Some(s) => s.load(DEVICE_TOKEN.into()),
            None => self.db().meta(TOKEN_KEY)?,
        }
        .ok_or(Error::Unauthorized)
    }

    /// Keeps (or forgets) the device token.
    pub fn set_token(&self, token: Option<&str>) -> Result<()> {
        match &self.secrets {
            Some(s) if s.save(DEVICE_TOKEN.into(), token.map(str::to_string)) => Ok(()),
            Some(_) => Err(Error::SecureStorage),
            None => self.db().set_meta(TOKEN_KEY, token),
        }
    }

    /// Sends a request outside the queue.
    pub fn send(&self, req: Request) -> Result<Answer> {
        self.transport.send(req)
    }

    /// Sets the retry backoff.
    pub fn set_backoff(&self, b: Backoff) {
        *self.backoff.lock().unwrap_or_else(|p| p.into_inner()) = b;
    }

    /// Asks a running sync to stop after the requests under way.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// The queue's counts, with this run's bytes.
    pub fn state(&self, bytes_sent: u64, bytes_total: u64) -> Result<QueueState> {
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

    /// Records `status` for report `id`; a change when the device knew another
    /// status, or knew none and the report has moved on from nieuw.
    pub fn status_change(&self, id: Uuid, status: IncidentStatus) -> Result<Option<StatusChange>> {
        let Some((category, previous)) = self.db().set_server_status(&id.to_string(), status.code())? else {
            return Ok(None);
        };
        let previous = previous.as_deref().map(crate::ffi::status).transpose()?;
        let changed = match previous {
            Some(p) => p != status,
            None => status != IncidentStatus::Nieuw,
        };
        Ok(changed.then(|| StatusChange {
            report_id: id,
            category,
            previous,
            status,
            message: format!("Uw melding is nu: {}", status.label_nl().to_lowercase()),
        }))
    }

    /// Performs the request(s) of one queued item.
    fn perform(&self, item: &Item, token: &str) -> Result<Attempt> {
        let send = |req: Request| -> Result<(Attempt, Option<Answer>)> {
            match self.transport.send(req.token(token)) {
                Ok(a) => Ok((a.attempt(), Some(a))),
                Err(Error::Transport(_)) => Ok((Attempt::NoAnswer, None)),
                Err(e) => Err(e),
            }
        };
        match item.kind {
            Kind::Report => {
                let r = self.db().report(&item.entity_id)?;
                let (attempt, a) = send(requests::create_incident(&r)?)?;
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
                Ok(send(requests::put_photo(&p.report_id, &p.id, bytes))?.0)
            }
            Kind::Confirmation => {
                let id = self.db().confirmation(&item.entity_id)?;
                Ok(send(requests::confirm(&item.entity_id, &id)?)?.0)
            }
            Kind::Facts => {
                let (report, aangifte, damage) = self.db().facts(&item.entity_id)?;
                Ok(send(requests::facts(&report, aangifte, damage)?)?.0)
            }
            Kind::Scan => {
                let scan = self.db().scan(&item.entity_id)?;
                Ok(send(requests::scan(&scan)?)?.0)
            }
            Kind::PatrolStart => {
                let (area_id, started_at, _) = self.db().patrol(&item.entity_id)?;
                Ok(send(requests::start_patrol(&item.entity_id, &area_id, started_at)?)?.0)
            }
            Kind::PatrolRoute => {
                let points = self.db().points(&item.entity_id)?;
                let (_, _, ended_at) = self.db().patrol(&item.entity_id)?;
                let ended_at = ended_at.ok_or(Error::State("patrol has not ended"))?;
                let mut last = Attempt::NoAnswer;
                for req in requests::patrol_route(&item.entity_id, &points, ended_at)? {
                    last = send(req)?.0;
                    if !matches!(last, Attempt::Answered { status: 200..=299, .. }) {
                        break;
                    }
                }
                Ok(last)
            }
        }
    }

    /// Drains the outbox with [`SYNC_WORKERS`] requests in flight: items start
    /// in queue order, an item whose dependency is not yet sent waits, and a
    /// transient failure pauses every worker (the server or the network is the
    /// problem, not the item).
    pub fn sync(&self, budget: Duration, observer: Option<Arc<dyn SyncObserver>>) -> Result<QueueState> {
        self.stop.store(false, Ordering::SeqCst);
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
                // Pause the other workers first: persisting the retry takes an fsync.
                {
                    let mut p = run.paused_until.lock().unwrap_or_else(|p| p.into_inner());
                    let until = Instant::now() + d;
                    *p = Some(p.map_or(until, |old| old.max(until)));
                }
                self.db().mark_retry(item.seq, now_ms + d.as_millis() as i64)?;
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
    fn notify(&self, engine: &Engine) -> Result<()> {
        if let Some(o) = &self.observer {
            let _one_at_a_time = self.notifying.lock().unwrap_or_else(|p| p.into_inner());
            o.on_progress(engine.state(self.bytes_sent.load(Ordering::SeqCst), self.bytes_total)?);
        }
        Ok(())
    }
}

fn sleep_until(t: Instant, stop: &AtomicBool) {
    while Instant::now() < t && !stop.load(Ordering::SeqCst) {
        std::thread::sleep((t - Instant::now()).min(Duration::from_millis(50)));
    }
}
