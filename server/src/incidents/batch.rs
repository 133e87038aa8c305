//! Group commit of new reports: concurrent `POST /incidents` requests are
//! inserted together, one statement and one commit for a batch, so the
//! statement-level triggers (rollup deltas, push events), the round trip and
//! the WAL flush are paid once per batch instead of once per report. Each
//! request is answered after the commit that holds its row, as before. Under
//! light load a batch is a single report and nothing waits; a batch that
//! fails (a row breaking a constraint) is inserted row by row instead, so
//! each request gets its own answer.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, types::Json};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

/// The most reports one statement inserts.
const MAX_BATCH: usize = 32;
/// Batches in flight at once (each on its own connection).
const WRITERS: usize = 4;

/// One report as it is stored (validated, placed, hashed).
#[derive(Debug, Clone)]
pub struct Row {
    pub area_id: Uuid,
    pub id: Uuid,
    pub category: String,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f32>,
    pub occurred_at: DateTime<Utc>,
    pub description: Option<String>,
    pub reporter_id: Uuid,
    pub zone_id: Option<Uuid>,
    pub patrol_id: Option<Uuid>,
    pub request_hash: Vec<u8>,
    pub cell: Option<i64>,
    pub answers: serde_json::Value,
    pub anonymous: bool,
    pub asset_id: Option<Uuid>,
}

/// A possible duplicate of a new report, as `kvo_possible_duplicates` finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearby {
    pub id: Uuid,
    pub category: String,
    pub occurred_at: DateTime<Utc>,
    pub status: String,
    pub distance_m: f64,
}

/// What became of one report: `received_at` when it is new (`None` when the
/// id was taken already), and the open reports near it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Written {
    pub received_at: Option<DateTime<Utc>>,
    /// The street it happened in (`kvo_street_name`), when new.
    pub street: Option<String>,
    pub nearby: Vec<Nearby>,
}

type Outcome = Result<Written, sqlx::Error>;
type Job = (Row, oneshot::Sender<Outcome>);

/// The queue in front of the writers. Cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    pool: PgPool,
    started: Arc<OnceLock<()>>,
}

impl Batcher {
    pub fn new(pool: PgPool) -> Batcher {
        let (tx, rx) = mpsc::channel(MAX_BATCH * WRITERS * 4);
        Batcher { tx, rx: Arc::new(Mutex::new(rx)), pool, started: Arc::default() }
    }

    /// Inserts `row` with whatever else is waiting; returns once it is committed.
    pub async fn insert(&self, row: Row) -> Outcome {
        // The writers start with the first report, inside the server's runtime.
        self.started.get_or_init(|| {
            for _ in 0..WRITERS {
                tokio::spawn(write(self.pool.clone(), self.rx.clone()));
            }
        });
        let (done, answer) = oneshot::channel();
        self.tx.send((row, done)).await.map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// A writer: takes what is queued (at least one report, at most a batch),
/// inserts it, answers each request; until the queue closes.
async fn write(pool: PgPool, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        let rows: Vec<&Row> = jobs.iter().map(|(r, _)| r).collect();
        match insert_many(&pool, &rows).await {
            Ok(written) => {
                for ((_, done), w) in jobs.into_iter().zip(written) {
                    let _ = done.send(Ok(w));
                }
            }
            Err(e) if jobs.len() == 1 => {
                let _ = jobs.pop().map(|(_, done)| done.send(Err(e)));
            }
            // One row spoiled the batch: each on its own, for its own answer.
            Err(_) => {
                for (row, done) in jobs {
                    let _ = done.send(insert_many(&pool, &[&row]).await.map(|mut w| w.remove(0)));
                }
            }
        }
    }
}

/// Many reports and their first history rows in one statement, with the
/// open reports near each (`kvo_possible_duplicates`, migration 0013, which
/// sees the area as it was before this statement). Returns one `Written` per
/// row, in order; a row given twice is new at most once (its first time).
pub async fn insert_many(pool: &PgPool, rows: &[&Row]) -> Result<Vec<Written>, sqlx::Error> {
    let col = |f: fn(&Row) -> Uuid| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    type Answer = (
        Uuid,
        Option<DateTime<Utc>>,
        Option<Uuid>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<f64>,
        Option<String>,
    );
    let answer: Vec<Answer> = sqlx::query_as(
        "WITH r AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::float8[], $5::float8[], $6::real[],
                                  $7::timestamptz[], $8::text[], $9::uuid[], $10::uuid[], $11::uuid[], $12::bytea[],
                                  $13::int8[], $14::jsonb[], $15::bool[], $17::uuid[])
                 AS r(area_id, id, category, lon, lat, accuracy_m, occurred_at, description, reporter_id, zone_id,
                      patrol_id, request_hash, cell, answers, anonymous, asset_id)
         ), ins AS (
             INSERT INTO incidents (area_id, id, category, geom, accuracy_m, occurred_at, description,
                                    reporter_id, zone_id, patrol_id, request_hash, cell, answers, anonymous, asset_id)
             SELECT area_id, id, category, ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m, occurred_at,
                    description, reporter_id, zone_id, patrol_id, request_hash, cell, answers, anonymous, asset_id
               FROM r
             ON CONFLICT (area_id, id) DO NOTHING
             RETURNING area_id, id, reporter_id, received_at, kvo_street_name(area_id, geom) AS street
         ), hist AS (
             INSERT INTO incident_status_history (area_id, incident_id, status, changed_by, changed_at)
             SELECT area_id, id, 'nieuw', reporter_id, received_at FROM ins
         ), near AS (
             SELECT DISTINCT ON (r.id, d.id) r.id AS for_id, d.*
               FROM r CROSS JOIN LATERAL
                    kvo_possible_duplicates(r.area_id, r.id, r.category, r.lon, r.lat, r.occurred_at, $16) d
         )
         SELECT id, received_at, NULL::uuid, NULL::text, NULL::timestamptz, NULL::text, NULL::float8, street FROM ins
         UNION ALL
         SELECT for_id, NULL, id, category, occurred_at, status, distance_m, NULL FROM near",
    )
    .bind(col(|r| r.area_id))
    .bind(col(|r| r.id))
    .bind(rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lon).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lat).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.accuracy_m).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.description.as_deref()).collect::<Vec<_>>())
    .bind(col(|r| r.reporter_id))
    .bind(rows.iter().map(|r| r.zone_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.patrol_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.request_hash.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.cell).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| Json(&r.answers)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.anonymous).collect::<Vec<_>>())
    .bind(crate::duplicates::MAX_DUPLICATES)
    .bind(rows.iter().map(|r| r.asset_id).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let mut written: Vec<Written> = rows.iter().map(|_| Written::default()).collect();
    for (for_id, received_at, dup, category, occurred_at, status, distance_m, street) in answer {
        let mine = rows.iter().enumerate().filter(|(_, r)| r.id == for_id).map(|(i, _)| i);
        match (received_at, dup, category, occurred_at, status, distance_m) {
            (Some(at), ..) => {
                if let Some(first) = mine.into_iter().next() {
                    written[first].received_at = Some(at);
                    written[first].street = street;
                }
            }
            (None, Some(id), Some(category), Some(occurred_at), Some(status), Some(distance_m)) => {
                let n = Nearby { id, category, occurred_at, status, distance_m };
                for i in mine {
                    written[i].nearby.push(n.clone());
                }
            }
            _ => {}
        }
    }
    for w in &mut written {
        w.nearby
            .sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(b.occurred_at.cmp(&a.occurred_at)));
    }
    Ok(written)
}
