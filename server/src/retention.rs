//! Retention (issue 16 §3, docs/privacy.md): the personal data of a report
//! closed longer ago than its area's retention (24 months by default) is
//! removed — the reporter link, the description, text answers, the notes in
//! its history and its comments, its photos — while category, status,
//! cell, zone and dates stay, so every count and comparison is unchanged
//! (the rollup never sees the change). Phones and push subscriptions of
//! people who left the area before the cutoff go too. A run is logged in the
//! audit log; a dry run says what would go.

use chrono::{DateTime, Months, Utc};
use kvo_api::admin::RetentionSummary;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    admin::{Actor, audit},
    error::{Error, Result},
};

/// Who an anonymised report, comment or history line is "by" (migration 0018).
pub const ANONYMOUS: Uuid = Uuid::nil();

/// The reports of an area to anonymise: closed (resolved, rejected or
/// merged) and unchanged since before the cutoff, not yet anonymised.
const CANDIDATES: &str = "CREATE TEMP TABLE kvo_strip ON COMMIT DROP AS
    SELECT i.area_id, i.id, i.reporter_id, i.category FROM incidents i
     WHERE i.area_id = $1 AND i.anonymised_at IS NULL
       AND (i.status IN ('opgelost', 'afgewezen') OR i.merged_into IS NOT NULL)
       AND (SELECT max(h.changed_at) FROM incident_status_history h
             WHERE h.area_id = i.area_id AND h.incident_id = i.id) < $2";

/// The area's retention and the cutoff it gives at `now`.
async fn cutoff(tx: &mut PgConnection, area_id: Uuid, now: DateTime<Utc>) -> Result<(i32, DateTime<Utc>)> {
    let months: i32 = sqlx::query_scalar("SELECT retention_months FROM areas WHERE id = $1")
        .bind(area_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
    let cutoff = now.checked_sub_months(Months::new(months.unsigned_abs())).unwrap_or(now);
    Ok((months, cutoff))
}

/// Runs the retention of one area at `now`; with `dry_run` only counts.
/// Either everything of a run is written, with its audit entry, or nothing.
pub async fn run(
    pool: &PgPool,
    area_id: Uuid,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<RetentionSummary> {
    let mut tx = pool.begin().await?;
    if !dry_run {
        // One run per area at a time (every serving process has the job).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('kvo.retention:' || $1::text, 0))")
            .bind(area_id)
            .execute(&mut *tx)
            .await?;
    }
    let (months, cutoff) = cutoff(&mut tx, area_id, now).await?;
    sqlx::query(CANDIDATES).bind(area_id).bind(cutoff).execute(&mut *tx).await?;
    let left = "SELECT person_id FROM memberships WHERE area_id = $1 AND removed_at < $2";
    let (reports, comments, photos, devices, push_subscriptions): (i64, i64, i64, i64, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT count(*) FROM kvo_strip),
                    (SELECT count(*) FROM incident_comments m JOIN kvo_strip c ON m.area_id = c.area_id AND m.incident_id = c.id),
                    (SELECT count(*) FROM photos p JOIN kvo_strip c ON p.area_id = c.area_id AND p.incident_id = c.id),
                    (SELECT count(*) FROM device_tokens WHERE area_id = $1 AND person_id IN ({left})),
                    (SELECT count(*) FROM push_subscriptions WHERE area_id = $1 AND person_id IN ({left}))"
        )))
        .bind(area_id)
        .bind(cutoff)
        .fetch_one(&mut *tx)
        .await?;
    let summary =
        RetentionSummary { months, cutoff, dry_run, reports, comments, photos, devices, push_subscriptions };
    if dry_run || reports + devices + push_subscriptions == 0 {
        return Ok(summary);
    }
    strip(&mut tx, now).await?;
    for table in ["push_subscriptions", "device_tokens"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE area_id = $1 AND person_id IN ({left})"
        )))
        .bind(area_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    }
    let after = json!({"months": months, "cutoff": cutoff, "reports": reports, "comments": comments,
                       "photos": photos, "devices": devices, "push_subscriptions": push_subscriptions});
    audit::record(
        &mut tx,
        Some(area_id),
        Actor { person_id: None },
        "retention.run",
        "bewaartermijn",
        None::<()>,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// Removes the personal data of the reports in the temporary table
/// `kvo_strip (area_id, id, reporter_id, category)`: the reporter link (to
/// [`ANONYMOUS`]), description, text answers, history notes, comment texts
/// and photos; what the analysis counts stays. The one place this is done,
/// for the retention and for a person's removal.
pub(crate) async fn strip(tx: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<()> {
    // The history is append-only; this transaction may clear its notes (migration 0018).
    sqlx::query("SET LOCAL kvo.anonymising = 'on'").execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE incident_status_history h
            SET reason = NULL, changed_by = CASE WHEN h.changed_by = c.reporter_id THEN $1 ELSE h.changed_by END
           FROM kvo_strip c
          WHERE h.area_id = c.area_id AND h.incident_id = c.id AND (h.reason IS NOT NULL OR h.changed_by = c.reporter_id)",
    )
    .bind(ANONYMOUS)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE incident_comments m
            SET body = 'Tekst verwijderd (privacy)',
                author_id = CASE WHEN m.author_id = c.reporter_id THEN $1 ELSE m.author_id END
           FROM kvo_strip c WHERE m.area_id = c.area_id AND m.incident_id = c.id",
    )
    .bind(ANONYMOUS)
    .execute(&mut *tx)
    .await?;
    // The blobs go with the orphan sweep (`photos::sweep_orphans`).
    sqlx::query(
        "DELETE FROM photos p USING kvo_strip c WHERE p.area_id = c.area_id AND p.incident_id = c.id",
    )
    .execute(&mut *tx)
    .await?;
    // Text answers may name people; choices, numbers and yes/no stay.
    sqlx::query(
        "UPDATE incidents i
            SET reporter_id = $1, description = NULL, anonymised_at = $2,
                answers = coalesce((
                    SELECT jsonb_object_agg(a.key, a.value) FROM jsonb_each(i.answers) a
                     WHERE NOT EXISTS (SELECT 1 FROM categories k, jsonb_array_elements(k.questions) q
                                        WHERE k.area_id = i.area_id AND k.code = i.category
                                          AND q ->> 'code' = a.key AND q ->> 'kind' = 'text')), '{}')
           FROM kvo_strip c WHERE i.area_id = c.area_id AND i.id = c.id",
    )
    .bind(ANONYMOUS)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Runs the retention of every area (the nightly job); returns what went.
pub async fn run_all(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Vec<(Uuid, RetentionSummary)>> {
    let areas: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM areas ORDER BY id").fetch_all(pool).await?;
    let mut done = vec![];
    for area_id in areas {
        let s = run(pool, area_id, now, false)
            .await
            .map_err(|e| anyhow::anyhow!("retention of {area_id}: {e}"))?;
        if s.reports + s.devices + s.push_subscriptions > 0 {
            done.push((area_id, s));
        }
    }
    Ok(done)
}

/// The nightly job: an hour after start, then every 24 hours.
pub async fn nightly(pool: PgPool) {
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(24 * 3600),
    );
    loop {
        every.tick().await;
        match run_all(&pool, Utc::now()).await {
            Ok(done) => tracing::info!(areas = done.len(), "retention ran"),
            Err(e) => tracing::warn!(error = ?e, "retention failed"),
        }
    }
}
