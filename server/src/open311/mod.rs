//! Open311 GeoReport v2 as a server (issue 16, ADR 0017): the system a
//! gemeente's buitendienst already uses reads an area's categories and
//! reports under `/open311/v2/`. An area is a jurisdiction, named by its
//! slug. Everything here is public, so what a report shows goes through the
//! privacy rule: no names, no free text, no photos, and the location of
//! what is veilig moved to the centre of its cell.

pub mod format;
pub mod forward;

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use kvo_api::{
    questions::{Question, QuestionKind},
    status::IncidentStatus,
    wire::CategoryInfo,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    analytics::privacy::{public_description, public_location},
    areas::AreaIndex,
    column, nl_time,
};

/// The longest period one `requests` list covers (the spec's suggestion).
pub const MAX_DAYS: i64 = 90;
/// The most requests one list returns (the spec's suggestion).
pub const MAX_REQUESTS: i64 = 1_000;

impl From<crate::error::Error> for Open311Error {
    fn from(e: crate::error::Error) -> Open311Error {
        match e {
            crate::error::Error::NotFound => Open311Error::new(404, "niet gevonden", "not found"),
            other => {
                tracing::error!(error = ?other, "open311");
                Open311Error::new(500, "interne fout", "internal error")
            }
        }
    }
}

/// A database failure as an Open311 error (500, logged).
pub fn db(e: sqlx::Error) -> Open311Error {
    crate::error::Error::from(e).into()
}

pub use kvo_api::open311::{Open311Error, Result, Submission, form_fields};

/// Reads a filed report's form for `area`: its enabled categories only.
pub fn submission(area: &AreaIndex, fields: &[(String, String)]) -> Result<Submission> {
    kvo_api::open311::submission(|code| area.category(code).filter(|c| area.is_enabled(&c.code)), fields)
}

/// How long a repeated form counts as the same report: a partner system
/// that did not get the answer sends it again, and Open311 has no
/// idempotency key.
pub const RETRY_WINDOW: Duration = Duration::minutes(10);

/// The ids a submission by the key `token_id` gets at `now`: the one it is
/// filed under (its window's) and the one the same form had in the window
/// before. The same form (category, position, description, answers; not the
/// personal fields, which are not kept) by the same key within a window and
/// the one after it is one report.
pub fn submission_ids(token_id: Uuid, sub: &Submission, now: DateTime<Utc>) -> [Uuid; 2] {
    use sha2::{Digest, Sha256};
    let window = now.timestamp().div_euclid(RETRY_WINDOW.num_seconds());
    let form = serde_json::to_vec(&(&sub.service_code, sub.lat, sub.lon, &sub.description, &sub.answers))
        .expect("a submission serialises");
    [window, window - 1].map(|w| {
        let mut h = Sha256::new();
        h.update(b"kvo-open311-submission");
        h.update(token_id.as_bytes());
        h.update(w.to_be_bytes());
        h.update(&form);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&h.finalize()[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    })
}

/// The report a repeated form was filed as, if either of its `ids`
/// ([`submission_ids`]) is already stored in `area_id`.
pub async fn filed_before(pool: &PgPool, area_id: Uuid, ids: [Uuid; 2]) -> Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM incidents WHERE area_id = $1 AND id = ANY($2) LIMIT 1")
        .bind(area_id)
        .bind(&ids[..])
        .fetch_optional(pool)
        .await
        .map_err(db)
}

/// The query parameters of a request, with empty ones counted as absent.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        Params(pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect())
    }

    /// The parameters among form fields (the last of a repeated one wins).
    pub fn from_fields(fields: &[(String, String)]) -> Params {
        Params(fields.iter().cloned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim())
    }

    /// A comma-delimited list parameter.
    fn list(&self, key: &str) -> Option<Vec<&str>> {
        self.get(key).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
    }
}

/// The area a request is about, by its `jurisdiction_id`.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    pub area_id: Uuid,
    pub slug: String,
}

/// The area whose slug is the request's `jurisdiction_id` (400 when it is
/// missing: one installation serves many areas; 404 when there is none).
pub async fn jurisdiction(pool: &PgPool, params: &Params) -> Result<Jurisdiction> {
    let Some(slug) = params.get("jurisdiction_id") else {
        return Err(Open311Error::bad(
            "jurisdiction_id ontbreekt: deze server bedient meerdere gebieden",
            "jurisdiction_id is required: this server serves several areas",
        ));
    };
    let area_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM areas WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    match area_id {
        Some(area_id) => Ok(Jurisdiction { area_id, slug: slug.to_string() }),
        None => Err(Open311Error::new(404, "onbekende jurisdiction_id", "unknown jurisdiction_id")),
    }
}

/// `discovery`: where the endpoint is and what it speaks.
pub fn discovery(base_url: &str) -> Value {
    json!({
        "changeset": "2026-12-01T00:00:00+01:00",
        "contact": "De beheerder van uw KVO-gebied / the beheerder of your KVO area",
        "key_service": "API-sleutels geeft de beheerder van het gebied uit / the area's beheerder issues API keys",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{}/open311/v2", base_url.trim_end_matches('/')),
            "changeset": "2026-12-01T00:00:00+01:00",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })
}

/// `services`: the area's enabled categories.
pub fn services(area: &AreaIndex) -> Value {
    Value::Array(
        area.categories()
            .iter()
            .filter(|c| area.is_enabled(&c.code))
            .map(|c| {
                json!({
                    "service_code": c.code,
                    "service_name": c.label_nl,
                    "description": format!("{} / {}", c.label_nl, c.label_en),
                    "metadata": !c.questions.is_empty(),
                    "type": "realtime",
                    "keywords": keywords(c),
                    "group": c.dimension.map(|d| d.code()).unwrap_or("overig"),
                })
            })
            .collect(),
    )
}

fn keywords(c: &CategoryInfo) -> String {
    [c.theme.map(|t| t.code()), c.dimension.map(|d| d.code())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(",")
}

/// `services/{code}`: a category's questions as Open311 attributes.
pub fn service_definition(area: &AreaIndex, code: &str) -> Result<Value> {
    let c = area
        .category(code)
        .filter(|c| area.is_enabled(&c.code))
        .ok_or_else(|| Open311Error::new(404, "onbekende service_code", "unknown service_code"))?;
    let attributes: Vec<Value> = c.questions.iter().enumerate().map(|(i, q)| attribute(i + 1, q)).collect();
    Ok(json!({"service_code": c.code, "attributes": attributes}))
}

/// One question as an attribute: the answer's code is the attribute's code.
fn attribute(order: usize, q: &Question) -> Value {
    let (datatype, values): (&str, Vec<Value>) = match q.kind {
        QuestionKind::Choice => ("singlevaluelist", options(q)),
        QuestionKind::MultipleChoice => ("multivaluelist", options(q)),
        QuestionKind::YesNo => (
            "singlevaluelist",
            vec![json!({"key": "true", "name": "Ja / Yes"}), json!({"key": "false", "name": "Nee / No"})],
        ),
        QuestionKind::Number => ("number", vec![]),
        QuestionKind::Text => ("string", vec![]),
    };
    let described = match (q.kind, q.min, q.max) {
        (QuestionKind::Number, Some(lo), Some(hi)) => {
            format!("een getal van {lo} tot en met {hi} / a number from {lo} to {hi}")
        }
        (QuestionKind::Number, _, _) => "een getal / a number".to_string(),
        (QuestionKind::Text, _, _) => "ten hoogste 200 tekens / at most 200 characters".to_string(),
        _ => String::new(),
    };
    let mut a = json!({
        "variable": true,
        "code": q.code,
        "datatype": datatype,
        "required": q.required,
        "datatype_description": described,
        "order": order,
        "description": format!("{} / {}", q.label_nl, q.label_en),
    });
    if !values.is_empty() {
        a["values"] = Value::Array(values);
    }
    a
}

fn options(q: &Question) -> Vec<Value> {
    q.options
        .iter()
        .map(|o| json!({"key": o.code, "name": format!("{} / {}", o.label_nl, o.label_en)}))
        .collect()
}

/// One report as the public may see it.
#[derive(Debug, sqlx::FromRow)]
struct PublicRow {
    id: Uuid,
    category: String,
    status: String,
    merged_into: Option<Uuid>,
    lat: f64,
    lon: f64,
    received_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    due_date: Option<NaiveDate>,
    assigned_to: Option<String>,
    street: Option<String>,
    /// NULL unless the area opted in to public descriptions.
    description: Option<String>,
}

/// What a `requests` list asks for, checked.
#[derive(Debug, PartialEq)]
pub enum Selection {
    /// Named reports (`service_request_id`, which overrides the rest).
    Ids(Vec<Uuid>),
    /// Reports received in `[from, until)`, of some categories and statuses.
    Period { from: DateTime<Utc>, until: DateTime<Utc>, codes: Option<Vec<String>>, open: Option<bool> },
}

/// Reads a `requests` list's parameters: dates in W3C format with a time
/// zone, at most [`MAX_DAYS`] apart (the last 90 days when neither is given).
pub fn selection(area: &AreaIndex, p: &Params, now: DateTime<Utc>) -> Result<Selection> {
    if let Some(ids) = p.list("service_request_id") {
        let ids =
            ids.iter().map(|s| s.parse::<Uuid>()).collect::<std::result::Result<Vec<_>, _>>().map_err(
                |_| Open311Error::bad("ongeldige service_request_id", "invalid service_request_id"),
            )?;
        return Ok(Selection::Ids(ids));
    }
    let date = |key: &str| -> Result<Option<DateTime<Utc>>> {
        p.get(key)
            .map(|v| {
                DateTime::parse_from_rfc3339(v).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                    Open311Error::bad(
                        &format!("{key} is geen datum met tijdzone (bijvoorbeeld 2026-11-01T00:00:00+01:00)"),
                        &format!("{key} is not a date with a time zone (e.g. 2026-11-01T00:00:00+01:00)"),
                    )
                })
            })
            .transpose()
    };
    let span = Duration::days(MAX_DAYS);
    let (from, until) = match (date("start_date")?, date("end_date")?) {
        (Some(f), Some(u)) => (f, u),
        (Some(f), None) => (f, f + span),
        (None, Some(u)) => (u - span, u),
        (None, None) => (now - span, now),
    };
    if until < from {
        return Err(Open311Error::bad("end_date ligt voor start_date", "end_date is before start_date"));
    }
    if until - from > span {
        return Err(Open311Error::bad(
            "start_date en end_date liggen meer dan 90 dagen uit elkaar",
            "start_date and end_date are more than 90 days apart",
        ));
    }
    let codes = p
        .list("service_code")
        .map(|codes| {
            codes
                .iter()
                .map(|c| match area.category(c) {
                    Some(cat) => Ok(cat.code.clone()),
                    None => Err(Open311Error::bad(
                        &format!("onbekende service_code {:?}", kvo_api::validate::shown(c)),
                        &format!("unknown service_code {:?}", kvo_api::validate::shown(c)),
                    )),
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let open = match p.list("status").as_deref() {
        None => None,
        Some(["open"]) => Some(true),
        Some(["closed"]) => Some(false),
        Some(s) if s.iter().all(|x| *x == "open" || *x == "closed") => None,
        Some(_) => {
            return Err(Open311Error::bad("status is open of closed", "status is open or closed"));
        }
    };
    Ok(Selection::Period { from, until, codes, open })
}

/// The public reports of `selection`, newest first (at most [`MAX_REQUESTS`]).
pub async fn requests(
    pool: &PgPool,
    area_id: Uuid,
    area: &AreaIndex,
    selection: &Selection,
) -> Result<Value> {
    let base = "SELECT i.id, i.category, i.status, i.merged_into, ST_Y(i.geom) AS lat, ST_X(i.geom) AS lon,
                       i.received_at, i.due_date, i.assigned_to,
                       coalesce((SELECT max(h.changed_at) FROM incident_status_history h
                                  WHERE h.area_id = i.area_id AND h.incident_id = i.id), i.received_at) AS updated_at,
                       kvo_street_name(i.area_id, i.geom) AS street,
                       CASE WHEN a.open311_descriptions THEN i.description END AS description
                  FROM incidents i JOIN areas a ON a.id = i.area_id WHERE i.area_id = $1";
    let rows: Vec<PublicRow> = match selection {
        Selection::Ids(ids) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{base} AND i.id = ANY($2) ORDER BY i.received_at DESC, i.id"
        )))
        .bind(area_id)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(db)?,
        Selection::Period { from, until, codes, open } => {
            use strum::VariantArray;
            let statuses: Option<Vec<&str>> = open.map(|o| {
                IncidentStatus::VARIANTS.iter().filter(|s| s.is_open() == o).map(|s| s.code()).collect()
            });
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{base} AND i.received_at >= $2 AND i.received_at < $3 AND i.merged_into IS NULL
                   AND ($4::text[] IS NULL OR i.category = ANY($4))
                   AND ($5::text[] IS NULL OR i.status = ANY($5))
                 ORDER BY i.received_at DESC, i.id LIMIT $6"
            )))
            .bind(area_id)
            .bind(from)
            .bind(until)
            .bind(codes)
            .bind(statuses)
            .bind(MAX_REQUESTS)
            .fetch_all(pool)
            .await
            .map_err(db)?
        }
    };
    rows.into_iter().map(|r| request(area, r)).collect::<Result<Vec<_>>>().map(Value::Array)
}

/// One report in Open311's terms: open or closed, with our status in the notes.
fn request(area: &AreaIndex, r: PublicRow) -> Result<Value> {
    let status = column::code(&r.status, IncidentStatus::from_code).map_err(crate::error::Error::from)?;
    let category = area.category(&r.category);
    let (lat, lon) = public_location(category.and_then(|c| c.dimension), r.lat, r.lon);
    let notes = match r.merged_into {
        Some(other) => format!("Samengevoegd met melding {other} / merged into request {other}"),
        None => status.label_nl().to_string(),
    };
    Ok(json!({
        "service_request_id": r.id.to_string(),
        "status": if status.is_open() && r.merged_into.is_none() { "open" } else { "closed" },
        "status_notes": notes,
        "service_name": category.map_or(r.category.as_str(), |c| c.label_nl.as_str()),
        "service_code": r.category,
        "description": public_description(category.and_then(|c| c.dimension), true, r.description),
        "agency_responsible": r.assigned_to.as_deref().map(agency),
        "service_notice": Value::Null,
        "requested_datetime": w3c(r.received_at),
        "updated_datetime": w3c(r.updated_at),
        "expected_datetime": r.due_date.map(end_of_day),
        "address": r.street,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": lat,
        "long": lon,
        "media_url": Value::Null,
    }))
}

fn agency(org: &str) -> &'static str {
    match org {
        "gemeente" => "Gemeente",
        "politie" => "Politie",
        "brandweer" => "Brandweer",
        "beveiliger" => "Beveiliger",
        _ => "Werkgroep",
    }
}

/// A time in W3C format with the Dutch offset of that moment.
pub fn w3c(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt((nl_time::offset_hours(t) * 3600) as i32)
        .unwrap_or(FixedOffset::east_opt(0).expect("0"));
    t.with_timezone(&offset).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A due date as the end of that Dutch day.
fn end_of_day(d: NaiveDate) -> String {
    let local = d.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("a time"));
    // The offset at noon of that day: a due date never falls in the switch hour.
    let noon = Utc.from_utc_datetime(&d.and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("a time")));
    let offset = FixedOffset::east_opt((nl_time::offset_hours(noon) * 3600) as i32)
        .unwrap_or(FixedOffset::east_opt(0).expect("0"));
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_default()
}

/// The answer to a filed report: its id, as a list of one.
pub fn filed(id: Uuid) -> Value {
    json!([{"service_request_id": id.to_string(), "service_notice": Value::Null, "account_id": Value::Null}])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_the_dutch_offset() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap();
        assert_eq!(w3c(winter), "2026-12-01T10:30:00+01:00");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).unwrap();
        assert_eq!(w3c(summer), "2026-07-01T11:30:00+02:00");
        assert_eq!(end_of_day(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()), "2026-07-01T23:59:59+02:00");
    }

    #[test]
    fn a_form_keeps_its_id_into_the_next_window_only() {
        let sub = |description: &str| Submission {
            api_key: "kvo311_x".into(),
            service_code: "graffiti".into(),
            lat: 52.2471,
            lon: 6.1583,
            description: Some(description.into()),
            answers: Default::default(),
        };
        let (key, now) = (Uuid::from_u128(7), Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap());
        let [id, before] = submission_ids(key, &sub("tag"), now);
        assert_ne!(id, before);
        assert_eq!(submission_ids(key, &sub("tag"), now + Duration::minutes(3))[0], id, "same window");
        assert_eq!(submission_ids(key, &sub("tag"), now + RETRY_WINDOW)[1], id, "the next window finds it");
        assert!(
            !submission_ids(key, &sub("tag"), now + RETRY_WINDOW * 2).contains(&id),
            "later: a new report"
        );
        assert!(!submission_ids(Uuid::from_u128(8), &sub("tag"), now).contains(&id), "another key");
        assert!(!submission_ids(key, &sub("tags"), now).contains(&id), "another form");
    }

    #[test]
    fn empty_parameters_count_as_absent() {
        let p = Params::parse(Some("jurisdiction_id=&status=open&service_code=a,%20b"));
        assert_eq!(p.get("jurisdiction_id"), None);
        assert_eq!(p.list("status"), Some(vec!["open"]));
        assert_eq!(p.list("service_code"), Some(vec!["a", "b"]));
    }
}
