//! The body of `GET /api/v1/areas/{id}/analysis`: the schoon-heel-veilig
//! analysis of one period against a comparison period. Counts that a role
//! may not see (fewer than 3 incidents, for roles below the werkgroep) are
//! `null`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Dimension, Theme, wire::IncidentStatus};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A period of whole Dutch calendar days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What the period is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComparisonKind {
    /// The period of the same length just before.
    Previous,
    /// The nul-meting (baseline) period.
    Baseline,
}

/// A count in the period and in the comparison period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Change {
    pub current: Option<i64>,
    pub comparison: Option<i64>,
    /// current - comparison.
    pub change: Option<i64>,
    /// The change in per cent of the comparison; null when that is 0 or hidden.
    pub change_pct: Option<f64>,
}

/// One row of the theme × schoon/heel/veilig table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ThemeRow {
    /// Null for categories without a theme ("overig").
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    #[serde(flatten)]
    pub counts: Change,
}

/// One row of the theme × schoon/heel/veilig × zone table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ZoneRow {
    /// Null for incidents outside every zone.
    pub zone_id: Option<Uuid>,
    pub zone_name: Option<String>,
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    #[serde(flatten)]
    pub counts: Change,
}

/// Incidents that started in one ISO week (Monday) of the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WeekCount {
    pub week_start: NaiveDate,
    pub count: Option<i64>,
}

/// How many of the period's incidents stand at a status now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StatusCount {
    pub status: IncidentStatus,
    pub count: Option<i64>,
}

/// Open versus resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema), schema(as = ResolutionSummary))]
pub struct FollowUp {
    pub by_status: Vec<StatusCount>,
    /// nieuw + in_behandeling + heropend.
    pub open: Option<i64>,
    /// opgelost.
    pub resolved: Option<i64>,
    /// afgewezen.
    pub rejected: Option<i64>,
    /// Median hours from occurrence to resolution, for the resolved ones.
    pub median_hours_to_resolution: Option<f64>,
    /// The same for the comparison period.
    pub comparison_median_hours_to_resolution: Option<f64>,
}

/// A statistically significant hotspot (Getis-Ord Gi*, FDR-corrected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Hotspot {
    /// H3 cell index (hexadecimal).
    pub cell: String,
    /// The cell's centre.
    pub lat: f64,
    pub lon: f64,
    /// Incidents in the cell.
    pub count: Option<i64>,
    /// Incidents in the cell and its six neighbours.
    pub neighbourhood: Option<i64>,
    /// The Gi* z-score.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// 90, 95 or 99 (per cent).
    pub confidence: Option<u8>,
    /// The street at the cell's centre, when the area's streets are imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
}

/// The schoon-heel-veilig analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Analysis {
    pub area_id: Uuid,
    pub period: Period,
    pub comparison_kind: ComparisonKind,
    pub comparison: Period,
    pub totals: Change,
    /// Theme × schoon/heel/veilig.
    pub by_theme: Vec<ThemeRow>,
    /// Theme × schoon/heel/veilig × zone.
    pub by_zone: Vec<ZoneRow>,
    /// 7 rows (Monday first) of 24 hours, Dutch local time, for the period.
    pub hour_weekday: Vec<Vec<Option<i64>>>,
    /// Incidents per week of the period.
    pub weekly: Vec<WeekCount>,
    pub follow_up: FollowUp,
    /// The H3 resolution the hotspots were computed at.
    pub hotspot_resolution: u8,
    /// Significant hotspots, strongest first (at most 10).
    pub hotspots: Vec<Hotspot>,
}

/// A column the werkgroep's incident table sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TableSort {
    #[default]
    OccurredAt,
    Category,
    Zone,
    Status,
    AssignedTo,
    DueDate,
    Damage,
    Confirmations,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// One row of the incident table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TableRow {
    pub id: Uuid,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub category: String,
    pub zone_id: Option<Uuid>,
    pub zone_name: Option<String>,
    pub status: crate::status::IncidentStatus,
    pub assigned_to: Option<crate::follow_up::Organisation>,
    pub due_date: Option<NaiveDate>,
    pub aangifte: bool,
    pub damage_eur: Option<f64>,
    pub confirmations: i64,
    pub description: Option<String>,
    /// The street it happened in, when the area's streets are imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// The asset of the register it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<crate::registers::AssetLink>,
}

/// `GET /api/v1/areas/{id}/incident-table`: one page of the filtered,
/// sorted incidents, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentTable {
    /// How many incidents the filter gives.
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
    pub rows: Vec<TableRow>,
}

/// One area in the region view: its counts in the period and the one before,
/// and what is open. Counts follow the area's own privacy rule (small counts
/// hidden where the person sees aggregates only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegionArea {
    pub area_id: Uuid,
    pub name: String,
    pub kind: crate::wire::AreaKind,
    pub municipality: Option<String>,
    pub role: crate::Role,
    pub current: Option<i64>,
    pub previous: Option<i64>,
    /// The change in per cent of the previous period; null when that is 0 or hidden.
    pub change_pct: Option<f64>,
    /// Open reports (nieuw, in behandeling, heropend), of any time.
    pub open: Option<i64>,
    /// Open reports whose due date has passed.
    pub overdue: Option<i64>,
}

/// `GET /api/v1/region/areas`: all of the person's areas side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegionOverview {
    pub period: Period,
    pub previous: Period,
    pub areas: Vec<RegionArea>,
}

/// `GET /api/v1/public/{slug}`: an area's figures for residents, press and
/// the gemeenteraad, without signing in: the last 52 weeks against the 52
/// before, aggregated as for an ondernemer (counts below 3 hidden), and the
/// heatmap of 170 m cells. No reports, text, photos or names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicView {
    pub name: String,
    pub municipality: Option<String>,
    pub kind: crate::wire::AreaKind,
    pub slug: String,
    pub analysis: Analysis,
    /// Per category of the area (those with a report in either period), the
    /// same periods, counts below 3 hidden.
    pub categories: Vec<PublicCategory>,
    /// GeoJSON FeatureCollection of the cells with their counts.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub heatmap: serde_json::Value,
}

/// One category in the public view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicCategory {
    pub code: String,
    pub label_nl: String,
    pub label_en: String,
    pub theme: Option<Theme>,
    pub dimension: Option<Dimension>,
    #[serde(flatten)]
    pub counts: Change,
}
