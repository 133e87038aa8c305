//! The audit log: every administrative change, who made it, when, and the
//! value before and after. Rows are only ever added (the database refuses
//! UPDATE, DELETE and TRUNCATE on the table, migration 0014), always in the
//! transaction of the change itself, so a change without its entry cannot
//! exist.

use kvo_api::admin::{AdminAction, AuditEntry, AuditPage};
use serde::Serialize;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use super::{Actor, Admin, AdminError};

/// Appends one entry. `action` is a dotted code (`zone.delete`), `target`
/// what it was done to (an id, a code, a name).
pub async fn record(
    tx: &mut PgConnection,
    area_id: Option<Uuid>,
    actor: Actor,
    action: &str,
    target: &str,
    before: Option<impl Serialize>,
    after: Option<impl Serialize>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (area_id, actor_id, actor, action, target, before, after)
         VALUES ($1, $2, coalesce((SELECT display_name FROM people WHERE id = $2), 'kvo'), $3, $4, $5, $6)",
    )
    .bind(area_id)
    .bind(actor.person_id)
    .bind(action)
    .bind(target)
    .bind(before.map(Json))
    .bind(after.map(Json))
    .execute(tx)
    .await?;
    Ok(())
}

/// The most entries one page holds.
pub const PAGE: i64 = 100;

impl Admin<'_> {
    /// The area's audit log, newest first, `limit` entries older than `before`.
    pub async fn audit_log(
        &self,
        area_id: Uuid,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<AuditPage, AdminError> {
        self.who.check(area_id, AdminAction::ReadAuditLog)?;
        let limit = limit.unwrap_or(PAGE);
        if !(1..=PAGE).contains(&limit) {
            return Err(super::out_of_range(
                "limit",
                "must be between 1 and 100",
                "moet tussen 1 en 100 liggen",
            ));
        }
        let rows = sqlx::query!(
            r#"SELECT seq, at, actor, actor_id, action, target, before, after FROM audit_log
                WHERE area_id = $1 AND seq < coalesce($2, 9223372036854775807)
                ORDER BY seq DESC LIMIT $3"#,
            area_id,
            before,
            limit + 1
        )
        .fetch_all(self.pool)
        .await?;
        let more = rows.len() as i64 > limit;
        let entries: Vec<AuditEntry> = rows
            .into_iter()
            .take(limit as usize)
            .map(|r| AuditEntry {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                actor_id: r.actor_id,
                action: r.action,
                target: r.target,
                before: r.before,
                after: r.after,
            })
            .collect();
        let next = if more { entries.last().map(|e| e.seq) } else { None };
        Ok(AuditPage { entries, next })
    }
}
