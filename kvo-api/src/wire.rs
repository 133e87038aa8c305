//! The JSON bodies of API v1. The server and mobile-core both use these, so
//! the two cannot drift apart. Request types reject unknown fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::status::IncidentStatus;
use std::collections::BTreeMap;

use crate::{
    Dimension, Role, Theme,
    questions::{Answers, Question},
};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A WGS 84 position as the phone measured it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WireLocation {
    /// Latitude in degrees, -90..90.
    pub lat: f64,
    /// Longitude in degrees, -180..180.
    pub lon: f64,
    /// GPS accuracy (68 % radius) in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// `POST /api/v1/incidents`: a new report. `id` is generated on the phone and
/// makes the request idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// Client-generated UUID; a retry with the same id and body returns the stored incident.
    pub id: Uuid,
    /// The area the report belongs to.
    pub area_id: Uuid,
    /// A category code enabled in the area.
    pub category: String,
    /// Where it happened.
    pub location: WireLocation,
    /// When it happened (RFC 3339).
    pub occurred_at: DateTime<Utc>,
    /// Free text, at most 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The patrol during which it was found, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patrol_id: Option<Uuid>,
    /// Answers to the category's extra questions, by question code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, crate::questions::Answer>))]
    pub answers: Answers,
    /// Anonymous towards the other members: the werkgroep and partners see
    /// "anoniem" instead of the reporter; the beheerder can still reach them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// The asset of the gemeente's register the report is about (a lamp
    /// post for a lighting report), as `GET /areas/{id}/assets/nearest` offers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<Uuid>,
}

/// A stored photo of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Photo {
    pub id: Uuid,
    /// SHA-256 (hex) of the bytes the client uploaded; what the phone checks.
    pub upload_sha256: String,
    /// SHA-256 (hex) of the stored, re-encoded image (its content address).
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    /// Relative URL of the full image.
    pub url: String,
    /// Relative URL of the 320 px thumbnail.
    pub thumbnail_url: String,
    pub received_at: DateTime<Utc>,
}

/// An incident as the server stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Incident {
    pub id: Uuid,
    pub area_id: Uuid,
    pub category: String,
    pub location: WireLocation,
    pub occurred_at: DateTime<Utc>,
    /// When the server committed it; the server's clock, never the client's.
    pub received_at: DateTime<Utc>,
    pub description: Option<String>,
    pub status: IncidentStatus,
    pub zone_id: Option<Uuid>,
    pub zone_name: Option<String>,
    pub patrol_id: Option<Uuid>,
    /// Whether the phone's fix was worse than 100 m.
    pub poor_accuracy: bool,
    pub photos: Vec<Photo>,
    /// The partner organisation following it up.
    #[serde(default)]
    pub assigned_to: Option<crate::follow_up::Organisation>,
    /// The report this one was merged into as a duplicate; it then no longer counts.
    #[serde(default)]
    pub merged_into: Option<Uuid>,
    /// Only in the answer to creating it: open reports of the same category
    /// nearby ("this was already reported").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<crate::follow_up::PossibleDuplicate>,
    /// Answers to the category's extra questions.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, crate::questions::Answer>))]
    pub answers: Answers,
    /// Reported anonymously towards the other members.
    #[serde(default)]
    pub anonymous: bool,
    /// How many others said "this is the same" instead of reporting it again.
    #[serde(default)]
    pub confirmations: i64,
    /// The asset of the gemeente's register it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<crate::registers::AssetLink>,
    /// The street it happened in, when the area's streets are imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
}

/// `POST /api/v1/incidents/{id}/confirmations`: "this is the same" on an
/// existing report. `id` is generated on the phone; a retry changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConfirmation {
    pub id: Uuid,
}

/// The answer to a confirmation: the report's count of confirmations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Confirmed {
    pub incident_id: Uuid,
    pub confirmations: i64,
}

/// `GET /api/v1/areas/{id}/nearby`: open reports of a category near a point,
/// asked before sending ("al gemeld in de buurt"). Only what a reporter needs
/// to recognise it: category, age, status, distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Nearby {
    pub items: Vec<crate::follow_up::PossibleDuplicate>,
}

/// A page of incidents, newest first, with a cursor for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentPage {
    pub items: Vec<Incident>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/devices/redeem`: exchange an invite code for a device token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemInvite {
    pub code: String,
    /// The name other members see, e.g. "Bakkerij Jansen".
    #[serde(default)]
    pub display_name: Option<String>,
    /// A label for the device, e.g. "Pixel 8".
    #[serde(default)]
    pub device_name: Option<String>,
}

/// The answer to a redeemed invite. The token is shown once; store it safely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeviceSession {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub person_id: Uuid,
    pub area_id: Uuid,
    pub area_name: String,
    pub role: Role,
}

/// One way a person is signed in: a phone (device token) or a web session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignedIn {
    /// `phone` or `web`.
    pub kind: String,
    pub id: Uuid,
    /// The phone's name, as given when it joined.
    pub name: Option<String>,
    /// The area a phone belongs to.
    pub area_id: Option<Uuid>,
    pub since: DateTime<Utc>,
    /// When a web session ends by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// The credential of this request.
    pub current: bool,
}

/// `POST /api/v1/session`: web sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// KVO-W (winkelgebied), KVO-B (bedrijventerrein) or buitengebied.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AreaKind {
    KvoW,
    KvoB,
    Buitengebied,
}

crate::coded!(AreaKind);

/// One of a person's memberships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Membership {
    pub area_id: Uuid,
    pub area_name: String,
    pub area_kind: AreaKind,
    pub role: Role,
}

/// `GET /api/v1/me`: who is signed in, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    pub person_id: Uuid,
    pub display_name: String,
    pub memberships: Vec<Membership>,
}

/// A category as an area offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CategoryInfo {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    /// Urgent (overval, agressie): the app offers it under "Spoed" and says to call 112.
    #[serde(default)]
    pub urgent: bool,
    /// The extra questions asked with every report of this category.
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// `GET /api/v1/areas/{id}/categories`: the enabled categories, cacheable with its ETag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CategoryList {
    pub area_id: Uuid,
    pub categories: Vec<CategoryInfo>,
}

/// A zone of an area, with its GeoJSON geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Zone {
    pub id: Uuid,
    pub name: String,
    /// A GeoJSON Polygon or MultiPolygon (RFC 7946).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub geometry: serde_json::Value,
}

/// `GET /api/v1/areas/{id}`: an area with its boundary and zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Area {
    pub id: Uuid,
    pub name: String,
    pub kind: AreaKind,
    pub municipality: Option<String>,
    /// A GeoJSON Polygon or MultiPolygon (RFC 7946).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub boundary: serde_json::Value,
    pub zones: Vec<Zone>,
    /// First day of the nul-meting (baseline) period, when the werkgroep set one.
    #[serde(default)]
    pub baseline_from: Option<chrono::NaiveDate>,
    /// Last day (inclusive) of the nul-meting period.
    #[serde(default)]
    pub baseline_to: Option<chrono::NaiveDate>,
    /// When the area was archived (it keeps its data and accepts nothing new).
    #[serde(default)]
    pub archived_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /api/v1/patrols`: a beveiliger starts a surveillance round. `id` is
/// generated on the phone and makes the request idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPatrol {
    pub id: Uuid,
    pub area_id: Uuid,
    pub started_at: DateTime<Utc>,
}

/// One point of a patrol's route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutePoint {
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
}

/// `POST /api/v1/patrols/{id}/points`: route points, appended idempotently
/// (a point is identified by its time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutePoints {
    pub points: Vec<RoutePoint>,
}

/// `POST /api/v1/patrols/{id}/end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndPatrol {
    pub ended_at: DateTime<Utc>,
}

/// A patrol with its route so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Patrol {
    pub id: Uuid,
    pub area_id: Uuid,
    pub guard_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub point_count: i64,
    /// The route as a GeoJSON LineString, once it has two points.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub route: Option<serde_json::Value>,
}

/// An RFC 9457 problem document, as every error of API v1 is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The spot the problem is about, `[lon, lat]`, where there is one (a
    /// self-intersection of a drawn boundary, a zone's part outside its area).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<[f64; 2]>,
}

/// `GET /api/v1/ui-config`: what the map UI needs before sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UiConfig {
    /// XYZ raster tile URL of the basemap (`{z}/{x}/{y}`), or none.
    pub basemap_url: Option<String>,
    pub basemap_attribution: String,
    /// The map zooms from which the server may choose finer heatmap cells:
    /// send the highest one at or below the map's zoom as `zoom` (or 0).
    pub heat_zoom_breaks: Vec<f64>,
}
