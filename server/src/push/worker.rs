//! The push worker: expands events into deliveries, and sends due deliveries
//! to the push services. Delivery is at least once per subscription: a
//! delivery is deleted only after the push service accepted it, so a crash
//! in between sends it again when its lease runs out. The payload's `id` is
//! the same on every attempt, so a client can drop a repeat (the service
//! worker shows it under one notification tag).

use std::time::Duration;

use chrono::{DateTime, Utc};
use kvo_api::{
    push::{PushMessage, PushReason},
    wire::IncidentStatus,
};
use sqlx::PgPool;
use std::{collections::HashMap, sync::Arc};
use tokio::{sync::Semaphore, task::JoinSet};
use uuid::Uuid;
use web_push::{ContentEncoding, SubscriptionInfo, Urgency, VapidSignature, WebPushMessageBuilder};

use super::Vapid;

/// How many deliveries one round claims.
const CLAIM: i64 = 500;
/// How many requests are in flight at once.
const IN_FLIGHT: usize = 64;
/// What the worker needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    /// The VAPID `sub` claim.
    pub subject: String,
    /// How long a claimed delivery stays with its sender before it is due again.
    pub lease: Duration,
    /// How often an idle sender looks for retries that came due; new events
    /// wake it at once.
    pub poll: Duration,
}

impl Settings {
    pub fn from_config(c: &crate::config::Config) -> Settings {
        Settings {
            subject: c.push_subject.clone(),
            lease: Duration::from_secs(c.push_lease_secs.max(1)),
            poll: Duration::from_millis(c.push_poll_ms.max(10)),
        }
    }
}
/// The largest payload before encryption (RFC 8291 allows 3,993 bytes in one record).
pub const MAX_PAYLOAD: usize = 3_800;

/// Expands up to 1,000 events into deliveries, in one statement (the events
/// go and their deliveries come in the same transaction). Returns how many
/// events it expanded.
pub async fn expand(pool: &PgPool) -> anyhow::Result<u64> {
    let events = sqlx::query_scalar!(
        r#"WITH ev AS (
             DELETE FROM push_events
              WHERE seq IN (SELECT seq FROM push_events ORDER BY seq LIMIT 1000 FOR UPDATE SKIP LOCKED)
             RETURNING area_id, kind, incident_id, category, status, reporter_id
         ), targets AS (
             -- New reports of a followed category, for roles that see every report.
             SELECT ev.area_id, s.id AS sub, 'new' AS reason, ev.incident_id, ev.category, ev.status
               FROM ev
               JOIN push_preferences p ON p.area_id = ev.area_id AND ev.category = ANY(p.new_categories)
               JOIN memberships m ON m.area_id = p.area_id AND m.person_id = p.person_id AND m.role <> 'ondernemer'
               JOIN push_subscriptions s ON s.area_id = p.area_id AND s.person_id = p.person_id
              WHERE ev.kind = 'new' AND p.person_id <> ev.reporter_id
             UNION ALL
             -- Urgent reports to everyone on duty (by choice, or on patrol).
             SELECT ev.area_id, s.id, 'urgent', ev.incident_id, ev.category, ev.status
               FROM ev
               JOIN categories c ON c.area_id = ev.area_id AND c.code = ev.category AND c.urgent
               JOIN push_subscriptions s ON s.area_id = ev.area_id
               JOIN memberships m ON m.area_id = s.area_id AND m.person_id = s.person_id
               LEFT JOIN push_preferences p ON p.area_id = s.area_id AND p.person_id = s.person_id
              WHERE ev.kind = 'new' AND s.person_id <> ev.reporter_id AND coalesce(p.urgent, true)
                AND (coalesce(p.on_duty, false)
                     OR EXISTS (SELECT 1 FROM patrols pa
                                 WHERE pa.area_id = s.area_id AND pa.guard_id = s.person_id AND pa.ended_at IS NULL))
             UNION ALL
             -- Status changes of my own report, made by someone else.
             SELECT ev.area_id, s.id, 'status', ev.incident_id, ev.category, ev.status
               FROM ev
               JOIN push_subscriptions s ON s.area_id = ev.area_id AND s.person_id = ev.reporter_id
               JOIN memberships m ON m.area_id = s.area_id AND m.person_id = s.person_id
               LEFT JOIN push_preferences p ON p.area_id = s.area_id AND p.person_id = s.person_id
              WHERE ev.kind = 'status' AND coalesce(p.own_status, true)
                AND (SELECT h.changed_by FROM incident_status_history h
                      WHERE h.area_id = ev.area_id AND h.incident_id = ev.incident_id AND h.action = 'status'
                      ORDER BY h.seq DESC LIMIT 1) IS DISTINCT FROM ev.reporter_id
         ), inserted AS (
             INSERT INTO push_deliveries (area_id, subscription_id, reason, incident_id, category, status)
             SELECT DISTINCT ON (area_id, sub, incident_id, status) area_id, sub, reason, incident_id, category, status
               FROM targets
              ORDER BY area_id, sub, incident_id, status, (reason = 'urgent') DESC
             ON CONFLICT DO NOTHING
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM ev) AS "events!"
           FROM (SELECT count(*) FROM inserted) AS done"#
    )
    .fetch_one(pool)
    .await?;
    Ok(events as u64)
}

#[derive(sqlx::FromRow, Clone)]
struct Due {
    area_id: Uuid,
    id: i64,
    reason: String,
    incident_id: Uuid,
    category: String,
    status: String,
    attempts: i32,
    created_at: DateTime<Utc>,
    subscription_id: Uuid,
    endpoint: String,
    p256dh: String,
    auth: String,
    area_name: String,
    label: Option<String>,
}

/// What became of one delivery.
enum Outcome {
    Delivered,
    /// 404 or 410: the subscription is gone.
    Gone,
    /// Try again after this long.
    Retry(Duration),
    /// Rejected for good (another 4xx, or expired).
    Dropped,
}

/// The message a delivery carries, and its TTL and urgency.
fn message(d: &Due) -> anyhow::Result<(PushMessage, u32, Urgency)> {
    let status = crate::column::code(&d.status, IncidentStatus::from_code)?;
    let label = d.label.clone().unwrap_or_else(|| d.category.clone());
    let (reason, title, ttl, urgency) = match d.reason.as_str() {
        "urgent" => (PushReason::Urgent, format!("Spoed: {label}"), 3_600, Urgency::High),
        "status" => (
            PushReason::Status,
            format!("Uw melding is nu: {}", status.label_nl().to_lowercase()),
            3 * 86_400,
            Urgency::Normal,
        ),
        _ => (PushReason::New, format!("Nieuwe melding: {label}"), 86_400, Urgency::Normal),
    };
    let body = match reason {
        PushReason::Status => format!("{label} in {}", d.area_name),
        _ => d.area_name.clone(),
    };
    let msg = PushMessage {
        id: format!("{}-{}", d.area_id.simple(), d.id),
        reason,
        area_id: d.area_id,
        incident_id: d.incident_id,
        category: d.category.clone(),
        status,
        title,
        body,
        url: format!("/?incident={}", d.incident_id),
    };
    Ok((msg, ttl, urgency))
}

/// The VAPID audience of an endpoint: scheme and host, without the port.
fn audience(endpoint: &str) -> String {
    reqwest::Url::parse(endpoint)
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")))
        .unwrap_or_default()
}

async fn send_one(client: &reqwest::Client, signature: Option<VapidSignature>, d: &Due) -> Outcome {
    let Some(signature) = signature else {
        // Signing failed (logged): not the subscription's fault.
        return Outcome::Retry(Duration::from_secs(60));
    };
    let (msg, ttl, urgency) = match message(d) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = ?e, "push delivery with bad data; dropped");
            return Outcome::Dropped;
        }
    };
    if d.created_at + chrono::Duration::seconds(i64::from(ttl)) < Utc::now() {
        return Outcome::Dropped;
    }
    let payload = serde_json::to_vec(&msg).expect("a push message serialises");
    if payload.len() > MAX_PAYLOAD {
        tracing::error!(size = payload.len(), "push payload too large; dropped");
        return Outcome::Dropped;
    }
    let info = SubscriptionInfo::new(d.endpoint.as_str(), d.p256dh.as_str(), d.auth.as_str());
    let mut b = WebPushMessageBuilder::new(&info);
    b.set_payload(ContentEncoding::Aes128Gcm, &payload);
    b.set_vapid_signature(signature);
    b.set_ttl(ttl);
    b.set_urgency(urgency);
    if msg.reason == PushReason::Status {
        // A newer status replaces an undelivered older one.
        b.set_topic(d.incident_id.simple().to_string());
    }
    let request = match b.build() {
        Ok(m) => web_push::request_builder::build_request::<Vec<u8>>(m),
        Err(e) => {
            tracing::warn!(error = ?e, subscription = %d.subscription_id, "cannot encrypt for this subscription's keys; removed");
            return Outcome::Gone;
        }
    };
    let (parts, body) = request.into_parts();
    let mut req = client.post(parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        req = req.header(name.as_str(), value.as_bytes());
    }
    let backoff = |base: u64| {
        let exp = 2u64.saturating_pow(u32::try_from(d.attempts.max(1) - 1).unwrap_or(0).min(12));
        Duration::from_secs((base * exp).min(3_600))
    };
    match req.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            match status {
                200..=299 => Outcome::Delivered,
                404 | 410 => Outcome::Gone,
                429 => {
                    let after = res
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    Outcome::Retry(
                        after.map_or_else(|| backoff(60), |s| Duration::from_secs(s.clamp(1, 3_600))),
                    )
                }
                500..=599 => Outcome::Retry(backoff(10)),
                _ => {
                    tracing::warn!(status, subscription = %d.subscription_id, "push service refused a message; dropped");
                    Outcome::Dropped
                }
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "push service unreachable; retrying later");
            Outcome::Retry(backoff(10))
        }
    }
}

/// Sends every delivery, at most `IN_FLIGHT` at once; returns the outcomes
/// in the order of `due`.
async fn send_all(
    client: &reqwest::Client,
    vapid: &Vapid,
    subject: &str,
    due: &[Due],
) -> Vec<(usize, Outcome)> {
    // One VAPID token per push service and round (they are valid for 12 hours).
    let mut signatures: HashMap<String, VapidSignature> = HashMap::new();
    for d in due {
        let aud = audience(&d.endpoint);
        if let std::collections::hash_map::Entry::Vacant(slot) = signatures.entry(aud) {
            let info = SubscriptionInfo::new(d.endpoint.as_str(), d.p256dh.as_str(), d.auth.as_str());
            let mut b = vapid.signer().add_sub_info(&info);
            b.add_claim("sub", subject);
            match b.build() {
                Ok(sig) => {
                    slot.insert(sig);
                }
                Err(e) => tracing::error!(error = ?e, "cannot sign a VAPID token"),
            }
        }
    }
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for (i, d) in due.iter().cloned().enumerate() {
        let Ok(permit) = gate.clone().acquire_owned().await else { break };
        let client = client.clone();
        let signature = signatures.get(&audience(&d.endpoint)).cloned();
        tasks.spawn(async move {
            let outcome = send_one(&client, signature, &d).await;
            drop(permit);
            (i, outcome)
        });
    }
    let mut outcomes = Vec::with_capacity(due.len());
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(o) => outcomes.push(o),
            // A panicking send leaves its delivery leased; it is retried when the lease ends.
            Err(e) => tracing::error!(error = %e, "a push send failed"),
        }
    }
    outcomes
}

/// Claims due deliveries (SKIP LOCKED, with a lease), sends them, and records
/// the outcomes. Returns how many it claimed.
pub async fn send_due(
    pool: &PgPool,
    client: &reqwest::Client,
    vapid: &Vapid,
    settings: &Settings,
) -> anyhow::Result<u64> {
    let due: Vec<Due> = sqlx::query_as(
        "WITH due AS (
             SELECT area_id, id FROM push_deliveries WHERE next_attempt_at <= now()
              ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
         ), claimed AS (
             UPDATE push_deliveries d
                SET next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1
               FROM due WHERE d.area_id = due.area_id AND d.id = due.id
             RETURNING d.*
         )
         SELECT c.area_id, c.id, c.reason, c.incident_id, c.category, c.status, c.attempts, c.created_at,
                c.subscription_id, s.endpoint, s.p256dh, s.auth, a.name AS area_name, cat.label_nl AS label
           FROM claimed c
           JOIN push_subscriptions s ON s.area_id = c.area_id AND s.id = c.subscription_id
           JOIN areas a ON a.id = c.area_id
           LEFT JOIN categories cat ON cat.area_id = c.area_id AND cat.code = c.category",
    )
    .bind(CLAIM)
    .bind(settings.lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let outcomes = send_all(client, vapid, &settings.subject, &due).await;
    let (mut done_area, mut done_id) = (vec![], vec![]);
    let (mut gone_area, mut gone_sub) = (vec![], vec![]);
    let (mut retry_area, mut retry_id, mut retry_secs) = (vec![], vec![], vec![]);
    for (i, outcome) in outcomes {
        let d = &due[i];
        match outcome {
            Outcome::Delivered | Outcome::Dropped => {
                done_area.push(d.area_id);
                done_id.push(d.id);
            }
            Outcome::Gone => {
                gone_area.push(d.area_id);
                gone_sub.push(d.subscription_id);
            }
            Outcome::Retry(after) => {
                retry_area.push(d.area_id);
                retry_id.push(d.id);
                retry_secs.push(after.as_secs_f64());
            }
        }
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM push_deliveries d USING unnest($1::uuid[], $2::int8[]) AS k(area_id, id)
          WHERE d.area_id = k.area_id AND d.id = k.id",
    )
    .bind(&done_area)
    .bind(&done_id)
    .execute(&mut *tx)
    .await?;
    // The subscription and, by cascade, everything still queued for it.
    sqlx::query(
        "DELETE FROM push_subscriptions s USING unnest($1::uuid[], $2::uuid[]) AS k(area_id, id)
          WHERE s.area_id = k.area_id AND s.id = k.id",
    )
    .bind(&gone_area)
    .bind(&gone_sub)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE push_deliveries d SET next_attempt_at = now() + make_interval(secs => k.secs)
           FROM unnest($1::uuid[], $2::int8[], $3::float8[]) AS k(area_id, id, secs)
          WHERE d.area_id = k.area_id AND d.id = k.id",
    )
    .bind(&retry_area)
    .bind(&retry_id)
    .bind(&retry_secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due.len() as u64)
}

/// The channel migration 0012 notifies when push events are committed.
const WAKE_CHANNEL: &str = "kvo_push";

/// Aborts its task when dropped (the listener ends with the sender).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listens for committed push events on a connection of its own and wakes
/// the sender. Without LISTEN (a PgBouncer in transaction mode, say) the
/// sender still finds everything on its next poll.
async fn listen(pool: PgPool, wake: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen(WAKE_CHANNEL).await?;
            anyhow::Ok(l)
        };
        match listener.await {
            Ok(mut l) => {
                // The first wake covers anything committed while connecting.
                wake.notify_one();
                loop {
                    match l.recv().await {
                        Ok(_) => wake.notify_one(),
                        Err(sqlx::Error::PoolClosed) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "push wake-up listener lost its connection; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN for push events; the sender polls"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Expands and sends for as long as the server runs. Idle, it waits for a
/// committed event (LISTEN/NOTIFY) or the poll interval, whichever is first.
pub async fn run(pool: PgPool, vapid: Vapid, settings: Settings) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the push client; no push notifications");
            return;
        }
    };
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let _listener = AbortOnDrop(tokio::spawn(listen(pool.clone(), wake.clone())));
    loop {
        let round = async {
            let expanded = expand(&pool).await?;
            let sent = send_due(&pool, &client, &vapid, &settings).await?;
            anyhow::Ok(expanded + sent)
        };
        match round.await {
            Ok(0) => {
                let _ = tokio::time::timeout(settings.poll, wake.notified()).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = ?e, "push worker round failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}
