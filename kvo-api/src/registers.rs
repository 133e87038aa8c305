//! The gemeente's registers: assets (lamp posts, waste bins, cameras,
//! benches) that a report can be about, and street centrelines that name
//! places. Which kinds of asset a category can be about, the one reader of
//! an uploaded register (GeoJSON or CSV, WGS 84 or RD) and of a street file,
//! and what the server answers about assets.
//!
//! Pure, like the rest of this crate: the server stores what is read here,
//! the fuzzer feeds it arbitrary bytes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A kind of asset in a gemeente's register.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// Lichtmast (lamp post).
    Lichtmast,
    /// Afvalbak or container (waste bin).
    Afvalbak,
    /// Camera (public CCTV).
    Camera,
    /// Bank (bench).
    Bank,
}

crate::coded!(AssetKind);

impl AssetKind {
    /// Dutch and English name, as in "lichtmast 0412".
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            AssetKind::Lichtmast => ("lichtmast", "lamp post"),
            AssetKind::Afvalbak => ("afvalbak", "waste bin"),
            AssetKind::Camera => ("camera", "camera"),
            AssetKind::Bank => ("bank", "bench"),
        }
    }
}

/// The kinds of asset a report of `category` can be about, most likely
/// first: a lighting report is about a lamp post, litter about a waste bin,
/// damage and graffiti about anything in the street. Empty for categories
/// that are not about the gemeente's objects (theft, aggression, …).
pub fn kinds_for(category: &str) -> &'static [AssetKind] {
    use AssetKind::*;
    match category {
        "kapotte_verlichting" => &[Lichtmast],
        "zwerfvuil" | "illegale_dump" => &[Afvalbak],
        "vandalisme" | "graffiti" | "verloedering" => &[Lichtmast, Afvalbak, Camera, Bank],
        _ => &[],
    }
}

/// How far from the reporter an asset is still offered (m).
pub const NEAREST_RADIUS_M: f64 = 50.0;
/// How many assets are offered at most.
pub const NEAREST_MAX: usize = 3;
/// The most assets one register file may hold, and the most streets.
pub const MAX_ASSETS: usize = 200_000;
pub const MAX_STREETS: usize = 100_000;
/// The largest register or street file (bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// The coordinate system a file was written in: longitude/latitude (WGS 84,
/// EPSG:4326) or Rijksdriehoeksmeting (RD New, EPSG:28992), which the
/// gemeente's systems usually export. Told from the numbers: RD's x and y
/// are metres in the hundreds of thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Crs {
    Wgs84,
    Rd,
}

impl Crs {
    /// The EPSG code, for PostGIS.
    pub fn srid(self) -> i32 {
        match self {
            Crs::Wgs84 => 4326,
            Crs::Rd => 28992,
        }
    }
}

/// One asset as read from a file (coordinates in the file's [`Crs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AssetIn {
    pub external_id: String,
    pub name: Option<String>,
    pub x: f64,
    pub y: f64,
}

/// One street as read from a file: its name and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetIn {
    pub name: String,
    pub lines: Vec<Vec<(f64, f64)>>,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub items: Vec<T>,
    pub crs: Crs,
    /// Features without a name (streets only; a road register has many).
    pub unnamed: usize,
}

/// Why a register or street file was refused. `row` is the CSV line, or the
/// GeoJSON feature's number (from 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportProblem {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("not GeoJSON: {0}")]
    NotGeoJson(String),
    #[error("the CSV header has no column `{0}`")]
    MissingColumn(&'static str),
    #[error("more than {0} rows")]
    TooMany(usize),
    #[error("row {row}: {problem}")]
    Row { row: usize, problem: RowProblem },
    #[error("`{id}` appears twice, in rows {first} and {second}")]
    Duplicate { id: String, first: usize, second: usize },
    #[error("the file mixes WGS 84 and RD coordinates (row {row})")]
    MixedCrs { row: usize },
    #[error("nothing in the file lies in the area")]
    NothingInArea,
}

/// What is wrong with one row or feature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    #[error("has {found} fields where the header has {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("has no id")]
    NoId,
    #[error("the id is longer than 64 characters")]
    IdTooLong,
    #[error("the name is longer than 200 characters")]
    NameTooLong,
    #[error("`{0}` is not a number")]
    NotNumber(String),
    #[error("expected a {expected}, found {found}")]
    Geometry { expected: &'static str, found: String },
    #[error("position ({0}, {1}) is neither longitude/latitude nor RD")]
    Position(f64, f64),
}

impl ImportProblem {
    /// Dutch and English, for the problem document and the `kvo` tool.
    pub fn texts(&self) -> (String, String) {
        use ImportProblem::*;
        match self {
            Empty => ("het bestand is leeg".into(), "the file is empty".into()),
            TooLarge => (
                format!("het bestand is groter dan {} MB", MAX_FILE_BYTES / 1024 / 1024),
                format!("the file is larger than {} MB", MAX_FILE_BYTES / 1024 / 1024),
            ),
            NotText => (
                "het bestand is geen tekst in UTF-8 (sla het op als CSV UTF-8 of als GeoJSON)".into(),
                "the file is not UTF-8 text (save it as CSV UTF-8 or GeoJSON)".into(),
            ),
            NotGeoJson(e) => {
                (format!("dit is geen geldige GeoJSON: {e}"), format!("this is not valid GeoJSON: {e}"))
            }
            MissingColumn(c) => (
                format!("de kopregel mist de kolom ‘{c}’ (verwacht: id, en lat en lon of x en y; naam mag)"),
                format!(
                    "the header lacks the column `{c}` (expected: id, and lat and lon or x and y; name optional)"
                ),
            ),
            TooMany(max) => (
                format!("het bestand heeft meer dan {max} regels; splits het op"),
                format!("the file has more than {max} rows; split it"),
            ),
            Row { row, problem } => {
                let (nl, en) = problem.texts();
                (format!("regel {row}: {nl}"), format!("row {row}: {en}"))
            }
            Duplicate { id, first, second } => (
                format!("‘{id}’ staat twee keer in het bestand, op regel {first} en {second}"),
                format!("`{id}` appears twice in the file, in rows {first} and {second}"),
            ),
            MixedCrs { row } => (
                format!(
                    "regel {row} heeft RD-coördinaten waar eerdere regels lengte/breedte hebben, of omgekeerd"
                ),
                format!(
                    "row {row} has RD coordinates where earlier rows have longitude/latitude, or the reverse"
                ),
            ),
            NothingInArea => (
                "geen enkel punt of lijn ligt in het gebied; staan breedte en lengte omgewisseld?".into(),
                "nothing in the file lies in the area; are latitude and longitude swapped?".into(),
            ),
        }
    }
}

impl RowProblem {
    fn texts(&self) -> (String, String) {
        use RowProblem::*;
        match self {
            FieldCount { expected, found } => (
                format!("heeft {found} velden, de kopregel {expected}"),
                format!("has {found} fields where the header has {expected}"),
            ),
            NoId => ("heeft geen id".into(), "has no id".into()),
            IdTooLong => {
                ("het id is langer dan 64 tekens".into(), "the id is longer than 64 characters".into())
            }
            NameTooLong => {
                ("de naam is langer dan 200 tekens".into(), "the name is longer than 200 characters".into())
            }
            NotNumber(v) => {
                let v = crate::validate::shown(v);
                (format!("‘{v}’ is geen getal"), format!("`{v}` is not a number"))
            }
            Geometry { expected, found } => (
                format!("verwacht een {expected}, gevonden: {found}"),
                format!("expected a {expected}, found {found}"),
            ),
            Position(a, b) => (
                format!("positie ({a}, {b}) is geen lengte/breedte (WGS 84) en geen RD"),
                format!("position ({a}, {b}) is neither longitude/latitude (WGS 84) nor RD"),
            ),
        }
    }
}

/// Which coordinate system a position is in, if any: RD New covers the
/// Netherlands with x 0–300 km and y 300–625 km; anything else must be a
/// longitude and latitude.
pub fn crs_of(x: f64, y: f64) -> Option<Crs> {
    if !(x.is_finite() && y.is_finite()) {
        None
    } else if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) {
        Some(Crs::Wgs84)
    } else if (0.0..=300_000.0).contains(&x) && (300_000.0..=625_000.0).contains(&y) {
        Some(Crs::Rd)
    } else {
        None
    }
}

/// Keeps every position of a file in one coordinate system.
#[derive(Default)]
struct CrsOf(Option<Crs>);

impl CrsOf {
    fn check(&mut self, row: usize, x: f64, y: f64) -> Result<(), ImportProblem> {
        let crs = crs_of(x, y).ok_or(ImportProblem::Row { row, problem: RowProblem::Position(x, y) })?;
        match self.0 {
            Some(seen) if seen != crs => Err(ImportProblem::MixedCrs { row }),
            _ => {
                self.0 = Some(crs);
                Ok(())
            }
        }
    }
}

fn text_of(bytes: &[u8]) -> Result<&str, ImportProblem> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportProblem::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ImportProblem::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportProblem::Empty);
    }
    Ok(text)
}

/// An id and an optional name, trimmed and checked.
fn id_and_name(
    row: usize,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<(String, Option<String>), ImportProblem> {
    let bad = |problem| ImportProblem::Row { row, problem };
    let id = id.map(str::trim).filter(|s| !s.is_empty()).ok_or(bad(RowProblem::NoId))?;
    if id.chars().count() > 64 || id.contains('\0') {
        return Err(bad(RowProblem::IdTooLong));
    }
    let name = name.map(str::trim).filter(|s| !s.is_empty() && !s.contains('\0'));
    if name.is_some_and(|n| n.chars().count() > 200) {
        return Err(bad(RowProblem::NameTooLong));
    }
    Ok((id.to_string(), name.map(str::to_string)))
}

/// Refuses the second row with an id seen before.
fn no_duplicates(ids: impl Iterator<Item = (usize, String)>) -> Result<(), ImportProblem> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, id) in ids {
        if let Some(first) = seen.insert(id.clone(), row) {
            return Err(ImportProblem::Duplicate { id, first, second: row });
        }
    }
    Ok(())
}

/// The column names read as an asset's id, name and position (lower case).
const ID: &[&str] = &["id", "external_id", "nummer", "objectnummer", "objectid", "mastnummer", "code"];
const NAME: &[&str] = &["naam", "name", "omschrijving", "locatie"];
const LAT: &[&str] = &["lat", "latitude", "breedtegraad"];
const LON: &[&str] = &["lon", "lng", "long", "longitude", "lengtegraad"];
const STREET_NAME: &[&str] = &["straatnaam", "openbareruimtenaam", "stt_naam", "naam", "name"];

/// Reads an asset register: a GeoJSON FeatureCollection of Points (the id
/// from the feature's `id` or a property `id`, `nummer`, `objectnummer`, …)
/// or a CSV with a header (`id`, optional `naam`, and `lat`/`lon` or RD
/// `x`/`y`; comma, semicolon or tab separated, decimal commas where the
/// separator is not a comma, as Dutch Excel writes). Ids are unique per file.
pub fn read_register(bytes: &[u8]) -> Result<Parsed<AssetIn>, ImportProblem> {
    let text = text_of(bytes)?;
    let parsed =
        if text.trim_start().starts_with('{') { register_geojson(text)? } else { register_csv(text)? };
    Ok(parsed)
}

fn features(text: &str) -> Result<Vec<Value>, ImportProblem> {
    let v: Value = serde_json::from_str(text).map_err(|e| ImportProblem::NotGeoJson(e.to_string()))?;
    match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match v.get("features") {
            Some(Value::Array(f)) => Ok(f.clone()),
            _ => Err(ImportProblem::NotGeoJson("a FeatureCollection needs a `features` array".into())),
        },
        Some("Feature") => Ok(vec![v]),
        Some(t) => {
            Err(ImportProblem::NotGeoJson(format!("expected a FeatureCollection, found {}", shown_type(t))))
        }
        None => Err(ImportProblem::NotGeoJson("no `type`".into())),
    }
}

fn shown_type(t: &str) -> String {
    crate::validate::shown(t).to_string()
}

/// A property by any of `names`, case-insensitively, as text.
fn property(feature: &Value, names: &[&str]) -> Option<String> {
    let props = feature.get("properties")?.as_object()?;
    names.iter().find_map(|n| {
        props.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).and_then(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    })
}

fn position(row: usize, v: &Value) -> Result<(f64, f64), ImportProblem> {
    let bad = || ImportProblem::Row {
        row,
        problem: RowProblem::Geometry { expected: "position", found: kind_of(v) },
    };
    match v.as_array().map(Vec::as_slice) {
        Some([x, y, ..]) => Ok((x.as_f64().ok_or_else(bad)?, y.as_f64().ok_or_else(bad)?)),
        _ => Err(bad()),
    }
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            o.get("type").and_then(Value::as_str).map(shown_type).unwrap_or_else(|| "object".into())
        }
        Value::Null => "null".into(),
        Value::Array(_) => "array".into(),
        _ => "value".into(),
    }
}

fn register_geojson(text: &str) -> Result<Parsed<AssetIn>, ImportProblem> {
    let features = features(text)?;
    if features.len() > MAX_ASSETS {
        return Err(ImportProblem::TooMany(MAX_ASSETS));
    }
    let mut crs = CrsOf::default();
    let mut items = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let row = i + 1;
        let geometry = f.get("geometry").unwrap_or(&Value::Null);
        if geometry.get("type").and_then(Value::as_str) != Some("Point") {
            let found = kind_of(geometry);
            return Err(ImportProblem::Row {
                row,
                problem: RowProblem::Geometry { expected: "Point", found },
            });
        }
        let (x, y) = position(row, geometry.get("coordinates").unwrap_or(&Value::Null))?;
        crs.check(row, x, y)?;
        let id = match f.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => property(f, ID),
        };
        let (external_id, name) = id_and_name(row, id.as_deref(), property(f, NAME).as_deref())?;
        items.push(AssetIn { external_id, name, x, y });
    }
    no_duplicates(items.iter().enumerate().map(|(i, a)| (i + 1, a.external_id.clone())))?;
    Ok(Parsed { items, crs: crs.0.unwrap_or(Crs::Wgs84), unnamed: 0 })
}

fn register_csv(text: &str) -> Result<Parsed<AssetIn>, ImportProblem> {
    let mut records = csv_records(text);
    let (_, header) = records.next().ok_or(ImportProblem::Empty)?;
    let sep = separator(text);
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let id = column(ID).ok_or(ImportProblem::MissingColumn("id"))?;
    let name = column(NAME);
    let (xc, yc) = match (column(LON), column(LAT), column(&["x"]), column(&["y"])) {
        (Some(lon), Some(lat), ..) => (lon, lat),
        (_, _, Some(x), Some(y)) => (x, y),
        (None, _, None, _) | (None, _, _, None) => return Err(ImportProblem::MissingColumn("lon")),
        _ => return Err(ImportProblem::MissingColumn("lat")),
    };
    let number = |row: usize, raw: &str| -> Result<f64, ImportProblem> {
        let t = raw.trim();
        let t = if sep != ',' { t.replace(',', ".") } else { t.to_string() };
        t.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or(ImportProblem::Row { row, problem: RowProblem::NotNumber(raw.trim().to_string()) })
    };
    let mut crs = CrsOf::default();
    let mut items = Vec::new();
    let mut rows = Vec::new();
    for (row, fields) in records {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if items.len() == MAX_ASSETS {
            return Err(ImportProblem::TooMany(MAX_ASSETS));
        }
        if fields.len() != header.len() {
            let problem = RowProblem::FieldCount { expected: header.len(), found: fields.len() };
            return Err(ImportProblem::Row { row, problem });
        }
        let (x, y) = (number(row, &fields[xc])?, number(row, &fields[yc])?);
        crs.check(row, x, y)?;
        let (external_id, name) = id_and_name(row, Some(&fields[id]), name.map(|n| fields[n].as_str()))?;
        rows.push(row);
        items.push(AssetIn { external_id, name, x, y });
    }
    no_duplicates(rows.into_iter().zip(items.iter().map(|a| a.external_id.clone())))?;
    Ok(Parsed { items, crs: crs.0.unwrap_or(Crs::Wgs84), unnamed: 0 })
}

/// The separator of a CSV file, from its header line: a semicolon or a tab
/// where the header has one (Dutch Excel writes semicolons), else a comma.
fn separator(text: &str) -> char {
    let header = text.lines().next().unwrap_or("");
    if header.contains(';') {
        ';'
    } else if header.contains('\t') {
        '\t'
    } else {
        ','
    }
}

/// The records of a CSV text (RFC 4180: quoted fields may hold separators,
/// line breaks and doubled quotes), each with the line it starts on.
fn csv_records(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    let sep = separator(text);
    let mut chars = text.chars().peekable();
    let mut line = 1;
    std::iter::from_fn(move || {
        chars.peek()?;
        let start = line;
        let mut fields = vec![String::new()];
        let mut quoted = false;
        while let Some(c) = chars.next() {
            let field = fields.last_mut().expect("never empty");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' if quoted => quoted = false,
                '"' if field.is_empty() => quoted = true,
                '\n' if !quoted => {
                    line += 1;
                    break;
                }
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                c if c == sep && !quoted => fields.push(String::new()),
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        Some((start, fields))
    })
}

/// Reads street centrelines: a GeoJSON FeatureCollection of LineStrings and
/// MultiLineStrings, named by a property `straatnaam`, `openbareruimtenaam`,
/// `stt_naam` (NWB), `naam` or `name`. Features without a name are counted,
/// not refused (a road register has many); other geometries are refused.
pub fn read_streets(bytes: &[u8]) -> Result<Parsed<StreetIn>, ImportProblem> {
    let text = text_of(bytes)?;
    let features = features(text)?;
    if features.len() > MAX_STREETS {
        return Err(ImportProblem::TooMany(MAX_STREETS));
    }
    let mut crs = CrsOf::default();
    let mut items = Vec::new();
    let mut unnamed = 0;
    for (i, f) in features.iter().enumerate() {
        let row = i + 1;
        let geometry = f.get("geometry").unwrap_or(&Value::Null);
        let coords = geometry.get("coordinates").unwrap_or(&Value::Null);
        let bad = || ImportProblem::Row {
            row,
            problem: RowProblem::Geometry {
                expected: "LineString of MultiLineString",
                found: kind_of(geometry),
            },
        };
        let line = |v: &Value| -> Result<Vec<(f64, f64)>, ImportProblem> {
            let points = v.as_array().ok_or_else(bad)?;
            if points.len() < 2 {
                return Err(bad());
            }
            points.iter().map(|p| position(row, p)).collect()
        };
        let lines = match geometry.get("type").and_then(Value::as_str) {
            Some("LineString") => vec![line(coords)?],
            Some("MultiLineString") => {
                coords.as_array().ok_or_else(bad)?.iter().map(line).collect::<Result<Vec<_>, _>>()?
            }
            _ => return Err(bad()),
        };
        if lines.is_empty() {
            return Err(bad());
        }
        for (x, y) in lines.iter().flatten() {
            crs.check(row, *x, *y)?;
        }
        match property(f, STREET_NAME)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty() && !n.contains('\0'))
        {
            Some(name) if name.chars().count() > 200 => {
                return Err(ImportProblem::Row { row, problem: RowProblem::NameTooLong });
            }
            Some(name) => items.push(StreetIn { name, lines }),
            None => unnamed += 1,
        }
    }
    Ok(Parsed { items, crs: crs.0.unwrap_or(Crs::Wgs84), unnamed })
}

/// `PUT /areas/{id}/registers/{kind}`: what an import changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterImport {
    pub kind: AssetKind,
    /// The file's coordinate system, as recognised.
    pub crs: Crs,
    /// New in the register.
    pub added: u32,
    /// Moved or renamed (their links stay).
    pub updated: u32,
    pub unchanged: u32,
    /// No longer in the register: marked removed, their reports keep the link.
    pub removed: u32,
    /// Rows outside the area (a gemeente's register covers the whole town).
    pub outside_area: u32,
}

/// `PUT /areas/{id}/streets`: what a street import stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreetImport {
    pub crs: Crs,
    /// Street lines stored (clipped to the area).
    pub streets: u32,
    /// Lines without a name, left out.
    pub unnamed: u32,
    /// Lines that do not reach the area.
    pub outside_area: u32,
}

/// An asset, as the map, the phone and the lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Asset {
    pub id: Uuid,
    pub kind: AssetKind,
    /// The gemeente's number ("0412").
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub lat: f64,
    pub lon: f64,
    /// The street it stands on, if streets are imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// No longer in the register (reports made before keep their link).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// `GET /areas/{id}/assets/nearest`: an asset near the reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NearestAsset {
    #[serde(flatten)]
    pub asset: Asset,
    pub distance_m: f64,
}

/// `GET /areas/{id}/assets/repeated`: an asset with more than one report in
/// the period ("lichtmast 0412: 4 meldingen in 6 maanden").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RepeatedAsset {
    #[serde(flatten)]
    pub asset: Asset,
    pub reports: u32,
    /// Of which still open.
    pub open: u32,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// The asset a report is about, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AssetLink {
    pub id: Uuid,
    pub kind: AssetKind,
    pub external_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of(r: Result<Parsed<AssetIn>, ImportProblem>) -> usize {
        match r {
            Err(ImportProblem::Row { row, .. }) => row,
            other => panic!("expected a row problem, got {other:?}"),
        }
    }

    #[test]
    fn csv_with_semicolons_decimal_commas_quotes_and_a_bom() {
        let text = "\u{feff}Nummer;Naam;Lat;Lon\r\n0412;\"Markt; hoek \"\"Kerkstraat\"\"\";52,2551;6,1602\r\n\r\n0413;;52.256;6.161\r\n";
        let p = read_register(text.as_bytes()).unwrap();
        assert_eq!(p.crs, Crs::Wgs84);
        assert_eq!(
            p.items,
            vec![
                AssetIn {
                    external_id: "0412".into(),
                    name: Some("Markt; hoek \"Kerkstraat\"".into()),
                    x: 6.1602,
                    y: 52.2551
                },
                AssetIn { external_id: "0413".into(), name: None, x: 6.161, y: 52.256 },
            ]
        );
    }

    #[test]
    fn csv_in_rd_with_a_line_break_inside_a_quoted_name() {
        let text = "id,x,y,omschrijving\nA1,194520.5,470301.2,\"twee\nregels\"\nA2,194600,470400,\n";
        let p = read_register(text.as_bytes()).unwrap();
        assert_eq!(p.crs, Crs::Rd);
        assert_eq!(p.items[0].name.as_deref(), Some("twee\nregels"));
        assert_eq!((p.items[1].x, p.items[1].y), (194600.0, 470400.0));
        // The row after a quoted line break is counted on its real line.
        let bad = "id,x,y,omschrijving\nA1,194520.5,470301.2,\"twee\nregels\"\nA2,zes,470400,\n";
        assert_eq!(row_of(read_register(bad.as_bytes())), 4);
    }

    #[test]
    fn csv_refusals_name_the_row() {
        let r = |t: &str| read_register(t.as_bytes());
        assert_eq!(r("naam,lat,lon\nx,52,6\n"), Err(ImportProblem::MissingColumn("id")));
        assert_eq!(r("id,lat\n1,52\n"), Err(ImportProblem::MissingColumn("lon")));
        assert_eq!(
            r("id,lat,lon\n1,52.2,6.1\n2,52.2\n"),
            Err(ImportProblem::Row { row: 3, problem: RowProblem::FieldCount { expected: 3, found: 2 } })
        );
        assert_eq!(
            r("id,lat,lon\n1,52.2,6.1\n1,52.3,6.1\n"),
            Err(ImportProblem::Duplicate { id: "1".into(), first: 2, second: 3 })
        );
        assert_eq!(
            r("id,lat,lon\n1,52.2,6.1\n2,470000,700000\n"),
            Err(ImportProblem::Row { row: 3, problem: RowProblem::Position(700000.0, 470000.0) })
        );
        assert_eq!(r("id,x,y\n1,6.1,52.2\n2,194000,470000\n"), Err(ImportProblem::MixedCrs { row: 3 }));
        assert_eq!(
            r("id,lat,lon\n ,52.2,6.1\n"),
            Err(ImportProblem::Row { row: 2, problem: RowProblem::NoId })
        );
        // A comma-separated file has no decimal commas.
        assert_eq!(row_of(r("id,lat,lon\n1,\"52,2\",6.1\n")), 2);
        assert_eq!(r("  \n"), Err(ImportProblem::Empty));
        assert_eq!(read_register(&[0xff, 0xfe, 0x41]), Err(ImportProblem::NotText));
    }

    #[test]
    fn geojson_registers_take_the_id_from_the_feature_or_its_properties() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":412,"geometry":{"type":"Point","coordinates":[6.16,52.25]},"properties":{"NAAM":"Markt"}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[6.17,52.26,3.0]},"properties":{"objectnummer":"L-2"}}]}"#;
        let p = read_register(text.as_bytes()).unwrap();
        assert_eq!(
            p.items[0],
            AssetIn { external_id: "412".into(), name: Some("Markt".into()), x: 6.16, y: 52.25 }
        );
        assert_eq!(p.items[1].external_id, "L-2");
        let line = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[6,52],[6.1,52]]},"properties":{"id":"1"}}]}"#;
        assert_eq!(
            read_register(line.as_bytes()),
            Err(ImportProblem::Row {
                row: 1,
                problem: RowProblem::Geometry { expected: "Point", found: "LineString".into() }
            })
        );
        assert!(matches!(read_register(b"{\"type\":\"Polygon\"}"), Err(ImportProblem::NotGeoJson(_))));
        assert!(matches!(read_register(b"{nope"), Err(ImportProblem::NotGeoJson(_))));
    }

    #[test]
    fn streets_are_named_lines_and_unnamed_ones_are_counted() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[6.16,52.25],[6.17,52.25]]},"properties":{"straatnaam":"Markt"}},
            {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[6.16,52.25],[6.16,52.26]],[[6.18,52.25],[6.18,52.26]]]},"properties":{"STT_NAAM":"Kerkstraat"}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[6.16,52.25],[6.17,52.26]]},"properties":{}}]}"#;
        let p = read_streets(text.as_bytes()).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.items[1].name, "Kerkstraat");
        assert_eq!(p.items[1].lines.len(), 2);
        assert_eq!(p.unnamed, 1);
        let point = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[6,52]},"properties":{"naam":"x"}}]}"#;
        assert!(matches!(read_streets(point.as_bytes()), Err(ImportProblem::Row { row: 1, .. })));
        let one = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[6,52]]},"properties":{"naam":"x"}}]}"#;
        assert!(matches!(read_streets(one.as_bytes()), Err(ImportProblem::Row { row: 1, .. })));
    }

    #[test]
    fn lighting_is_about_lamp_posts_and_theft_about_nothing() {
        assert_eq!(kinds_for("kapotte_verlichting"), &[AssetKind::Lichtmast]);
        assert!(kinds_for("diefstal").is_empty());
        for c in crate::DEFAULT_CATEGORIES {
            assert!(kinds_for(c.code).len() <= AssetKind::ALL.len());
        }
    }
}
