//! The follow-up of incidents: status changes, assignment, comments, police
//! report and damage, merging duplicates. Who may do what is decided by the
//! one table in `kvo_api::follow_up`; every change takes a row lock on the
//! incident and appends to its history in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use kvo_api::{
    follow_up::{
        Action, Assignment, Comment, Facts, FollowUp, HistoryEntry, Merge, NewComment, Organisation,
        PossibleDuplicate, Relation, StatusChange, allowed, available,
    },
    wire::IncidentStatus,
};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{
    auth::{AreaAccess, Principal},
    db,
    error::{Conflict, Error, Forbidden, Invalid, Result},
    visibility::locate,
};

/// How many possible duplicates a new report is answered with at most.
const MAX_DUPLICATES: i64 = 5;

/// An incident's follow-up state, locked for the transaction.
struct Locked {
    status: IncidentStatus,
    reporter: Uuid,
    assigned_to: Option<Organisation>,
    merged_into: Option<Uuid>,
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
    let row: (String, Uuid, Option<String>, Option<Uuid>) = sqlx::query_as(
        "SELECT status, reporter_id, assigned_to, merged_into FROM incidents
          WHERE area_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(area_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    let assigned_to = db::code_opt(row.2.as_deref(), Organisation::from_code)?;
    Ok(Locked {
        status: db::code(&row.0, IncidentStatus::from_code)?,
        reporter: row.1,
        assigned_to,
        merged_into: row.3,
    })
}

/// Checks the permission table and the status: 403 when the role may not,
/// 409 when the status (or a merge) does not allow it. Returns the new status.
fn check(a: &AreaAccess, inc: &Locked, action: Action) -> Result<Option<IncidentStatus>> {
    if !allowed(a.role, inc.relation(a), action) {
        return Err(Error::Forbidden(Forbidden::Action(action)));
    }
    if inc.merged_into.is_some() && action != Action::Comment {
        return Err(Error::Conflict(Conflict::Merged));
    }
    action
        .transition(inc.status)
        .map_err(|()| Error::Conflict(Conflict::Transition { action, status: inc.status }))
}

/// A reason or other short text: trimmed, empty is none, at most `max` characters.
fn text(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > max {
        return Err(Error::Invalid(Invalid::TextTooLong { field, max }));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::Invalid(Invalid::ControlCharacters(field)));
    }
    Ok(Some(t.to_string()))
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
            return Err(Error::Invalid(Invalid::BackToNew));
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
        return Err(Error::Invalid(Invalid::DueDateInPast));
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

/// `POST /incidents/{id}/comments`
pub async fn comment(pool: &PgPool, p: &Principal, id: Uuid, req: NewComment) -> Result<FollowUp> {
    let a = locate(pool, p, id).await?;
    let body = text("body", Some(&req.body), 2_000)?.ok_or_else(|| Error::Invalid(Invalid::EmptyComment))?;
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
    let cents = match req.damage_eur {
        None => None,
        Some(eur) => {
            let cents = (eur * 100.0).round();
            if !eur.is_finite() || !(0.0..=1e9).contains(&eur) || (eur * 100.0 - cents).abs() > 1e-6 {
                return Err(Error::Invalid(Invalid::Damage));
            }
            Some(cents as i64)
        }
    };
    let mut tx = pool.begin().await?;
    let inc = lock(&mut tx, a.area_id, id).await?;
    if let Some(filed) = req.aangifte {
        check(&a, &inc, Action::Aangifte)?;
        sqlx::query("UPDATE incidents SET aangifte = $3 WHERE area_id = $1 AND id = $2")
            .bind(a.area_id)
            .bind(id)
            .bind(filed)
            .execute(&mut *tx)
            .await?;
        history(&mut tx, &a, id, "aangifte", inc.status, None, Some(if filed { "ja" } else { "nee" }))
            .await?;
    }
    if let Some(cents) = cents {
        check(&a, &inc, Action::Damage)?;
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
        return Err(Error::Invalid(Invalid::MergeIntoItself));
    }
    // May this person merge this report at all? (Before looking at the target,
    // which they may not be able to see.)
    {
        let mut tx = pool.begin().await?;
        check(&a, &lock(&mut tx, a.area_id, id).await?, Action::Merge)?;
    }
    let target = locate(pool, p, req.into).await?;
    if target.area_id != a.area_id {
        return Err(Error::NotFound);
    }
    let mut tx = pool.begin().await?;
    // Both rows, always in the same order, so two merges cannot deadlock.
    let (first, second) = if id < req.into { (id, req.into) } else { (req.into, id) };
    let l1 = lock(&mut tx, a.area_id, first).await?;
    let l2 = lock(&mut tx, a.area_id, second).await?;
    let (dup, into) = if first == id { (l1, l2) } else { (l2, l1) };
    check(&a, &dup, Action::Merge)?;
    if into.merged_into.is_some() {
        return Err(Error::Conflict(Conflict::MergeTargetMerged));
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
    type Row = (String, Uuid, Option<String>, Option<NaiveDate>, bool, Option<i64>, Option<Uuid>);
    let (status, reporter, assigned_to, due_date, aangifte, damage_cents, merged_into): Row = sqlx::query_as(
        "SELECT status, reporter_id, assigned_to, due_date, aangifte, damage_cents, merged_into
           FROM incidents WHERE area_id = $1 AND id = $2",
    )
    .bind(a.area_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)?;
    type HistoryRow = (String, String, Option<String>, DateTime<Utc>, Option<String>, Option<String>);
    let history: Vec<HistoryRow> = sqlx::query_as(
        "SELECT h.action, h.status, p.display_name, h.changed_at, h.reason, h.detail
           FROM incident_status_history h LEFT JOIN people p ON p.id = h.changed_by
          WHERE h.area_id = $1 AND h.incident_id = $2 ORDER BY h.seq",
    )
    .bind(a.area_id)
    .bind(id)
    .fetch_all(pool)
    .await?;
    let comments: Vec<(Uuid, Option<String>, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT c.id, p.display_name, c.body, c.created_at
           FROM incident_comments c LEFT JOIN people p ON p.id = c.author_id
          WHERE c.area_id = $1 AND c.incident_id = $2 ORDER BY c.created_at, c.id",
    )
    .bind(a.area_id)
    .bind(id)
    .fetch_all(pool)
    .await?;
    let status = db::code(&status, IncidentStatus::from_code)?;
    let assigned_to = db::code_opt(assigned_to.as_deref(), Organisation::from_code)?;
    let rel = Locked { status, reporter, assigned_to, merged_into }.relation(a);
    Ok(FollowUp {
        incident_id: id,
        status,
        assigned_to,
        due_date,
        aangifte,
        damage_eur: damage_cents.map(|c| c as f64 / 100.0),
        merged_into,
        history: history
            .into_iter()
            .map(|(action, status, by, at, reason, detail)| {
                Ok(HistoryEntry {
                    action,
                    status: db::code(&status, IncidentStatus::from_code)?,
                    by,
                    at,
                    reason,
                    detail,
                })
            })
            .collect::<Result<_>>()?,
        comments: comments
            .into_iter()
            .map(|(id, author, body, created_at)| Comment { id, author, body, created_at })
            .collect(),
        allowed: available(a.role, rel, status, merged_into.is_some()),
    })
}

/// Open reports of `category` near `(lon, lat)` around `at`, within the
/// category's radius and weeks: what a new report may duplicate. A hint
/// only: the report is already stored, so a failure here is logged, not
/// returned.
pub async fn possible_duplicates(
    pool: &PgPool,
    area_id: Uuid,
    id: Uuid,
    category: &str,
    at_point: (f64, f64),
    at: DateTime<Utc>,
) -> Vec<PossibleDuplicate> {
    duplicates(pool, area_id, id, category, at_point, at).await.unwrap_or_else(|e| {
        tracing::warn!(error = ?e, %id, "looking for possible duplicates failed");
        vec![]
    })
}

async fn duplicates(
    pool: &PgPool,
    area_id: Uuid,
    id: Uuid,
    category: &str,
    (lon, lat): (f64, f64),
    at: DateTime<Utc>,
) -> Result<Vec<PossibleDuplicate>> {
    // The nearest open reports of the category (a KNN scan of the partial
    // index of migration 0008, bounded by a box: 1° is at least 60 km up to
    // 57° latitude), then the exact distance. Its cost does not grow with the
    // number of reports around the point.
    let rows: Vec<(Uuid, String, DateTime<Utc>, String, f64)> = sqlx::query_as(
        "WITH c AS MATERIALIZED (
             SELECT duplicate_radius_m AS r, make_interval(weeks => duplicate_weeks) AS w
               FROM categories WHERE area_id = $1 AND code = $2
         ), near AS (
             SELECT i.id, i.category, i.occurred_at, i.status,
                    ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint($4, $5), 4326)::geography) AS d
               FROM incidents i
              WHERE i.area_id = $1 AND i.category = $2 AND i.id <> $3
                AND i.merged_into IS NULL AND i.status IN ('nieuw', 'in_behandeling', 'heropend')
                AND i.geom && ST_Expand(ST_SetSRID(ST_MakePoint($4, $5), 4326), (SELECT r FROM c) / 60000.0)
                AND i.occurred_at BETWEEN $6 - (SELECT w FROM c) AND $6 + (SELECT w FROM c)
              ORDER BY i.geom <-> ST_SetSRID(ST_MakePoint($4, $5), 4326)
              LIMIT 12
         )
         SELECT near.* FROM near, c WHERE near.d <= c.r ORDER BY near.d, near.occurred_at DESC LIMIT $7",
    )
    .bind(area_id)
    .bind(category)
    .bind(id)
    .bind(lon)
    .bind(lat)
    .bind(at)
    .bind(MAX_DUPLICATES)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, category, occurred_at, status, d)| {
            Ok(PossibleDuplicate {
                id,
                category,
                occurred_at,
                status: db::code(&status, IncidentStatus::from_code)?,
                distance_m: (d * 10.0).round() / 10.0,
            })
        })
        .collect()
}
