//! Exports of a filtered set of incidents: CSV that opens correctly in Dutch
//! Excel (UTF-8 with BOM, `;` separator, Dutch dates and decimal commas) and
//! GeoJSON. Both are streamed from the database, so a large export holds
//! little memory. Only roles that may see individual incidents export them.

use std::fmt::Write;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use kvo_api::{
    questions::{Answers, answers_text_nl},
    wire::IncidentStatus,
};
use serde_json::json;
use uuid::Uuid;

use sqlx::PgPool;

use super::error::{AnalyticsError, Result};
use super::{
    Filter, RawFilter,
    privacy::Disclosure,
    table::{FILTERED, RowFilter},
};
use crate::{
    areas::{AreaCache, AreaIndex},
    auth::AreaAccess,
};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    day: String,
    time: String,
    category: String,
    status: String,
    zone: Option<String>,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f32>,
    description: Option<String>,
    received: String,
    resolved: Option<String>,
    occurred_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    answers: sqlx::types::Json<Answers>,
    confirmations: i64,
    street: Option<String>,
    asset_id: Option<Uuid>,
    asset_kind: Option<String>,
    asset_external_id: Option<String>,
}

const CSV_HEADER: &str = "id;datum;tijd;categorie;thema;dimensie;status;zone;breedtegraad;lengtegraad;\
                          nauwkeurigheid_m;omschrijving;ontvangen;opgelost;antwoorden;bevestigingen;straat;object\r\n";

/// The chunks of an export as they are made; an error ends it early.
pub type Chunks = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Starts an export; its chunks stream as rows arrive. Returns them and a file name.
pub async fn export(
    pool: &PgPool,
    areas: &AreaCache,
    access: &AreaAccess,
    raw: &RawFilter,
    rows: &RowFilter,
    format: Format,
) -> Result<(Chunks, String)> {
    if !Disclosure::of(access.role).individual_incidents() {
        return Err(AnalyticsError::ExportIncidents);
    }
    let area = areas.get(pool, access.area_id).await?;
    let filter = Filter::resolve(raw, &area, crate::nl_time::today())?;
    let name = format!(
        "kvo-meldingen-{}-{}-tm-{}.{}",
        &access.area_id.simple().to_string()[..8],
        filter.from,
        filter.until.pred_opt().unwrap_or(filter.until),
        if format == Format::Csv { "csv" } else { "geojson" }
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = pool.clone();
    let area_id = access.area_id;
    let rows = rows.clone();
    tokio::spawn(async move {
        if let Err(e) = stream_rows(&pool, area_id, &area, &filter, &rows, format, &tx).await {
            tracing::warn!(error = ?e, "export stopped");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok((Box::pin(stream), name))
}

async fn stream_rows(
    pool: &sqlx::PgPool,
    area_id: Uuid,
    area: &AreaIndex,
    filter: &Filter,
    row_filter: &RowFilter,
    format: Format,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> anyhow::Result<()> {
    let mut buf = String::with_capacity(80 * 1024);
    match format {
        Format::Csv => {
            buf.push('\u{feff}');
            buf.push_str(CSV_HEADER);
        }
        Format::GeoJson => buf.push_str(r#"{"type":"FeatureCollection","features":["#),
    }
    let sql = format!(
        "SELECT i.id,
                to_char(i.occurred_at AT TIME ZONE 'Europe/Amsterdam', 'DD-MM-YYYY') AS day,
                to_char(i.occurred_at AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI') AS time,
                i.category, i.status, z.name AS zone, ST_Y(i.geom) AS lat, ST_X(i.geom) AS lon, i.accuracy_m,
                i.description,
                to_char(i.received_at AT TIME ZONE 'Europe/Amsterdam', 'DD-MM-YYYY HH24:MI') AS received,
                to_char(i.resolved_at AT TIME ZONE 'Europe/Amsterdam', 'DD-MM-YYYY HH24:MI') AS resolved,
                i.occurred_at, i.resolved_at, i.answers, kvo_confirmations(i.area_id, i.id) AS confirmations,
                kvo_street_name(i.area_id, i.geom) AS street, i.asset_id, a.kind AS asset_kind,
                a.external_id AS asset_external_id
           FROM incidents i LEFT JOIN zones z ON z.area_id = i.area_id AND z.id = i.zone_id
                LEFT JOIN assets a ON a.area_id = i.area_id AND a.id = i.asset_id
          WHERE {FILTERED}
          ORDER BY i.occurred_at, i.id"
    );
    let q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    let mut rows = crate::bind_rows!(q, area_id, filter, row_filter).fetch(pool);
    let mut first = true;
    while let Some(row) = rows.next().await {
        let r = row?;
        match format {
            Format::Csv => csv_row(&mut buf, &r, area),
            Format::GeoJson => {
                if !first {
                    buf.push(',');
                }
                geojson_feature(&mut buf, &r, area);
            }
        }
        first = false;
        if buf.len() >= 64 * 1024 {
            let chunk = Bytes::from(std::mem::replace(&mut buf, String::with_capacity(80 * 1024)));
            if tx.send(Ok(chunk)).await.is_err() {
                return Ok(()); // The client went away.
            }
        }
    }
    if format == Format::GeoJson {
        buf.push_str("]}");
    }
    let _ = tx.send(Ok(Bytes::from(buf))).await;
    Ok(())
}

fn csv_row(out: &mut String, r: &Row, area: &AreaIndex) {
    let cat = area.category(&r.category);
    let status =
        IncidentStatus::from_code(&r.status).map_or_else(|| r.status.clone(), |s| s.label_nl().to_string());
    let fields: [String; 18] = [
        r.id.to_string(),
        r.day.clone(),
        r.time.clone(),
        cat.map_or(r.category.clone(), |c| c.label_nl.clone()),
        cat.and_then(|c| c.theme).map_or(String::new(), |t| t.code().to_string()),
        cat.and_then(|c| c.dimension).map_or(String::new(), |d| d.code().to_string()),
        status,
        r.zone.clone().unwrap_or_default(),
        decimal_comma(r.lat, 6),
        decimal_comma(r.lon, 6),
        r.accuracy_m.map_or(String::new(), |a| decimal_comma(f64::from(a), 0)),
        r.description.clone().unwrap_or_default(),
        r.received.clone(),
        r.resolved.clone().unwrap_or_default(),
        answers_text_nl(cat.map(|c| c.questions.as_slice()).unwrap_or_default(), &r.answers),
        r.confirmations.to_string(),
        r.street.clone().unwrap_or_default(),
        match (&r.asset_kind, &r.asset_external_id) {
            (Some(kind), Some(id)) => format!("{kind} {id}"),
            _ => String::new(),
        },
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// One CSV field: quoted when it holds a separator, quote or line break, and
/// prefixed with `'` when it starts like a formula (CSV injection).
pub fn csv_field(out: &mut String, f: &str) {
    let number = f.replacen(',', ".", 1).parse::<f64>().is_ok();
    let formula = f.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number;
    let quote = formula || f.contains([';', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in f.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// A number as Dutch Excel reads it: a decimal comma, no thousands separator.
pub fn decimal_comma(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}").replace('.', ",")
}

fn geojson_feature(out: &mut String, r: &Row, area: &AreaIndex) {
    let cat = area.category(&r.category);
    let f = json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round7(r.lon), round7(r.lat)]},
        "properties": {
            "id": r.id,
            "category": r.category,
            "category_label": cat.map(|c| c.label_nl.as_str()),
            "theme": cat.and_then(|c| c.theme),
            "dimension": cat.and_then(|c| c.dimension),
            "status": r.status,
            "occurred_at": r.occurred_at,
            "resolved_at": r.resolved_at,
            "zone": r.zone,
            "accuracy_m": r.accuracy_m,
            "description": r.description,
            "answers": &r.answers.0,
            "confirmations": r.confirmations,
            "street": r.street,
            "asset": r.asset_id.map(|id| json!({
                "id": id, "kind": r.asset_kind, "external_id": r.asset_external_id,
            })),
        }
    });
    let _ = write!(out, "{f}");
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let f = |s: &str| {
            let mut o = String::new();
            csv_field(&mut o, s);
            o
        };
        assert_eq!(f("gewoon"), "gewoon");
        assert_eq!(f("a;b"), "\"a;b\"");
        assert_eq!(f("zei \"hallo\""), "\"zei \"\"hallo\"\"\"");
        assert_eq!(f("regel\nregel"), "\"regel\nregel\"");
        assert_eq!(f("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(f("-12,5"), "-12,5", "a negative number stays a number");
        assert_eq!(f("-rm -rf"), "\"'-rm -rf\"");
        assert_eq!(decimal_comma(52.250_123_4, 6), "52,250123");
    }
}
