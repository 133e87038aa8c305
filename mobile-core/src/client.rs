//! [`KvoClient`], the object the apps hold: session, categories, reports,
//! photos and patrols, over the sync [`Engine`] that drains the outbox.
//! This is the FFI surface: records in, records out, `ApiError` on failure.

use std::{
    collections::HashMap,
    sync::{
        Arc, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use chrono::{DateTime, SubsecRound, Utc};
use kvo_api::{
    Description, Dimension, Location, Role, Theme,
    push::{PushMessage, PushReason},
    questions::{Answer, Answers, Question, check_answers},
    validate::check_occurred_at,
    wire::{CategoryList, DeviceSession, IncidentPage, IncidentStatus, Nearby},
};
use uuid::Uuid;

pub use crate::engine::{QueueState, StatusChange, SyncObserver};
use crate::{
    engine::{CATEGORIES_ETAG_KEY, CATEGORIES_KEY, Engine, SESSION_KEY},
    error::{ApiError, Error, Result},
    ffi, photo,
    queue::{Backoff, ItemState},
    requests,
    secrets::SecretStore,
    store::{PhotoRow, ReportRow, ScanRow, Store},
    transport::{Http, Transport},
};

/// The signed-in device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Session {
    pub person_id: Uuid,
    pub area_id: Uuid,
    pub area_name: String,
    pub role: Role,
}

/// A category the area offers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Category {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    /// Shown under "Spoed" (with 112 for an emergency).
    pub urgent: bool,
    /// What a report of this category is asked; `create_report` checks the
    /// answers with the server's own rules.
    pub questions: Vec<Question>,
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
    /// Answers to the category's questions, by question code.
    #[uniffi(default)]
    pub answers: HashMap<String, Answer>,
    /// Hide the reporter's name from the other members (the beheerder still sees it).
    #[uniffi(default)]
    pub anonymous: bool,
    /// The asset of the gemeente's register the report is about, as
    /// `nearest_assets` offered it (a lamp post for a lighting report).
    #[uniffi(default)]
    pub asset_id: Option<Uuid>,
}

/// A prepared photo on the device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoEntry {
    pub id: Uuid,
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
    pub id: Uuid,
    pub category: String,
    pub location: Option<GeoFix>,
    /// The fix is worse than 100 m: ask for a better one, or let the user place the pin.
    pub poor_location: bool,
    pub occurred_at: SystemTime,
    pub description: Option<String>,
    pub answers: HashMap<String, Answer>,
    pub anonymous: bool,
    pub asset_id: Option<Uuid>,
    pub patrol_id: Option<Uuid>,
    pub state: ItemState,
    /// Why it is wedged, in Dutch, for the user.
    pub reason: Option<String>,
    /// The server's follow-up status once known.
    pub server_status: Option<IncidentStatus>,
    /// Whether the reporter filed a police report (aangifte), as last recorded here.
    pub aangifte: Option<bool>,
    /// The damage in euros, as last recorded here.
    pub damage_eur: Option<f64>,
    pub photos: Vec<PhotoEntry>,
}

/// An asset of the gemeente's register near the reporter.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyAsset {
    pub id: Uuid,
    /// `lichtmast`, `afvalbak`, `camera` or `bank`.
    pub kind: String,
    /// The gemeente's number on the asset ("0412").
    pub external_id: String,
    /// How the app shows it: "lichtmast 0412".
    pub label_nl: String,
    pub name: Option<String>,
    pub street: Option<String>,
    pub distance_m: f64,
}

/// A photo just attached, and a location the app may offer when the report has none.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttachedPhoto {
    pub photo: PhotoEntry,
    /// The position the original carried, if the report has no location yet.
    pub suggested_location: Option<GeoFix>,
}

/// An open report nearby of the same category: offered before a new one is
/// made ("al gemeld in de buurt"), to confirm instead ("dit is dezelfde").
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyReport {
    pub id: Uuid,
    pub category: String,
    pub occurred_at: SystemTime,
    pub status: IncidentStatus,
    pub distance_m: f64,
}

/// The reporting core. Thread-safe: the app may create reports on the main
/// thread while another thread syncs.
#[derive(uniffi::Object)]
pub struct KvoClient {
    engine: Engine,
    syncing: AtomicBool,
}

/// A draft that passed the checks, in the domain's types.
struct Checked {
    location: Option<Location>,
    description: Option<Description>,
    occurred_at: DateTime<Utc>,
    answers: Answers,
}

fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t).trunc_subsecs(6)
}

impl KvoClient {
    /// A client on `data_dir` that reaches the server through `transport`
    /// (not exported: the apps use [`KvoClient::open`]; tests script a transport).
    pub fn with_transport(
        data_dir: &std::path::Path,
        transport: Box<dyn Transport>,
        secrets: Option<Arc<dyn SecretStore>>,
    ) -> Result<KvoClient> {
        let store = Store::open(data_dir)?;
        Ok(KvoClient { engine: Engine::new(store, transport, secrets)?, syncing: AtomicBool::new(false) })
    }

    fn db(&self) -> MutexGuard<'_, Store> {
        self.engine.db()
    }

    fn token(&self) -> Result<String> {
        self.engine.token()
    }

    fn session_inner(&self) -> Result<Session> {
        let raw = self.db().meta(SESSION_KEY)?.ok_or(Error::Unauthorized)?;
        let s: DeviceSession = serde_json::from_str(&raw)?;
        Ok(Session { person_id: s.person_id, area_id: s.area_id, area_name: s.area_name, role: s.role })
    }

    fn validate(&self, draft: &ReportDraft) -> Result<Checked> {
        let location = draft.location.map(|l| Location::new(l.lat, l.lon, l.accuracy_m)).transpose()?;
        let description = match &draft.description {
            Some(d) => Description::parse(d)?,
            None => None,
        };
        let occurred_at = to_utc(draft.occurred_at);
        check_occurred_at(occurred_at, Utc::now())?;
        let answers: Answers = draft.answers.clone().into_iter().collect();
        let cats = self.categories_inner()?;
        if !cats.is_empty() {
            let category = cats.iter().find(|c| c.code == draft.category).ok_or_else(|| Error::Invalid {
                field: "category".into(),
                reason: "not offered in this area".into(),
            })?;
            check_answers(&category.questions, &answers)?;
        }
        if draft.asset_id.is_some() && kvo_api::registers::kinds_for(&draft.category).is_empty() {
            return Err(Error::Invalid {
                field: "asset_id".into(),
                reason: "a report of this category is not about an asset of the register".into(),
            });
        }
        Ok(Checked { location, description, occurred_at, answers })
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
                theme: c.theme,
                dimension: c.dimension,
                urgent: c.urgent,
                questions: c.questions,
            })
            .collect())
    }

    fn to_report(&self, r: ReportRow) -> Result<Report> {
        let photos = self.db().photos(&r.id)?.into_iter().map(photo_entry).collect::<Result<_>>()?;
        let (aangifte, damage_eur) = self.db().report_facts(&r.id)?;
        let location = match (r.lat, r.lon) {
            (Some(lat), Some(lon)) => Some(GeoFix { lat, lon, accuracy_m: r.accuracy_m }),
            _ => None,
        };
        Ok(Report {
            poor_location: r.accuracy_m.is_some_and(|a| a > kvo_api::validate::POOR_ACCURACY_M),
            id: ffi::id(&r.id)?,
            category: r.category,
            location,
            occurred_at: r.occurred_at.into(),
            description: r.description,
            answers: r.answers.into_iter().collect(),
            anonymous: r.anonymous,
            asset_id: r.asset_id.as_deref().map(ffi::id).transpose()?,
            patrol_id: r.patrol_id.as_deref().map(ffi::id).transpose()?,
            state: r.state,
            reason: r.reason,
            server_status: r.server_status.as_deref().map(ffi::status).transpose()?,
            aangifte,
            damage_eur,
            photos,
        })
    }
}

fn photo_entry(p: PhotoRow) -> Result<PhotoEntry> {
    Ok(PhotoEntry {
        id: ffi::id(&p.id)?,
        sha256: p.sha256,
        bytes: p.bytes,
        width: p.width,
        height: p.height,
        state: p.state,
        reason: p.reason,
    })
}

#[uniffi::export]
impl KvoClient {
    /// Opens the client on `data_dir` (created if missing) for the server at
    /// `server_url`, with the device token in the platform's secure storage
    /// (`secrets`: Android Keystore, iOS Keychain). Work that was under way
    /// when the app was killed is queued again.
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        server_url: String,
        secrets: Arc<dyn SecretStore>,
    ) -> std::result::Result<Arc<KvoClient>, ApiError> {
        let transport = Box::new(Http::new(&server_url));
        Ok(Arc::new(KvoClient::with_transport(std::path::Path::new(&data_dir), transport, Some(secrets))?))
    }

    /// Tests and tools only: as [`KvoClient::open`], with the device token in
    /// the queue's SQLite file instead of secure storage.
    #[uniffi::constructor]
    pub fn open_for_tests(
        data_dir: String,
        server_url: String,
    ) -> std::result::Result<Arc<KvoClient>, ApiError> {
        let transport = Box::new(Http::new(&server_url));
        Ok(Arc::new(KvoClient::with_transport(std::path::Path::new(&data_dir), transport, None)?))
    }

    /// Sets the retry backoff: `base_ms × 2^attempt`, at most `max_ms`, ±25 % jitter.
    pub fn set_backoff(&self, base_ms: u64, max_ms: u64) {
        self.engine.set_backoff(Backoff {
            base: Duration::from_millis(base_ms),
            max: Duration::from_millis(max_ms),
            jitter: 0.25,
        });
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
        let req = requests::redeem(&code, display_name.as_deref(), device_name.as_deref())?;
        let answer = self.engine.send(req)?;
        // An unknown, expired or used-up code (422; 400 from servers before issue 17).
        if matches!(answer.status, 400 | 422) {
            return Err(ApiError::InvalidInput {
                field: "code".into(),
                reason: answer.detail().unwrap_or_default(),
            });
        }
        let s: DeviceSession = serde_json::from_slice(&answer.ok()?.body).map_err(Error::from)?;
        self.engine.set_token(Some(&s.token))?;
        let mut stored = s.clone();
        stored.token = String::new();
        self.db().set_meta(SESSION_KEY, Some(&serde_json::to_string(&stored).map_err(Error::from)?))?;
        Ok(self.session_inner()?)
    }

    /// Signs this device out: revokes the token on the server (if reachable)
    /// and forgets it. Unsent reports stay on the device.
    pub fn sign_out(&self) -> std::result::Result<(), ApiError> {
        if let Ok(token) = self.token() {
            let _ = self.engine.send(requests::sign_out().token(&token));
        }
        self.engine.set_token(None)?;
        self.db().set_meta(SESSION_KEY, None)?;
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
        let a = self.engine.send(requests::categories(session.area_id, etag).token(&token))?.ok()?;
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
        let Checked { location, description, occurred_at, answers } = self.validate(&draft)?;
        let patrol_id = self.db().active_patrol()?.map(|p| p.0);
        let row = ReportRow {
            id: Uuid::new_v4().to_string(),
            area_id: session.area_id.to_string(),
            category: draft.category,
            lat: location.map(|l| l.lat()),
            lon: location.map(|l| l.lon()),
            accuracy_m: location.and_then(|l| l.accuracy_m()),
            occurred_at,
            description: description.map(Description::into_inner),
            patrol_id,
            answers,
            anonymous: draft.anonymous,
            asset_id: draft.asset_id.map(|a| a.to_string()),
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
    pub fn update_report(&self, id: Uuid, draft: ReportDraft) -> std::result::Result<Report, ApiError> {
        let Checked { location, description, occurred_at, answers } = self.validate(&draft)?;
        let id = id.to_string();
        let mut row = self.db().report(&id)?;
        row.category = draft.category;
        row.lat = location.map(|l| l.lat());
        row.lon = location.map(|l| l.lon());
        row.accuracy_m = location.and_then(|l| l.accuracy_m());
        row.occurred_at = occurred_at;
        row.description = description.map(Description::into_inner);
        row.answers = answers;
        row.anonymous = draft.anonymous;
        row.asset_id = draft.asset_id.map(|a| a.to_string());
        self.db().update_report(&row)?;
        let stored = self.db().report(&id)?;
        Ok(self.to_report(stored)?)
    }

    /// Sets only the location of an unsent report (the user's pin, or a photo's position).
    pub fn set_location(&self, id: Uuid, location: GeoFix) -> std::result::Result<Report, ApiError> {
        let r = self.report(id)?;
        let draft = ReportDraft {
            category: r.category,
            location: Some(location),
            occurred_at: r.occurred_at,
            description: r.description,
            answers: r.answers,
            anonymous: r.anonymous,
            asset_id: r.asset_id,
        };
        self.update_report(id, draft)
    }

    /// One report on this device.
    pub fn report(&self, id: Uuid) -> std::result::Result<Report, ApiError> {
        let row = self.db().report(&id.to_string())?;
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
        report_id: Uuid,
        image: Vec<u8>,
    ) -> std::result::Result<AttachedPhoto, ApiError> {
        let report_id = report_id.to_string();
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
        let photo = photo_entry(self.db().photo(&row.id)?)?;
        Ok(AttachedPhoto { photo, suggested_location })
    }

    /// Open reports of `category` near `location` on the server, nearest
    /// first, to offer "dit is dezelfde" before a new report is made. Needs
    /// the network (`ApiError::Network` without it: then just report).
    pub fn nearby(
        &self,
        category: String,
        location: GeoFix,
    ) -> std::result::Result<Vec<NearbyReport>, ApiError> {
        let session = self.session_inner()?;
        let token = self.token()?;
        let loc = Location::new(location.lat, location.lon, location.accuracy_m).map_err(Error::from)?;
        let answer = self
            .engine
            .send(requests::nearby(session.area_id, &category, loc.lat(), loc.lon()).token(&token))?;
        let list: Nearby = serde_json::from_slice(&answer.ok()?.body).map_err(Error::from)?;
        Ok(list
            .items
            .into_iter()
            .map(|d| NearbyReport {
                id: d.id,
                category: d.category,
                occurred_at: d.occurred_at.into(),
                status: d.status,
                distance_m: d.distance_m,
            })
            .collect())
    }

    /// The assets of the gemeente's register near `location` that a report
    /// of `category` may be about, nearest first (a lighting report gets the
    /// nearest lamp posts): offer them, and put the chosen one's id in the
    /// draft's `asset_id`. Empty for a category about no asset (asked
    /// without the network then). Needs the network otherwise
    /// (`ApiError::Network` without it: then report without the link).
    pub fn nearest_assets(
        &self,
        category: String,
        location: GeoFix,
    ) -> std::result::Result<Vec<NearbyAsset>, ApiError> {
        let session = self.session_inner()?;
        if kvo_api::registers::kinds_for(&category).is_empty() {
            return Ok(vec![]);
        }
        let token = self.token()?;
        let loc = Location::new(location.lat, location.lon, location.accuracy_m).map_err(Error::from)?;
        let answer =
            self.engine.send(requests::nearest_assets(session.area_id, &category, loc).token(&token))?;
        let list: Vec<kvo_api::registers::NearestAsset> =
            serde_json::from_slice(&answer.ok()?.body).map_err(Error::from)?;
        Ok(list
            .into_iter()
            .map(|n| NearbyAsset {
                id: n.asset.id,
                kind: n.asset.kind.code().to_string(),
                label_nl: format!("{} {}", n.asset.kind.labels().0, n.asset.external_id),
                external_id: n.asset.external_id,
                name: n.asset.name,
                street: n.asset.street,
                distance_m: n.distance_m,
            })
            .collect())
    }

    /// Records on one of my reports whether I filed a police report
    /// (aangifte) and the damage in euros; either may be left out. Queued
    /// like the report (offline is fine) and sent after it, changes in order.
    pub fn set_facts(
        &self,
        report_id: Uuid,
        aangifte: Option<bool>,
        damage_eur: Option<f64>,
    ) -> std::result::Result<Report, ApiError> {
        self.session_inner()?;
        if aangifte.is_none() && damage_eur.is_none() {
            return Err(ApiError::InvalidInput {
                field: "aangifte".into(),
                reason: "nothing to record".into(),
            });
        }
        if damage_eur.is_some_and(|eur| kvo_api::follow_up::damage_cents(eur).is_none()) {
            return Err(ApiError::InvalidInput {
                field: "damage_eur".into(),
                reason: "an amount from 0 to 1,000,000,000 euros, at most two decimals".into(),
            });
        }
        let id = report_id.to_string();
        self.db().insert_facts(&id, aangifte, damage_eur, Utc::now())?;
        self.report(report_id)
    }

    /// "Dit is dezelfde": confirms someone else's open report instead of
    /// making a new one. Stored and queued like a report (offline is fine);
    /// confirming the same report twice counts once.
    pub fn confirm_same(&self, incident_id: Uuid) -> std::result::Result<(), ApiError> {
        self.session_inner()?;
        self.db().insert_confirmation(&incident_id.to_string(), &Uuid::new_v4().to_string(), Utc::now())?;
        Ok(())
    }

    /// Starts a surveillance round; reports made until it ends belong to it.
    pub fn start_patrol(&self) -> std::result::Result<Uuid, ApiError> {
        let session = self.session_inner()?;
        if self.db().active_patrol()?.is_some() {
            return Err(ApiError::State { reason: "a patrol is already under way".into() });
        }
        let id = Uuid::new_v4();
        self.db().insert_patrol(
            &id.to_string(),
            &session.area_id.to_string(),
            Utc::now().trunc_subsecs(6),
        )?;
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

    /// A checkpoint's tag was scanned (QR code or NFC) at `position`. Stored
    /// and queued like a report, offline too, and tied to the patrol under way
    /// if there is one (the server flags a scan outside a patrol, or far from
    /// its checkpoint). Returns the scan's id.
    pub fn scan_checkpoint(&self, tag: String, position: GeoFix) -> std::result::Result<Uuid, ApiError> {
        let session = self.session_inner()?;
        let tag = kvo_api::rounds::normalize_tag(&tag);
        if tag.is_empty() || tag.len() > 40 {
            return Err(ApiError::InvalidInput {
                field: "tag".into(),
                reason: "not a checkpoint tag".into(),
            });
        }
        let loc = Location::new(position.lat, position.lon, position.accuracy_m).map_err(Error::from)?;
        let mut db = self.db();
        let patrol_id = db.active_patrol()?.map(|(id, _, _)| id);
        let id = Uuid::new_v4();
        db.insert_scan(&ScanRow {
            id: id.to_string(),
            area_id: session.area_id.to_string(),
            tag,
            scanned_at: Utc::now().trunc_subsecs(6),
            lat: loc.lat(),
            lon: loc.lon(),
            accuracy_m: loc.accuracy_m(),
            patrol_id,
        })?;
        Ok(id)
    }

    /// The id of the patrol under way, if any.
    pub fn active_patrol(&self) -> Option<Uuid> {
        self.db().active_patrol().ok().flatten().and_then(|p| Uuid::parse_str(&p.0).ok())
    }

    /// Counts of the queue.
    pub fn queue_state(&self) -> std::result::Result<QueueState, ApiError> {
        Ok(self.engine.state(0, 0)?)
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
        let result = self.engine.sync(Duration::from_millis(budget_ms), observer);
        self.syncing.store(false, Ordering::SeqCst);
        Ok(result?)
    }

    /// Asks a running sync to stop after the request under way.
    pub fn stop_sync(&self) {
        self.engine.stop();
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
            let a = self.engine.send(requests::my_incidents(cursor.as_deref()).token(&token))?.ok()?;
            let page: IncidentPage = serde_json::from_slice(&a.body).map_err(Error::from)?;
            for inc in &page.items {
                changes.extend(self.engine.status_change(inc.id, inc.status)?);
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
        Ok(self.engine.status_change(msg.incident_id, msg.status)?)
    }
}
