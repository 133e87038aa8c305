//! Why a request for aggregates is refused: the filter's limits, the
//! comparison period, the heatmap's resolution and the tiles' zoom, and what
//! a role may not read. Texts: `http::problem`.

use crate::error::{Error, module_error};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{field}: unknown category `{code}` in this area")]
    UnknownCategory { field: &'static str, code: String },
    #[error("{0}: the period starts after it ends")]
    PeriodReversed(&'static str),
    #[error("{0}: the period lies outside 2000–2099")]
    PeriodOutOfRange(&'static str),
    #[error("{0}: the period is longer than ten years")]
    PeriodTooLong(&'static str),
    #[error("resolution {0} does not exist")]
    Resolution(u8),
    #[error("resolution {resolution} covers at most {years} years")]
    ResolutionSpan { resolution: u8, years: i64 },
    #[error("hotspots need resolution 8 to 11")]
    HotspotResolution,
    #[error("baseline_from and baseline_to need compare=baseline")]
    BaselineWithoutCompare,
    #[error("the area has no baseline and none was given")]
    NoBaseline,
    #[error("only one of baseline_from and baseline_to")]
    BaselineHalf,
    #[error("the comparison period overlaps the period")]
    BaselineOverlaps,
    #[error("the comparison period lies before 2000")]
    BaselineTooEarly,
    #[error("zoom level {0} does not exist")]
    Zoom(u8),
    #[error("the map's zoom lies outside 0–22")]
    MapZoom,
    #[error("the tile does not exist at its zoom level")]
    TileOutside,
    /// Tiles carry single incidents only, from [`super::tiles::POINTS_FROM_ZOOM`] on.
    #[error("tiles of single incidents start deeper than zoom {0}")]
    TileZoom(u8),
    /// Individual incidents may not be exported by this role.
    #[error("this role may not export individual incidents")]
    ExportIncidents,
    /// A table page size outside 1–200.
    #[error("page size {0} outside 1–200")]
    PageSize(u32),
    /// Tiles of individual incidents are not for this role (it gets the heatmap).
    #[error("this role may not read tiles of individual incidents")]
    IncidentTiles,
    #[error(transparent)]
    Other(#[from] Error),
}
module_error!(AnalyticsError);

/// Result alias of the analytics modules.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
