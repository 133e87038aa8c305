//! The follow-up of incidents: status changes, assignment, comments, police
//! report and damage, merging duplicates. Who may do what is decided by the
//! one table in `kvo_api::follow_up`; every change takes a row lock on the
//! incident and appends to its history in the same transaction.

use kvo_api::{
    follow_up::{
        Action, Assignment, Comment, Facts, FollowUp, HandBack, HistoryEntry, Merge, NewComment,
        Organisation, Relation, StatusChange, TextProblem, allowed, available, clean_text, damage_cents,
    },
    wire::IncidentStatus,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{
    auth::{AreaAccess, Principal},
    column,
    error::{Error, module_error},
    visibility::locate,
};

/// Why a follow-up action is refused.
#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    /// The permission table does not grant the action to this role.
    #[error("the role may not {0:?}")]
    NotAllowed(Action),
    /// The action does not apply to a report with this status.
    #[error("{action:?} does not apply to status {status:?}")]
    Transition { action: Action, status: IncidentStatus },
    #[error("the report was merged into another")]
    Merged,
    #[error("the report to merge into was itself merged")]
    MergeTargetMerged,
    #[error("a report cannot be merged into itself")]
    MergeIntoItself,
    #[error("{field} longer than {max} characters")]
    TextTooLong { field: &'static str, max: usize },
    #[error("{0} contains control characters")]
    ControlCharacters(&'static str),
    #[error("a report cannot go back to nieuw")]
    BackToNew,
    #[error("the due date lies in the past")]
    DueDateInPast,
    #[error("empty comment")]
    EmptyComment,
    #[error("empty reason")]
    EmptyReason,
    #[error("damage is not an amount of 0 to 1 billion euros in cents")]
    Damage,
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(FollowUpError);

type Result<T, E = FollowUpError> = std::result::Result<T, E>;

/// An incident's follow-up state, locked for the transaction.
struct Locked {
    status: IncidentStatus,
    reporter: Uuid,
    assigned_to: Option<Organisation>,
    merged_into: Option<Uuid>,
    aangifte: bool,
    damage_cents: Option<i64>,
}

impl Locked {
    fn relation(&self, a: &AreaAccess) -> Relation {
        Relation {
            reporter: self.reporter == a.person_id,
            assigned: self.assigned_to.is_some() && self.assigned_to == Organisation::of(a.role),
        }
    }
}

async fn lock(tx: &mut Transaction<'_, Postgres>, area_id: Uuid, id: Uuid) -> Result<Locked> {
    let row = sqlx::query!(
        "SELECT status, reporter_id, assigned_to, merged_into, aangifte, damage_cents FROM incidents
          WHERE area_id = $1 AND id = $2 FOR UPDATE",
        area_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(Locked {
        status: column::code(&row.status, IncidentStatus::from_code)?,
        reporter: row.reporter_id,
        assigned_to: column::code_opt(row.assigned_to.as_deref(), Organisation::from_code)?,
        merged_into: row.merged_into,
        aangifte: row.aangifte,
        damage_cents: row.damage_cents,
    })
}

/// Checks the permission table and the status: 403 when the role may not,
/// 409 when the status (or a merge) does not allow it. Returns the new status.
fn check(a: &AreaAccess, inc: &Locked, action: Action) -> Result<Option<IncidentStatus>> {
    if !allowed(a.role, inc.relation(a), action) {
        return Err(FollowUpError::NotAllowed(action));
    }
    if inc.merged_into.is_some() && action != Action::Comment {
        return Err(FollowUpError::Merged);
    }
    action.transition(inc.status).map_err(|()| FollowUpError::Transition { action, status: inc.status })
}

/// A reason or other short text: trimmed, empty is none, at most `max` characters.
fn text(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    clean_text(raw, max).map_err(|p| match p {
        TextProblem::TooLong { max } => FollowUpError::TextTooLong { field, max },
        TextProblem::ControlCharacters => FollowUpError::ControlCharacters(field),
    })
}

async fn history(
    tx: &mut Transaction<'_, Postgres>,
    a: &AreaAccess,
    id: Uuid,
    action: &str,
    status: IncidentStatus,
    reason: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incident_status_history (area_id, incident_id, status, changed_by, reason, action, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.area_id)
    .bind(id)
    .bind(status.code())
    .bind(a.person_id)
    .bind(reason)
    .bind(action)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `POST /incidents/{id}/status`: the status actions, chosen by the target status.
pub async fn change_status(pool: &PgPool, p: &Principal, id: Uuid, req: StatusChange) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let reason = text("reason", req.reason.as_deref(), 1_000)?;
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    let action = match req.status {
        IncidentStatus::InBehandeling => Action::TakeInHand,
        IncidentStatus::Opgelost => Action::Resolve,
        IncidentStatus::Afgewezen => Action::Reject,
        IncidentStatus::Heropend => Action::Reopen,
        IncidentStatus::Nieuw => {
            return Err(FollowUpError::BackToNew);
        }
    };
    let to = check(&a, &inc, action)?.expect("status actions change the status");
    sqlx::query(
        "UPDATE incidents SET status = $3, resolved_at = CASE WHEN $3 = 'opgelost' THEN now() END
          WHERE area_id = $1 AND id = $2",
    )
    .bind(a.area_id)
    .bind(id)
    .bind(to.code())
    .execute(&mut *tx)
    .await?;
    history(&mut tx, &a, id, "status", to, reason.as_deref(), None).await?;
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `POST /incidents/{id}/assignment`
pub async fn assign(pool: &PgPool, p: &Principal, id: Uuid, req: Assignment) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let reason = text("reason", req.reason.as_deref(), 1_000)?;
    if let Some(due) = req.due_date
        && due < crate::nl_time::today()
    {
        return Err(FollowUpError::DueDateInPast);
    }
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    check(&a, &inc, Action::Assign)?;
    sqlx::query("UPDATE incidents SET assigned_to = $3, due_date = $4 WHERE area_id = $1 AND id = $2")
        .bind(a.area_id)
        .bind(id)
        .bind(req.organisation.code())
        .bind(req.due_date)
        .execute(&mut *tx)
        .await?;
    let detail = match req.due_date {
        Some(d) => format!("{} (uiterlijk {})", req.organisation.code(), d.format("%d-%m-%Y")),
        None => req.organisation.code().to_string(),
    };
    history(&mut tx, &a, id, "assign", inc.status, reason.as_deref(), Some(&detail)).await?;
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `POST /incidents/{id}/hand-back`: the assigned organisation gives the
/// report back to the werkgroep; the assignment and its due date go.
pub async fn hand_back(pool: &PgPool, p: &Principal, id: Uuid, req: HandBack) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let reason = text("reason", Some(&req.reason), 1_000)?.ok_or(FollowUpError::EmptyReason)?;
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    check(&a, &inc, Action::HandBack)?;
    sqlx::query("UPDATE incidents SET assigned_to = NULL, due_date = NULL WHERE area_id = $1 AND id = $2")
        .bind(a.area_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let from = inc.assigned_to.map(Organisation::code);
    history(&mut tx, &a, id, "hand_back", inc.status, Some(&reason), from).await?;
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `POST /incidents/{id}/comments`
pub async fn comment(pool: &PgPool, p: &Principal, id: Uuid, req: NewComment) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let body = text("body", Some(&req.body), 2_000)?.ok_or(FollowUpError::EmptyComment)?;
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    check(&a, &inc, Action::Comment)?;
    sqlx::query(
        "INSERT INTO incident_comments (area_id, incident_id, id, author_id, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(a.area_id)
    .bind(id)
    .bind(Uuid::new_v4())
    .bind(a.person_id)
    .bind(&body)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `PATCH /incidents/{id}/facts`: police report and damage.
pub async fn set_facts(pool: &PgPool, p: &Principal, id: Uuid, req: Facts) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let cents = req.damage_eur.map(|eur| damage_cents(eur).ok_or(FollowUpError::Damage)).transpose()?;
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    // A fact set to what it already is changes nothing and writes no history
    // (a phone's retry, or two people recording the same).
    if req.aangifte.is_some() {
        check(&a, &inc, Action::Aangifte)?;
    }
    if let Some(filed) = req.aangifte.filter(|f| *f != inc.aangifte) {
        sqlx::query("UPDATE incidents SET aangifte = $3 WHERE area_id = $1 AND id = $2")
            .bind(a.area_id)
            .bind(id)
            .bind(filed)
            .execute(&mut *tx)
            .await?;
        history(&mut tx, &a, id, "aangifte", inc.status, None, Some(if filed { "ja" } else { "nee" }))
            .await?;
    }
    if cents.is_some() {
        check(&a, &inc, Action::Damage)?;
    }
    if let Some(cents) = cents.filter(|c| Some(*c) != inc.damage_cents) {
        sqlx::query("UPDATE incidents SET damage_cents = $3 WHERE area_id = $1 AND id = $2")
            .bind(a.area_id)
            .bind(id)
            .bind(cents)
            .execute(&mut *tx)
            .await?;
        let detail = format!("€ {},{:02}", cents / 100, cents % 100);
        history(&mut tx, &a, id, "damage", inc.status, None, Some(&detail)).await?;
    }
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `POST /incidents/{id}/merge`: incident `id` is a duplicate of `req.into`.
/// Reports merged into `id` before move along to `req.into`.
pub async fn merge(pool: &PgPool, p: &Principal, id: Uuid, req: Merge) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let reason = text("reason", req.reason.as_deref(), 1_000)?;
    if req.into == id {
        return Err(FollowUpError::MergeIntoItself);
    }
    // May this person merge this report at all? (Before looking at the target,
    // which they may not be able to see.)
    {
        let mut tx = pool.begin().await?;
        check(&a, &lock(&mut tx, a.area_id, id).await?, Action::Merge)?;
    }
    let target = locate(pool, p, req.into).await?;
    if target.area_id != a.area_id {
        return Err(Error::NotFound.into());
    }
    let mut tx = pool.begin().await?;
    // Both rows, always in the same order, so two merges cannot deadlock.
    let (first, second) = if id < req.into { (id, req.into) } else { (req.into, id) };
    let l1 = lock(&mut tx, a.area_id, first).await?;
    let l2 = lock(&mut tx, a.area_id, second).await?;
    let (dup, into) = if first == id { (l1, l2) } else { (l2, l1) };
    check(&a, &dup, Action::Merge)?;
    if into.merged_into.is_some() {
        return Err(FollowUpError::MergeTargetMerged);
    }
    sqlx::query("UPDATE incidents SET merged_into = $3 WHERE area_id = $1 AND (id = $2 OR merged_into = $2)")
        .bind(a.area_id)
        .bind(id)
        .bind(req.into)
        .execute(&mut *tx)
        .await?;
    history(
        &mut tx,
        &a,
        id,
        "merge",
        dup.status,
        reason.as_deref(),
        Some(&format!("samengevoegd met {}", req.into)),
    )
    .await?;
    history(
        &mut tx,
        &a,
        req.into,
        "merge",
        into.status,
        reason.as_deref(),
        Some(&format!("dubbele melding {id}")),
    )
    .await?;
    tx.commit().await?;
    read(pool, &a, id).await
}

/// `GET /incidents/{id}/follow-up`
pub async fn get(pool: &PgPool, p: &Principal, id: Uuid) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    read(pool, &a, id).await
}

async fn read(pool: &PgPool, a: &AreaAccess, id: Uuid) -> Result<FollowUp> {
    let inc = sqlx::query!(
        "SELECT status, reporter_id, assigned_to, due_date, aangifte, damage_cents, merged_into, anonymous
           FROM incidents WHERE area_id = $1 AND id = $2",
        a.area_id,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    let (reporter, merged_into) = (inc.reporter_id, inc.merged_into);
    let anonymous = inc.anonymous;
    let name = |by: Option<Uuid>, display_name: Option<String>| {
        if by == Some(reporter) && hides_reporter(anonymous, a, reporter) {
            Some(ANONYMOUS.to_string())
        } else {
            display_name
        }
    };
    let history = sqlx::query!(
        r#"SELECT h.action, h.status, h.changed_by, p.display_name AS "display_name?", h.changed_at,
                  h.reason, h.detail
             FROM incident_status_history h LEFT JOIN people p ON p.id = h.changed_by
            WHERE h.area_id = $1 AND h.incident_id = $2 ORDER BY h.seq"#,
        a.area_id,
        id
    )
    .fetch_all(pool)
    .await?;
    let comments = sqlx::query!(
        r#"SELECT c.id, c.author_id, p.display_name AS "display_name?", c.body, c.created_at
             FROM incident_comments c LEFT JOIN people p ON p.id = c.author_id
            WHERE c.area_id = $1 AND c.incident_id = $2 ORDER BY c.created_at, c.id"#,
        a.area_id,
        id
    )
    .fetch_all(pool)
    .await?;
    let status = column::code(&inc.status, IncidentStatus::from_code)?;
    let assigned_to = column::code_opt(inc.assigned_to.as_deref(), Organisation::from_code)?;
    let rel = Locked {
        status,
        reporter,
        assigned_to,
        merged_into,
        aangifte: inc.aangifte,
        damage_cents: inc.damage_cents,
    }
    .relation(a);
    Ok(FollowUp {
        incident_id: id,
        status,
        assigned_to,
        due_date: inc.due_date,
        aangifte: inc.aangifte,
        damage_eur: inc.damage_cents.map(|c| c as f64 / 100.0),
        merged_into,
        history: history
            .into_iter()
            .map(|h| {
                Ok(HistoryEntry {
                    status: column::code(&h.status, IncidentStatus::from_code)?,
                    by: name(h.changed_by, h.display_name),
                    action: h.action,
                    at: h.changed_at,
                    reason: h.reason,
                    detail: h.detail,
                })
            })
            .collect::<Result<_>>()?,
        comments: comments
            .into_iter()
            .map(|c| Comment {
                id: c.id,
                author: name(Some(c.author_id), c.display_name),
                body: c.body,
                created_at: c.created_at,
            })
            .collect(),
        allowed: available(a.role, rel, status, merged_into.is_some()),
    })
}

/// What the werkgroep and partners see instead of an anonymous reporter's name.
pub const ANONYMOUS: &str = "anoniem";

/// The anonymity rule (docs/follow-up.md): on a report made anonymously, the
/// reporter's name is hidden from everyone but the reporter and the beheerder,
/// who must be able to reach them.
pub fn hides_reporter(anonymous: bool, viewer: &AreaAccess, reporter: Uuid) -> bool {
    anonymous && viewer.person_id != reporter && viewer.role != kvo_api::Role::Beheerder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reporter_and_the_beheerder_see_an_anonymous_reporter() {
        let reporter = Uuid::new_v4();
        let viewer = |role, person_id| AreaAccess { area_id: Uuid::nil(), person_id, role };
        use kvo_api::Role::*;
        for role in [Werkgroep, Gemeente, Politie, Brandweer, Beveiliger, Ondernemer] {
            assert!(hides_reporter(true, &viewer(role, Uuid::new_v4()), reporter), "{role:?}");
            assert!(!hides_reporter(false, &viewer(role, Uuid::new_v4()), reporter), "{role:?}");
        }
        assert!(!hides_reporter(true, &viewer(Beheerder, Uuid::new_v4()), reporter));
        assert!(!hides_reporter(true, &viewer(Ondernemer, reporter), reporter));
    }
}
