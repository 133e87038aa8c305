//! Forwarding to the gemeente's own Open311 endpoint (issue 16 §2, ADR
//! 0017): a report assigned to the gemeente is queued in the assignment's
//! transaction (trigger `incidents_open311`, migration 0017); [`send_due`]
//! posts it, at least once, with our id as `attribute[kvo_id]` so the remote
//! can recognise a repeat; [`poll`] reads the gemeente's status back into
//! the report's history ("gemeente: afgehandeld"). A remote that is down,
//! slow or answers nonsense is retried with a growing delay; one that
//! refuses the report (4xx) is not asked again, and the reason is kept.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// How a forwarder talks to remotes.
#[derive(Debug, Clone)]
pub struct Forwarder {
    pub client: reqwest::Client,
    /// The longest a remote may take to answer.
    pub timeout: Duration,
    /// The first retry's delay; each next one doubles, up to [`MAX_DELAY`].
    pub first_delay: Duration,
    /// How often a sent report's status is asked again.
    pub poll_every: Duration,
    /// The hosts it may call (`Config::open311_hosts`): an endpoint elsewhere is not called.
    pub hosts: Vec<String>,
}

impl Forwarder {
    pub fn from_config(c: &crate::config::Config) -> Forwarder {
        Forwarder { hosts: c.open311_hosts.clone(), ..Forwarder::default() }
    }
}

impl Default for Forwarder {
    fn default() -> Self {
        Forwarder {
            client: reqwest::Client::new(),
            timeout: Duration::from_secs(10),
            first_delay: Duration::from_secs(10),
            poll_every: Duration::from_secs(300),
            hosts: vec![],
        }
    }
}

/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// After this many attempts a report is no longer sent (about a day).
pub const MAX_ATTEMPTS: i32 = 30;
/// Reports sent per round.
const BATCH: i64 = 20;

/// One queued report with what sending it needs.
#[derive(Debug, sqlx::FromRow)]
struct Due {
    area_id: Uuid,
    incident_id: Uuid,
    attempts: i32,
    category: String,
    lat: f64,
    lon: f64,
    description: Option<String>,
    url: String,
    api_key: String,
    jurisdiction_id: Option<String>,
    service_code: Option<String>,
}

/// What became of one attempt.
#[derive(Debug, PartialEq)]
enum Outcome {
    Sent(String),
    /// Try again later.
    Retry(String),
    /// Refused for good.
    Refused(String),
}

/// Sends the queued reports that are due; returns how many were sent.
pub async fn send_due(pool: &PgPool, f: &Forwarder) -> anyhow::Result<usize> {
    // Claim: the lease (the next attempt's time) keeps other workers off.
    let lease = (f.timeout * 3).as_secs_f64();
    let due: Vec<Due> = sqlx::query_as(
        "WITH due AS (
            SELECT area_id, incident_id FROM open311_forwards
             WHERE remote_id IS NULL AND given_up_at IS NULL AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
         ), claimed AS (
            UPDATE open311_forwards o SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
              FROM due WHERE o.area_id = due.area_id AND o.incident_id = due.incident_id
            RETURNING o.area_id, o.incident_id, o.attempts
         )
         SELECT c.area_id, c.incident_id, c.attempts, i.category, ST_Y(i.geom) AS lat, ST_X(i.geom) AS lon,
                i.description, e.url, e.api_key, e.jurisdiction_id, e.service_codes ->> i.category AS service_code
           FROM claimed c
           JOIN incidents i ON i.area_id = c.area_id AND i.id = c.incident_id
           JOIN open311_endpoints e ON e.area_id = c.area_id",
    )
    .bind(BATCH)
    .bind(lease)
    .fetch_all(pool)
    .await?;
    let mut sent = 0;
    for d in due {
        let outcome = match &d.service_code {
            None => Outcome::Refused(format!(
                "geen service_code van de gemeente voor categorie {} / no service_code for category {}",
                d.category, d.category
            )),
            Some(code) => send(f, &d, code).await,
        };
        sent += usize::from(matches!(outcome, Outcome::Sent(_)));
        record(pool, f, &d, outcome).await?;
    }
    Ok(sent)
}

/// Posts one report: the form of GeoReport v2, our id as `attribute[kvo_id]`.
async fn send(f: &Forwarder, d: &Due, service_code: &str) -> Outcome {
    let mut form = vec![
        ("api_key", d.api_key.clone()),
        ("service_code", service_code.to_string()),
        ("lat", d.lat.to_string()),
        ("long", d.lon.to_string()),
        ("attribute[kvo_id]", d.incident_id.to_string()),
    ];
    if let Some(j) = &d.jurisdiction_id {
        form.push(("jurisdiction_id", j.clone()));
    }
    if let Some(text) = &d.description {
        form.push(("description", text.clone()));
    }
    let url = format!("{}/requests.json", d.url.trim_end_matches('/'));
    if !crate::config::may_call(&f.hosts, &url) {
        return Outcome::Refused(
            "deze server mag dit adres niet aanroepen (KVO_OPEN311_HOSTS) / not an allowed host".into(),
        );
    }
    let res = match f.client.post(&url).timeout(f.timeout).form(&form).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Outcome::Retry("de gemeente antwoordde niet op tijd / timed out".into());
        }
        Err(e) => return Outcome::Retry(format!("niet bereikbaar / unreachable: {}", short(&e.to_string()))),
    };
    let status = res.status();
    let body = match res.text().await {
        Ok(b) => b,
        Err(e) => {
            return Outcome::Retry(format!(
                "antwoord afgebroken / answer cut off: {}",
                short(&e.to_string())
            ));
        }
    };
    if status.is_server_error() || status.as_u16() == 429 {
        return Outcome::Retry(format!("de gemeente antwoordde {status} / answered {status}"));
    }
    if !status.is_success() {
        return Outcome::Refused(format!("geweigerd / refused ({status}): {}", short(&body)));
    }
    match remote_id(&body) {
        Some(id) => Outcome::Sent(id),
        None => Outcome::Retry(format!("onleesbaar antwoord / unreadable answer: {}", short(&body))),
    }
}

/// The `service_request_id` (or, for a remote that queues, the `token`) of
/// the first request in a JSON answer.
fn remote_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let first = v.as_array()?.first()?;
    let id = first.get("service_request_id").or_else(|| first.get("token"))?;
    let id = match id {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 200 => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(id)
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// The delay before attempt `attempts + 1`.
fn delay(f: &Forwarder, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20));
    f.first_delay.saturating_mul(factor).min(MAX_DELAY)
}

/// Writes an attempt's outcome; a sent or refused report gets a history line.
async fn record(pool: &PgPool, f: &Forwarder, d: &Due, outcome: Outcome) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let line = match &outcome {
        Outcome::Sent(id) => {
            sqlx::query(
                "UPDATE open311_forwards SET remote_id = $3, sent_at = now(), last_error = NULL
                  WHERE area_id = $1 AND incident_id = $2",
            )
            .bind(d.area_id)
            .bind(d.incident_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            Some(format!("doorgestuurd naar de gemeente (melding {id})"))
        }
        Outcome::Retry(why) if d.attempts < MAX_ATTEMPTS => {
            sqlx::query(
                "UPDATE open311_forwards SET last_error = $3, next_attempt_at = now() + make_interval(secs => $4)
                  WHERE area_id = $1 AND incident_id = $2",
            )
            .bind(d.area_id)
            .bind(d.incident_id)
            .bind(why)
            .bind(delay(f, d.attempts).as_secs_f64())
            .execute(&mut *tx)
            .await?;
            None
        }
        Outcome::Retry(why) | Outcome::Refused(why) => {
            sqlx::query(
                "UPDATE open311_forwards SET last_error = $3, given_up_at = now() WHERE area_id = $1 AND incident_id = $2",
            )
            .bind(d.area_id)
            .bind(d.incident_id)
            .bind(why)
            .execute(&mut *tx)
            .await?;
            Some("niet doorgestuurd naar de gemeente".to_string())
        }
    };
    if let Some(line) = line {
        let reason = match &outcome {
            Outcome::Sent(_) => None,
            Outcome::Retry(why) | Outcome::Refused(why) => Some(why.as_str()),
        };
        history(&mut tx, d.area_id, d.incident_id, &line, reason).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Appends an `open311` line to a report's history (its status unchanged).
async fn history(
    tx: &mut sqlx::PgConnection,
    area_id: Uuid,
    incident_id: Uuid,
    detail: &str,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO incident_status_history (area_id, incident_id, status, action, detail, reason)
         SELECT area_id, id, status, 'open311', left($3, 200), $4 FROM incidents WHERE area_id = $1 AND id = $2",
    )
    .bind(area_id)
    .bind(incident_id)
    .bind(detail)
    .bind(reason)
    .execute(tx)
    .await?;
    Ok(())
}

/// A sent report whose status is to be asked.
#[derive(Debug, sqlx::FromRow)]
struct Sent {
    area_id: Uuid,
    incident_id: Uuid,
    remote_id: String,
    remote_status: Option<String>,
    url: String,
    api_key: String,
    jurisdiction_id: Option<String>,
}

/// Asks the gemeente the status of the reports sent to it that are not yet
/// closed there (each at most every `poll_every`); a change goes into the
/// report's history. Returns how many changed.
pub async fn poll(pool: &PgPool, f: &Forwarder) -> anyhow::Result<usize> {
    let rows: Vec<Sent> = sqlx::query_as(
        "WITH due AS (
            SELECT area_id, incident_id FROM open311_forwards
             WHERE remote_id IS NOT NULL AND remote_status IS DISTINCT FROM 'closed'
               AND (polled_at IS NULL OR polled_at <= now() - make_interval(secs => $1))
             ORDER BY polled_at NULLS FIRST LIMIT 100 FOR UPDATE SKIP LOCKED
         ), claimed AS (
            UPDATE open311_forwards o SET polled_at = now()
              FROM due WHERE o.area_id = due.area_id AND o.incident_id = due.incident_id
            RETURNING o.area_id, o.incident_id, o.remote_id, o.remote_status
         )
         SELECT c.*, e.url, e.api_key, e.jurisdiction_id FROM claimed c JOIN open311_endpoints e USING (area_id)",
    )
    .bind(f.poll_every.as_secs_f64())
    .fetch_all(pool)
    .await?;
    let mut changed = 0;
    for r in rows {
        let mut url =
            reqwest::Url::parse(&format!("{}/requests/{}.json", r.url.trim_end_matches('/'), r.remote_id))?;
        if let Some(j) = &r.jurisdiction_id {
            url.query_pairs_mut().append_pair("jurisdiction_id", j);
        }
        url.query_pairs_mut().append_pair("api_key", &r.api_key);
        // A remote that is down or answers nonsense is asked again next round.
        let Ok(res) = f.client.get(url).timeout(f.timeout).send().await else { continue };
        if !res.status().is_success() {
            continue;
        }
        let Ok(body) = res.text().await else { continue };
        let Some((status, notes)) = remote_status(&body) else { continue };
        if r.remote_status.as_deref() == Some(status.as_str()) {
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE open311_forwards SET remote_status = $3 WHERE area_id = $1 AND incident_id = $2")
            .bind(r.area_id)
            .bind(r.incident_id)
            .bind(&status)
            .execute(&mut *tx)
            .await?;
        let said = if status == "closed" { "afgehandeld" } else { "open" };
        let line = match &notes {
            Some(n) => format!("gemeente: {said} ({n})"),
            None => format!("gemeente: {said}"),
        };
        history(&mut tx, r.area_id, r.incident_id, &line, None).await?;
        tx.commit().await?;
        changed += 1;
    }
    Ok(changed)
}

/// `status` (`open` or `closed`) and `status_notes` of the first request.
fn remote_status(body: &str) -> Option<(String, Option<String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let first = v.as_array()?.first()?;
    let status = first.get("status")?.as_str()?.trim().to_ascii_lowercase();
    if status != "open" && status != "closed" {
        return None;
    }
    let notes = first.get("status_notes").and_then(Value::as_str).map(short).filter(|n| !n.trim().is_empty());
    Some((status, notes))
}

/// Sends and polls for as long as the process runs.
pub async fn run(pool: PgPool, f: Forwarder) {
    let mut last_poll: Option<DateTime<Utc>> = None;
    loop {
        if let Err(e) = send_due(&pool, &f).await {
            tracing::warn!(error = ?e, "open311 forwarding");
        }
        let now = Utc::now();
        if last_poll.is_none_or(|t| now - t >= chrono::Duration::seconds(30)) {
            if let Err(e) = poll(&pool, &f).await {
                tracing::warn!(error = ?e, "open311 polling");
            }
            last_poll = Some(now);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_id_is_read_from_a_list_of_one_and_nonsense_is_not() {
        assert_eq!(remote_id(r#"[{"service_request_id":"G-12"}]"#), Some("G-12".into()));
        assert_eq!(remote_id(r#"[{"service_request_id":812}]"#), Some("812".into()));
        assert_eq!(remote_id(r#"[{"token":"t1"}]"#), Some("t1".into()));
        for nonsense in ["", "<html>", "[]", "{}", r#"[{"service_request_id":""}]"#, r#"[{"x":1}]"#] {
            assert_eq!(remote_id(nonsense), None, "{nonsense}");
        }
        assert_eq!(
            remote_status(r#"[{"status":"closed","status_notes":"Lamp vervangen"}]"#),
            Some(("closed".into(), Some("Lamp vervangen".into())))
        );
        assert_eq!(remote_status(r#"[{"status":"half"}]"#), None);
    }

    #[test]
    fn the_delay_doubles_up_to_an_hour() {
        let f = Forwarder { first_delay: Duration::from_secs(10), ..Forwarder::default() };
        assert_eq!(delay(&f, 1), Duration::from_secs(10));
        assert_eq!(delay(&f, 2), Duration::from_secs(20));
        assert_eq!(delay(&f, 4), Duration::from_secs(80));
        assert_eq!(delay(&f, 29), MAX_DELAY);
    }
}
