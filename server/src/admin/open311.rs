//! The gemeente's own Open311 endpoint of an area (issue 16 §2): where the
//! reports assigned to the gemeente are forwarded (`open311::forward`).
//! Setting it is the beheerder's (`EditArea`) and audit-logged, without the key.

use std::collections::BTreeMap;

use kvo_api::admin::{AdminAction, Open311Endpoint, Open311EndpointInfo};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Admin, AdminError, areas::lock_live_area, audit, out_of_range};
use crate::error::Error;

/// The stored settings without the key: url, jurisdiction, service codes.
type Settings = (String, Option<String>, Json<BTreeMap<String, String>>);

fn checked(req: &Open311Endpoint, categories: &[String], hosts: &[String]) -> Result<(), AdminError> {
    let url = req.url.trim();
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok
        || url.len() > 500
        || url.chars().any(char::is_whitespace)
        || reqwest::Url::parse(url).is_err()
    {
        return Err(out_of_range("url", "is not an http(s) address", "is geen http(s)-adres"));
    }
    if !crate::config::may_call(hosts, url) {
        return Err(out_of_range(
            "url",
            "is not at a host this server may call (the operator lists them in KVO_OPEN311_HOSTS; https only)",
            "staat niet op een host die deze server mag aanroepen (de beheerder van de server zet ze in KVO_OPEN311_HOSTS; alleen https)",
        ));
    }
    if req.api_key.trim().is_empty() || req.api_key.len() > 500 {
        return Err(out_of_range("api_key", "must have 1 to 500 characters", "moet 1 tot 500 tekens hebben"));
    }
    if req.jurisdiction_id.as_ref().is_some_and(|j| j.trim().is_empty() || j.len() > 200) {
        return Err(out_of_range(
            "jurisdiction_id",
            "must have 1 to 200 characters",
            "moet 1 tot 200 tekens hebben",
        ));
    }
    for (ours, theirs) in &req.service_codes {
        if !categories.contains(ours) {
            return Err(AdminError::UnknownCategory(kvo_api::validate::shown(ours)));
        }
        if theirs.trim().is_empty() || theirs.len() > 100 {
            return Err(out_of_range(
                "service_codes",
                "a service code has 1 to 100 characters",
                "een service_code heeft 1 tot 100 tekens",
            ));
        }
    }
    Ok(())
}

impl Admin<'_> {
    /// Sets (or replaces) the area's gemeente endpoint, at one of the
    /// `hosts` the operator allows.
    pub async fn set_open311_endpoint(
        &self,
        area_id: Uuid,
        req: Open311Endpoint,
        hosts: &[String],
    ) -> Result<Open311EndpointInfo, AdminError> {
        let actor = self.who.check(area_id, AdminAction::EditArea)?;
        let mut tx = self.pool.begin().await?;
        lock_live_area(&mut tx, area_id).await?;
        let categories: Vec<String> = sqlx::query_scalar("SELECT code FROM categories WHERE area_id = $1")
            .bind(area_id)
            .fetch_all(&mut *tx)
            .await?;
        checked(&req, &categories, hosts)?;
        let view = |url: &str, j: &Option<String>, codes: &BTreeMap<String, String>| json!({"url": url, "jurisdiction_id": j, "service_codes": codes});
        let before: Option<Settings> = sqlx::query_as(
            "SELECT url, jurisdiction_id, service_codes FROM open311_endpoints WHERE area_id = $1",
        )
        .bind(area_id)
        .fetch_optional(&mut *tx)
        .await?;
        let jurisdiction = req.jurisdiction_id.as_ref().map(|j| j.trim().to_string());
        sqlx::query(
            "INSERT INTO open311_endpoints (area_id, url, api_key, jurisdiction_id, service_codes) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (area_id) DO UPDATE SET url = EXCLUDED.url, api_key = EXCLUDED.api_key,
                    jurisdiction_id = EXCLUDED.jurisdiction_id, service_codes = EXCLUDED.service_codes, updated_at = now()",
        )
        .bind(area_id)
        .bind(req.url.trim())
        .bind(req.api_key.trim())
        .bind(&jurisdiction)
        .bind(Json(&req.service_codes))
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Some(area_id),
            actor,
            "open311_endpoint.set",
            req.url.trim(),
            before.map(|(u, j, c)| view(&u, &j, &c.0)),
            Some(view(req.url.trim(), &jurisdiction, &req.service_codes)),
        )
        .await?;
        tx.commit().await?;
        self.open311_endpoint(area_id).await
    }

    /// The area's gemeente endpoint (404 when none is set) and how forwarding goes.
    pub async fn open311_endpoint(&self, area_id: Uuid) -> Result<Open311EndpointInfo, AdminError> {
        self.who.check(area_id, AdminAction::EditArea)?;
        type Row = (String, Option<String>, Json<BTreeMap<String, String>>, i64, i64, i64, Option<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT e.url, e.jurisdiction_id, e.service_codes,
                    (SELECT count(*) FROM open311_forwards f WHERE f.area_id = e.area_id AND f.remote_id IS NULL AND f.given_up_at IS NULL),
                    (SELECT count(*) FROM open311_forwards f WHERE f.area_id = e.area_id AND f.remote_id IS NOT NULL),
                    (SELECT count(*) FROM open311_forwards f WHERE f.area_id = e.area_id AND f.given_up_at IS NOT NULL),
                    (SELECT f.last_error FROM open311_forwards f WHERE f.area_id = e.area_id AND f.last_error IS NOT NULL
                      ORDER BY f.next_attempt_at DESC LIMIT 1)
               FROM open311_endpoints e WHERE e.area_id = $1",
        )
        .bind(area_id)
        .fetch_optional(self.pool)
        .await?;
        let (url, jurisdiction_id, codes, waiting, sent, given_up, last_error) =
            row.ok_or(Error::NotFound)?;
        Ok(Open311EndpointInfo {
            url,
            jurisdiction_id,
            service_codes: codes.0,
            waiting,
            sent,
            given_up,
            last_error,
        })
    }
}
