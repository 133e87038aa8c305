//! The on-device store: SQLite in WAL mode, one connection (one writer),
//! schema migrations on `user_version`. It holds the session, the cached
//! categories, reports, prepared photos (as files beside it), patrols and
//! the outbox that drives sync.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kvo_api::questions::Answers;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    error::{Error, Result},
    queue::ItemState,
};

/// Each entry upgrades the schema by one version. Never edit an entry that
/// has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE reports (
         id TEXT PRIMARY KEY, area_id TEXT NOT NULL, category TEXT NOT NULL,
         lat REAL, lon REAL, accuracy_m REAL, location_at TEXT,
         occurred_at TEXT NOT NULL, description TEXT, patrol_id TEXT, created_at TEXT NOT NULL);
     CREATE TABLE photos (
         id TEXT PRIMARY KEY, report_id TEXT NOT NULL REFERENCES reports (id), file TEXT NOT NULL,
         sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
         created_at TEXT NOT NULL);
     CREATE TABLE patrols (id TEXT PRIMARY KEY, area_id TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT);
     CREATE TABLE patrol_points (
         patrol_id TEXT NOT NULL REFERENCES patrols (id), at TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
         PRIMARY KEY (patrol_id, at));
     CREATE TABLE outbox (
         seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
         depends_on INTEGER REFERENCES outbox (seq), state TEXT NOT NULL DEFAULT 'pending',
         attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,
         reason TEXT, bytes INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, entity_id));",
    // 2: the server's follow-up status of sent reports, and a faster due-item lookup.
    "ALTER TABLE reports ADD COLUMN server_status TEXT;
     CREATE INDEX outbox_due ON outbox (state, next_attempt_at);",
    // 3: a report's answers to its category's questions and anonymity, and
    // "this is the same" confirmations of someone else's report.
    "ALTER TABLE reports ADD COLUMN answers TEXT NOT NULL DEFAULT '{}';
     ALTER TABLE reports ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE confirmations (
         incident_id TEXT PRIMARY KEY, id TEXT NOT NULL, created_at TEXT NOT NULL);",
    // 4: checkpoint scans during (or outside) a patrol.
    "CREATE TABLE scans (
         id TEXT PRIMARY KEY, area_id TEXT NOT NULL, tag TEXT NOT NULL, scanned_at TEXT NOT NULL,
         lat REAL NOT NULL, lon REAL NOT NULL, accuracy_m REAL, patrol_id TEXT REFERENCES patrols (id));",
    // 5: aangifte and damage of my reports, each change sent in order.
    "CREATE TABLE facts (
         id TEXT PRIMARY KEY, report_id TEXT NOT NULL REFERENCES reports (id),
         aangifte INTEGER, damage_eur REAL, created_at TEXT NOT NULL);",
    // 6: the asset of the gemeente's register a report is about (a lamp post).
    "ALTER TABLE reports ADD COLUMN asset_id TEXT;",
];

/// What kind of request an outbox item makes.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Report,
    Photo,
    PatrolStart,
    PatrolRoute,
    Confirmation,
    Scan,
    Facts,
}

kvo_api::coded!(Kind);

impl Kind {}

/// A checkpoint scan as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    pub id: String,
    pub area_id: String,
    pub tag: String,
    pub scanned_at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub patrol_id: Option<String>,
}

/// One queued request.
#[derive(Debug, Clone)]
pub struct Item {
    pub seq: i64,
    pub kind: Kind,
    pub entity_id: String,
    pub attempts: u32,
    pub bytes: u64,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub id: String,
    pub area_id: String,
    pub category: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub occurred_at: DateTime<Utc>,
    pub description: Option<String>,
    pub patrol_id: Option<String>,
    pub answers: Answers,
    pub anonymous: bool,
    pub asset_id: Option<String>,
    pub state: ItemState,
    pub reason: Option<String>,
    pub server_status: Option<String>,
}

/// A prepared photo as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    pub id: String,
    pub report_id: String,
    pub file: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub state: ItemState,
    pub reason: Option<String>,
}

/// Counts per state, for progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub sending: u64,
    pub sent: u64,
    pub wedged: u64,
}

/// The store.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

impl Store {
    /// Opens (or creates) the store in `dir`, migrates it, and puts items that
    /// were under way when the app was killed back in the queue.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir.join("photos"))?;
        let conn = Connection::open(dir.join("kvo.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows are overwritten, not left in free pages (a token that
        // moved to secure storage must not linger in the file).
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Store { conn, dir: dir.to_path_buf() };
        store.migrate(MIGRATIONS.len())?;
        store.conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'", [])?;
        Ok(store)
    }

    /// Applies migrations up to version `to`.
    fn migrate(&mut self, to: usize) -> Result<()> {
        let current: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let current = current as usize;
        if current > MIGRATIONS.len() {
            return Err(Error::State("the store was written by a newer version of the app"));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(current) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// A value from the key-value table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Removes a secret entry for good: deleted, and the write-ahead log
    /// checkpointed and truncated so that no old page still holds it.
    pub fn erase_meta(&self, key: &str) -> Result<()> {
        self.set_meta(key, None)?;
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Sets (or with `None` removes) a key-value entry.
    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self.conn.execute("DELETE FROM meta WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    fn enqueue(&self, kind: Kind, entity_id: &str, depends_on: Option<i64>, bytes: u64) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO outbox (kind, entity_id, depends_on, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![kind.code(), entity_id, depends_on, bytes as i64],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn seq_of(&self, kind: Kind, entity_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM outbox WHERE kind = ?1 AND entity_id = ?2",
                params![kind.code(), entity_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a new report and queues it, in one transaction.
    pub fn insert_report(&mut self, r: &ReportRow, now: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO reports (id, area_id, category, lat, lon, accuracy_m, occurred_at, description, patrol_id,
                                  answers, anonymous, asset_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![r.id, r.area_id, r.category, r.lat, r.lon, r.accuracy_m, ts(r.occurred_at), r.description,
                    r.patrol_id, serde_json::to_string(&r.answers)?, r.anonymous, r.asset_id, ts(now)],
        )?;
        let dep: Option<i64> = match &r.patrol_id {
            Some(p) => tx
                .query_row(
                    "SELECT seq FROM outbox WHERE kind = 'patrol_start' AND entity_id = ?1",
                    [p],
                    |row| row.get(0),
                )
                .optional()?,
            None => None,
        };
        tx.execute(
            "INSERT INTO outbox (kind, entity_id, depends_on) VALUES ('report', ?1, ?2)",
            params![r.id, dep],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Rewrites an unsent report; refused once it is being sent or was sent.
    pub fn update_report(&self, r: &ReportRow) -> Result<()> {
        let state = self.report_state(&r.id)?.ok_or(Error::NotFound)?;
        if !matches!(state, ItemState::Pending | ItemState::Wedged) {
            return Err(Error::State("the report has already been sent"));
        }
        self.conn.execute(
            "UPDATE reports SET category = ?2, lat = ?3, lon = ?4, accuracy_m = ?5, occurred_at = ?6, description = ?7,
                                answers = ?8, anonymous = ?9, asset_id = ?10
              WHERE id = ?1",
            params![r.id, r.category, r.lat, r.lon, r.accuracy_m, ts(r.occurred_at), r.description,
                    serde_json::to_string(&r.answers)?, r.anonymous, r.asset_id],
        )?;
        // An edited wedged report gets another chance, and so do its photos.
        if state == ItemState::Wedged {
            self.conn.execute(
                "UPDATE outbox SET state = 'pending', reason = NULL, attempts = 0, next_attempt_at = 0
                  WHERE (kind = 'report' AND entity_id = ?1)
                     OR (kind = 'photo' AND entity_id IN (SELECT id FROM photos WHERE report_id = ?1))",
                [&r.id],
            )?;
        }
        Ok(())
    }

    fn report_state(&self, id: &str) -> Result<Option<ItemState>> {
        self.conn
            .query_row("SELECT state FROM outbox WHERE kind = 'report' AND entity_id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|s| ItemState::from_code(&s).ok_or(Error::State("unknown item state on the device")))
            .transpose()
    }

    /// A report with its queue state.
    pub fn report(&self, id: &str) -> Result<ReportRow> {
        self.conn
            .query_row(
                "SELECT r.id, r.area_id, r.category, r.lat, r.lon, r.accuracy_m, r.occurred_at, r.description,
                        r.patrol_id, o.state, o.reason, r.server_status, r.answers, r.anonymous, r.asset_id
                   FROM reports r JOIN outbox o ON o.kind = 'report' AND o.entity_id = r.id WHERE r.id = ?1",
                [id],
                report_row,
            )
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// Every report on the device, newest first.
    pub fn reports(&self) -> Result<Vec<ReportRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.area_id, r.category, r.lat, r.lon, r.accuracy_m, r.occurred_at, r.description,
                    r.patrol_id, o.state, o.reason, r.server_status, r.answers, r.anonymous, r.asset_id
               FROM reports r JOIN outbox o ON o.kind = 'report' AND o.entity_id = r.id
              ORDER BY r.occurred_at DESC, r.id",
        )?;
        let rows = stmt.query_map([], report_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Records the server's status of a sent report. Returns the report's
    /// category and the status known before, or `None` for a report that is
    /// not on this device.
    pub fn set_server_status(&self, id: &str, status: &str) -> Result<Option<(String, Option<String>)>> {
        let before = self
            .conn
            .query_row("SELECT category, server_status FROM reports WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if before.is_some() {
            self.conn.execute("UPDATE reports SET server_status = ?2 WHERE id = ?1", params![id, status])?;
        }
        Ok(before)
    }

    /// Writes a prepared photo to disk (fsynced), then records and queues it.
    pub fn insert_photo(&mut self, p: &PhotoRow, jpeg: &[u8], now: DateTime<Utc>) -> Result<()> {
        use std::io::Write;
        let path = self.dir.join("photos").join(format!("{}.jpg", p.id));
        let mut f = std::fs::File::create(&path)?;
        f.write_all(jpeg)?;
        f.sync_all()?;
        let report_seq = self.seq_of(Kind::Report, &p.report_id)?.ok_or(Error::NotFound)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO photos (id, report_id, file, sha256, bytes, width, height, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                p.id,
                p.report_id,
                path.to_string_lossy(),
                p.sha256,
                p.bytes as i64,
                p.width,
                p.height,
                ts(now)
            ],
        )?;
        tx.execute(
            "INSERT INTO outbox (kind, entity_id, depends_on, bytes) VALUES ('photo', ?1, ?2, ?3)",
            params![p.id, report_seq, p.bytes as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The photos of a report.
    pub fn photos(&self, report_id: &str) -> Result<Vec<PhotoRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.id, p.report_id, p.file, p.sha256, p.bytes, p.width, p.height, o.state, o.reason
               FROM photos p JOIN outbox o ON o.kind = 'photo' AND o.entity_id = p.id
              WHERE p.report_id = ?1 ORDER BY o.seq",
        )?;
        let rows = stmt.query_map([report_id], photo_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One photo.
    pub fn photo(&self, id: &str) -> Result<PhotoRow> {
        self.conn
            .query_row(
                "SELECT p.id, p.report_id, p.file, p.sha256, p.bytes, p.width, p.height, o.state, o.reason
                   FROM photos p JOIN outbox o ON o.kind = 'photo' AND o.entity_id = p.id WHERE p.id = ?1",
                [id],
                photo_row,
            )
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// Stores a confirmation ("this is the same") of someone else's report
    /// and queues it, in one transaction. Confirming the same report again
    /// changes nothing. Returns the confirmation's id.
    pub fn insert_confirmation(&self, incident_id: &str, id: &str, now: DateTime<Utc>) -> Result<String> {
        let tx = self.conn.unchecked_transaction()?;
        let new = tx.execute(
            "INSERT OR IGNORE INTO confirmations (incident_id, id, created_at) VALUES (?1, ?2, ?3)",
            params![incident_id, id, ts(now)],
        )?;
        if new == 1 {
            self.enqueue(Kind::Confirmation, incident_id, None, 0)?;
        }
        tx.commit()?;
        self.confirmation(incident_id)
    }

    /// The id of the device's confirmation of `incident_id`.
    pub fn confirmation(&self, incident_id: &str) -> Result<String> {
        self.conn
            .query_row("SELECT id FROM confirmations WHERE incident_id = ?1", [incident_id], |r| r.get(0))
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// Starts a patrol and queues its start, in one transaction.
    pub fn insert_patrol(&self, id: &str, area_id: &str, started_at: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO patrols (id, area_id, started_at) VALUES (?1, ?2, ?3)",
            params![id, area_id, ts(started_at)],
        )?;
        self.enqueue(Kind::PatrolStart, id, None, 0)?;
        tx.commit()?;
        Ok(())
    }

    /// Stores a checkpoint scan and queues it, after its patrol's start if
    /// that is still queued, in one transaction.
    pub fn insert_scan(&mut self, s: &ScanRow) -> Result<()> {
        let after = match &s.patrol_id {
            Some(p) => self.seq_of(Kind::PatrolStart, p)?,
            None => None,
        };
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO scans (id, area_id, tag, scanned_at, lat, lon, accuracy_m, patrol_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![s.id, s.area_id, s.tag, ts(s.scanned_at), s.lat, s.lon, s.accuracy_m, s.patrol_id],
        )?;
        tx.execute(
            "INSERT INTO outbox (kind, entity_id, depends_on) VALUES ('scan', ?1, ?2)",
            params![s.id, after],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records aangifte and/or damage of one of my reports and queues the
    /// change, after the report and after any earlier change of its facts.
    pub fn insert_facts(
        &mut self,
        report_id: &str,
        aangifte: Option<bool>,
        damage_eur: Option<f64>,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let report = self.seq_of(Kind::Report, report_id)?.ok_or(Error::NotFound)?;
        let earlier: Option<i64> = self.conn.query_row(
            "SELECT max(o.seq) FROM outbox o JOIN facts f ON o.kind = 'facts' AND f.id = o.entity_id
              WHERE f.report_id = ?1",
            [report_id],
            |r| r.get(0),
        )?;
        let id = uuid::Uuid::new_v4().to_string();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO facts (id, report_id, aangifte, damage_eur, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, report_id, aangifte, damage_eur, ts(now)],
        )?;
        tx.execute(
            "INSERT INTO outbox (kind, entity_id, depends_on) VALUES ('facts', ?1, ?2)",
            params![id, earlier.unwrap_or(report)],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// One change of facts: (report id, aangifte, damage in euros).
    pub fn facts(&self, id: &str) -> Result<(String, Option<bool>, Option<f64>)> {
        self.conn
            .query_row("SELECT report_id, aangifte, damage_eur FROM facts WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// The latest aangifte and damage recorded on this device for a report.
    pub fn report_facts(&self, report_id: &str) -> Result<(Option<bool>, Option<f64>)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT aangifte FROM facts WHERE report_id = ?1 AND aangifte IS NOT NULL
                      ORDER BY rowid DESC LIMIT 1),
                    (SELECT damage_eur FROM facts WHERE report_id = ?1 AND damage_eur IS NOT NULL
                      ORDER BY rowid DESC LIMIT 1)",
            [report_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// One stored scan.
    pub fn scan(&self, id: &str) -> Result<ScanRow> {
        self.conn
            .query_row(
                "SELECT id, area_id, tag, scanned_at, lat, lon, accuracy_m, patrol_id FROM scans WHERE id = ?1",
                [id],
                |r| {
                    Ok(ScanRow {
                        id: r.get(0)?,
                        area_id: r.get(1)?,
                        tag: r.get(2)?,
                        scanned_at: parse_ts(&r.get::<_, String>(3)?)?,
                        lat: r.get(4)?,
                        lon: r.get(5)?,
                        accuracy_m: r.get(6)?,
                        patrol_id: r.get(7)?,
                    })
                },
            )
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// The patrol under way, if any: (id, area id, started at).
    pub fn active_patrol(&self) -> Result<Option<(String, String, DateTime<Utc>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, area_id, started_at FROM patrols WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, parse_ts(&r.get::<_, String>(2)?)?)),
            )
            .optional()?)
    }

    /// Adds a route point (a point at an already stored time is ignored). Cheap:
    /// one insert through a cached statement.
    pub fn add_point(&self, patrol_id: &str, at: DateTime<Utc>, lat: f64, lon: f64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO patrol_points (patrol_id, at, lat, lon) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![patrol_id, ts(at), lat, lon])?;
        Ok(())
    }

    /// Ends a patrol and queues its route upload (after its start).
    pub fn end_patrol(&mut self, id: &str, ended_at: DateTime<Utc>) -> Result<()> {
        let start = self.seq_of(Kind::PatrolStart, id)?.ok_or(Error::NotFound)?;
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE patrols SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
            params![id, ts(ended_at)],
        )?;
        if n == 1 {
            tx.execute(
                "INSERT INTO outbox (kind, entity_id, depends_on) VALUES ('patrol_route', ?1, ?2)",
                params![id, start],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A patrol: (area id, started at, ended at).
    pub fn patrol(&self, id: &str) -> Result<(String, DateTime<Utc>, Option<DateTime<Utc>>)> {
        self.conn
            .query_row("SELECT area_id, started_at, ended_at FROM patrols WHERE id = ?1", [id], |r| {
                let ended: Option<String> = r.get(2)?;
                Ok((r.get(0)?, parse_ts(&r.get::<_, String>(1)?)?, ended.map(|e| parse_ts(&e)).transpose()?))
            })
            .optional()?
            .ok_or(Error::NotFound)
    }

    /// A patrol's route points in time order: (at, lat, lon).
    pub fn points(&self, patrol_id: &str) -> Result<Vec<(DateTime<Utc>, f64, f64)>> {
        let mut stmt =
            self.conn.prepare("SELECT at, lat, lon FROM patrol_points WHERE patrol_id = ?1 ORDER BY at")?;
        let rows = stmt
            .query_map([patrol_id], |r| Ok((parse_ts(&r.get::<_, String>(0)?)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The first item that may be sent now: pending, due, its dependency sent,
    /// and (for a report) with a location.
    pub fn next_due(&self, now_ms: i64) -> Result<Option<Item>> {
        Ok(self
            .conn
            .query_row(
                "SELECT o.seq, o.kind, o.entity_id, o.attempts, o.bytes FROM outbox o
                   LEFT JOIN outbox d ON d.seq = o.depends_on
                   LEFT JOIN reports r ON o.kind = 'report' AND r.id = o.entity_id
                  WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
                    AND (o.depends_on IS NULL OR d.state = 'sent')
                    AND (o.kind != 'report' OR r.lat IS NOT NULL)
                  ORDER BY o.seq LIMIT 1",
                [now_ms],
                |r| {
                    let kind: String = r.get(1)?;
                    Ok(Item {
                        seq: r.get(0)?,
                        kind: Kind::from_code(&kind).ok_or_else(|| unknown_code(1, &kind))?,
                        entity_id: r.get(2)?,
                        attempts: r.get(3)?,
                        bytes: r.get::<_, i64>(4)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// The earliest time (unix ms) a pending, sendable item becomes due, if any.
    pub fn next_wakeup(&self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT min(o.next_attempt_at) FROM outbox o LEFT JOIN outbox d ON d.seq = o.depends_on
              LEFT JOIN reports r ON o.kind = 'report' AND r.id = o.entity_id
              WHERE o.state = 'pending' AND (o.depends_on IS NULL OR d.state = 'sent')
                AND (o.kind != 'report' OR r.lat IS NOT NULL)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Moves an item to `sending`.
    pub fn mark_sending(&self, seq: i64) -> Result<()> {
        self.conn
            .execute("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE seq = ?1", [seq])?;
        Ok(())
    }

    /// Marks an item sent; a sent photo's file is deleted (the server has it).
    pub fn mark_sent(&self, item: &Item) -> Result<()> {
        self.conn.execute("UPDATE outbox SET state = 'sent', reason = NULL WHERE seq = ?1", [item.seq])?;
        if item.kind == Kind::Photo {
            let file: String =
                self.conn
                    .query_row("SELECT file FROM photos WHERE id = ?1", [&item.entity_id], |r| r.get(0))?;
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    }

    /// Puts an item back for a later attempt.
    pub fn mark_retry(&self, seq: i64, not_before_ms: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2 WHERE seq = ?1",
            params![seq, not_before_ms],
        )?;
        Ok(())
    }

    /// Wedges an item and everything that depends on it, transitively.
    pub fn mark_wedged(&self, seq: i64, reason: &str) -> Result<()> {
        self.conn.execute(
            "WITH RECURSIVE deps(seq) AS (
                 SELECT ?1 UNION SELECT o.seq FROM outbox o JOIN deps ON o.depends_on = deps.seq)
             UPDATE outbox SET state = 'wedged',
                    reason = CASE WHEN seq = ?1 THEN ?2 ELSE 'wacht op een melding die niet verstuurd kan worden' END
              WHERE seq IN (SELECT seq FROM deps) AND state != 'sent'",
            params![seq, reason],
        )?;
        Ok(())
    }

    /// Counts per state.
    pub fn counts(&self) -> Result<Counts> {
        let mut c = Counts::default();
        let mut stmt = self.conn.prepare("SELECT state, count(*) FROM outbox GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            let n = n as u64;
            match ItemState::from_code(&state).ok_or(Error::State("unknown item state on the device"))? {
                ItemState::Pending => c.pending += n,
                ItemState::Sending => c.sending += n,
                ItemState::Sent => c.sent += n,
                ItemState::Wedged => c.wedged += n,
            }
        }
        Ok(c)
    }

    /// Bytes of items not yet sent (pending or sending).
    pub fn unsent_bytes(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT coalesce(sum(bytes), 0) FROM outbox WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

/// A column holding a code, parsed; an unknown code is an error, never a default.
fn coded<T>(r: &rusqlite::Row<'_>, col: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let raw: String = r.get(col)?;
    parse(&raw).ok_or_else(|| unknown_code(col, &raw))
}

fn unknown_code(col: usize, raw: &str) -> rusqlite::Error {
    let e: Box<dyn std::error::Error + Send + Sync> = format!("unknown code `{raw}`").into();
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e)
}

fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    Ok(ReportRow {
        id: r.get(0)?,
        area_id: r.get(1)?,
        category: r.get(2)?,
        lat: r.get(3)?,
        lon: r.get(4)?,
        accuracy_m: r.get(5)?,
        occurred_at: parse_ts(&r.get::<_, String>(6)?)?,
        description: r.get(7)?,
        patrol_id: r.get(8)?,
        state: coded(r, 9, ItemState::from_code)?,
        reason: r.get(10)?,
        server_status: r.get(11)?,
        answers: serde_json::from_str(&r.get::<_, String>(12)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, Box::new(e))
        })?,
        anonymous: r.get(13)?,
        asset_id: r.get(14)?,
    })
}

fn photo_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PhotoRow> {
    Ok(PhotoRow {
        id: r.get(0)?,
        report_id: r.get(1)?,
        file: PathBuf::from(r.get::<_, String>(2)?),
        sha256: r.get(3)?,
        bytes: r.get::<_, i64>(4)? as u64,
        width: r.get(5)?,
        height: r.get(6)?,
        state: coded(r, 7, ItemState::from_code)?,
        reason: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> Vec<String> {
        let mut out = vec![];
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for t in tables {
            let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
            let cols = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{t}.{}:{}:{}:{}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap()
                .map(|r| r.unwrap());
            out.extend(cols);
        }
        let idx = conn
            .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok(format!("index {}:{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect::<Vec<_>>();
        out.extend(idx);
        out
    }

    #[test]
    fn an_upgraded_store_equals_a_fresh_one() {
        let old = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(old.path().join("kvo.sqlite3")).unwrap();
            let mut s = Store { conn, dir: old.path().to_path_buf() };
            s.migrate(1).unwrap();
            s.conn
                .execute(
                    "INSERT INTO reports (id, area_id, category, occurred_at, created_at) VALUES ('r', 'a', 'diefstal', ?1, ?1)",
                    [ts(Utc::now())],
                )
                .unwrap();
        }
        let upgraded = Store::open(old.path()).unwrap();
        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh = Store::open(fresh_dir.path()).unwrap();
        assert_eq!(schema(&upgraded.conn), schema(&fresh.conn));
        let v: i64 = upgraded.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let kept: String =
            upgraded.conn.query_row("SELECT category FROM reports WHERE id = 'r'", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, "diefstal", "data survives the upgrade");
        let mode: String = upgraded.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("kvo.sqlite3")).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(matches!(Store::open(dir.path()), Err(Error::State(_))));
    }

    fn report(id: &str, located: bool) -> ReportRow {
        ReportRow {
            id: id.into(),
            area_id: "a".into(),
            category: "diefstal".into(),
            lat: located.then_some(52.0),
            lon: located.then_some(6.0),
            accuracy_m: None,
            occurred_at: Utc::now(),
            description: None,
            patrol_id: None,
            answers: Default::default(),
            anonymous: false,
            asset_id: None,
            state: ItemState::Pending,
            reason: None,
            server_status: None,
        }
    }

    #[test]
    fn photos_wait_for_their_report_and_wedging_spreads_to_dependants() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        s.insert_report(&report("r1", true), now).unwrap();
        s.insert_report(&report("r2", false), now).unwrap();
        let photo = |id: &str, r: &str| PhotoRow {
            id: id.into(),
            report_id: r.into(),
            file: PathBuf::new(),
            sha256: "00".into(),
            bytes: 10,
            width: 1,
            height: 1,
            state: ItemState::Pending,
            reason: None,
        };
        s.insert_photo(&photo("p1", "r1"), b"x", now).unwrap();
        s.insert_photo(&photo("p2", "r2"), b"y", now).unwrap();
        let first = s.next_due(i64::MAX).unwrap().unwrap();
        assert_eq!((first.kind, first.entity_id.as_str()), (Kind::Report, "r1"));
        s.mark_sending(first.seq).unwrap();
        assert!(s.next_due(i64::MAX).unwrap().is_none(), "p1 waits for r1; r2 has no location");
        s.mark_wedged(first.seq, "409").unwrap();
        assert_eq!(s.photo("p1").unwrap().state, ItemState::Wedged);
        assert_eq!(s.report("r1").unwrap().reason.as_deref(), Some("409"));
        // Giving r2 a location releases it; its photo follows once it is sent.
        let mut r2 = report("r2", true);
        r2.description = Some("nu met locatie".into());
        s.update_report(&r2).unwrap();
        let next = s.next_due(i64::MAX).unwrap().unwrap();
        assert_eq!(next.entity_id, "r2");
        s.mark_sent(&next).unwrap();
        assert_eq!(s.next_due(i64::MAX).unwrap().unwrap().entity_id, "p2");
        assert!(s.update_report(&r2).is_err(), "a sent report cannot be edited");
        assert_eq!(s.counts().unwrap(), Counts { pending: 1, sending: 0, sent: 1, wedged: 2 });
    }

    #[test]
    fn items_under_way_when_killed_are_pending_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Store::open(dir.path()).unwrap();
            s.insert_report(&report("r1", true), Utc::now()).unwrap();
            let i = s.next_due(i64::MAX).unwrap().unwrap();
            s.mark_sending(i.seq).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.report("r1").unwrap().state, ItemState::Pending);
    }
}
