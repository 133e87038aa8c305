//! "Aan ons toegewezen": the open reports assigned to the organisation a
//! person acts for (gemeente, politie, brandweer, beveiliger), across all
//! their areas, overdue first. Each item says what the person may do with
//! it now, from the one follow-up table.

use kvo_api::{
    Role,
    follow_up::{Organisation, Relation, WorkItem, WorkList, available},
    wire::IncidentStatus,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{auth::Principal, column, error::Result, nl_time};

/// The most items the list holds.
pub const MAX_ITEMS: i64 = 500;

/// The work list of a principal: empty for roles that act for no organisation.
pub async fn of(pool: &PgPool, p: &Principal) -> Result<WorkList> {
    let today = nl_time::today();
    let mine: Vec<(Uuid, Role, Organisation)> =
        p.areas().filter_map(|a| Some((a.area_id, a.role, Organisation::of(a.role)?))).collect();
    let areas: Vec<Uuid> = mine.iter().map(|m| m.0).collect();
    let orgs: Vec<&str> = mine.iter().map(|m| m.2.code()).collect();
    let rows = sqlx::query!(
        r#"SELECT i.id, i.area_id, a.name AS area_name, i.category, c.label_nl, c.label_en, c.urgent, i.status,
                  i.occurred_at, z.name AS "zone_name?", i.description, ST_Y(i.geom) AS "lat!", ST_X(i.geom) AS "lon!",
                  i.assigned_to AS "assigned_to!", i.due_date, i.reporter_id
             FROM unnest($1::uuid[], $2::text[]) AS mine(area_id, org)
             JOIN incidents i ON i.area_id = mine.area_id AND i.assigned_to = mine.org
             JOIN areas a ON a.id = i.area_id
             JOIN categories c ON c.area_id = i.area_id AND c.code = i.category
             LEFT JOIN zones z ON z.area_id = i.area_id AND z.id = i.zone_id
            WHERE i.merged_into IS NULL AND i.status IN ('nieuw', 'in_behandeling', 'heropend')
            ORDER BY coalesce(i.due_date < $3, false) DESC, c.urgent DESC, i.due_date ASC NULLS LAST, i.occurred_at, i.id
            LIMIT $4"#,
        &areas,
        &orgs as &[&str],
        today,
        MAX_ITEMS
    )
    .fetch_all(pool)
    .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let status = column::code(&r.status, IncidentStatus::from_code)?;
            let role = mine.iter().find(|m| m.0 == r.area_id).map_or(Role::Ondernemer, |m| m.1);
            let rel = Relation { reporter: r.reporter_id == p.person_id, assigned: true };
            Ok(WorkItem {
                incident_id: r.id,
                area_id: r.area_id,
                area_name: r.area_name,
                category: r.category,
                category_nl: r.label_nl,
                category_en: r.label_en,
                urgent: r.urgent,
                status,
                occurred_at: r.occurred_at,
                zone_name: r.zone_name,
                description: r.description,
                lat: r.lat,
                lon: r.lon,
                assigned_to: column::code(&r.assigned_to, Organisation::from_code)?,
                overdue: r.due_date.is_some_and(|d| d < today),
                due_date: r.due_date,
                actions: available(role, rel, status, false),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(WorkList { today, items })
}
