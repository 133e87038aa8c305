//! Query parameters of the API: typed at the edge, documented in the OpenAPI
//! document, turned into the domain's inputs here. An unknown enum value is
//! refused by the query extractor with a 400 that names the parameter.

use std::{fmt, marker::PhantomData};

use chrono::{DateTime, NaiveDate, Utc};
use kvo_api::{
    CategoryCode, Dimension, Theme,
    analysis::{ComparisonKind, SortOrder, TableSort},
    follow_up::Organisation,
    wire::IncidentStatus,
};
use serde::{Deserialize, Deserializer, de};
use uuid::Uuid;

use crate::{
    analytics::{RawFilter, analysis::AnalysisQuery, table::RowFilter},
    incidents::ListQuery,
};

/// A comma-separated list parameter (`theme=criminaliteit,overlast`), each
/// item checked as a `T`; empty items are skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct CommaList<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for CommaList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for V<T> {
            type Value = CommaList<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a comma-separated list")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CommaList<T>, E> {
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        T::deserialize(de::value::StrDeserializer::<de::value::Error>::new(p))
                            .map_err(|e| E::custom(format!("`{}`: {e}", kvo_api::validate::shown(p))))
                    })
                    .collect::<Result<_, _>>()
                    .map(CommaList)
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

fn list<T>(l: Option<CommaList<T>>) -> Option<Vec<T>> {
    l.map(|l| l.0)
}

/// Declares a query-parameter struct with the common filter fields plus its own.
macro_rules! filter_params {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// First day (YYYY-MM-DD, Dutch calendar), inclusive. Default: 27 days before `to`.
            pub from: Option<NaiveDate>,
            /// Last day (YYYY-MM-DD), inclusive. Default: today.
            pub to: Option<NaiveDate>,
            /// Comma-separated category codes (default: all).
            #[param(value_type = Option<Vec<CategoryCode>>, style = Form, explode = false)]
            pub category: Option<CommaList<CategoryCode>>,
            /// Comma-separated KVO themes, e.g. `criminaliteit,overlast`.
            #[param(value_type = Option<Vec<Theme>>, style = Form, explode = false)]
            pub theme: Option<CommaList<Theme>>,
            /// Comma-separated dimensions: `schoon`, `heel`, `veilig`.
            #[param(value_type = Option<Vec<Dimension>>, style = Form, explode = false)]
            pub dimension: Option<CommaList<Dimension>>,
            /// Comma-separated statuses, e.g. `nieuw,in_behandeling`.
            #[param(value_type = Option<Vec<IncidentStatus>>, style = Form, explode = false)]
            pub status: Option<CommaList<IncidentStatus>>,
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            /// The filter fields, for the domain.
            pub fn filter(&self) -> RawFilter {
                RawFilter {
                    from: self.from,
                    to: self.to,
                    categories: list(self.category.clone()),
                    themes: list(self.theme.clone()),
                    dimensions: list(self.dimension.clone()),
                    statuses: list(self.status.clone()),
                }
            }
        }
    };
}

filter_params! {
    /// Filters of the tile endpoint.
    pub struct FilterParams {}
}

filter_params! {
    /// Filters of the exports: those of the map, and of single incidents.
    pub struct RowParams {
        /// Comma-separated zone ids.
        #[param(value_type = Option<Vec<Uuid>>, style = Form, explode = false)]
        pub zone: Option<CommaList<Uuid>>,
        /// Also (or, without `zone`, only) the incidents outside every zone.
        pub no_zone: Option<bool>,
        /// Comma-separated organisations the incidents are assigned to.
        #[param(value_type = Option<Vec<Organisation>>, style = Form, explode = false)]
        pub assigned_to: Option<CommaList<Organisation>>,
        /// Only with (`true`) or without (`false`) a police report.
        pub aangifte: Option<bool>,
    }
}

filter_params! {
    /// The incident table: the filters of the exports, a sort and a page.
    pub struct TableParams {
        /// Comma-separated zone ids.
        #[param(value_type = Option<Vec<Uuid>>, style = Form, explode = false)]
        pub zone: Option<CommaList<Uuid>>,
        /// Also (or, without `zone`, only) the incidents outside every zone.
        pub no_zone: Option<bool>,
        /// Comma-separated organisations the incidents are assigned to.
        #[param(value_type = Option<Vec<Organisation>>, style = Form, explode = false)]
        pub assigned_to: Option<CommaList<Organisation>>,
        /// Only with (`true`) or without (`false`) a police report.
        pub aangifte: Option<bool>,
        /// The column to sort by (default `occurred_at`).
        pub sort: Option<TableSort>,
        /// `asc` or `desc` (default).
        pub order: Option<SortOrder>,
        /// The page, from 0.
        #[param(minimum = 0)]
        pub page: Option<u32>,
        /// Rows per page, 1–200 (default 50).
        #[param(minimum = 1, maximum = 200)]
        pub page_size: Option<u32>,
    }
}

fn row_filter(
    zone: &Option<CommaList<Uuid>>,
    no_zone: Option<bool>,
    assigned: &Option<CommaList<Organisation>>,
    aangifte: Option<bool>,
) -> RowFilter {
    RowFilter {
        zones: zone.clone().map(|z| z.0),
        no_zone: no_zone.unwrap_or(false),
        assigned: assigned.clone().map(|a| a.0),
        aangifte,
    }
}

impl RowParams {
    /// The row filters, for the domain.
    pub fn rows(&self) -> RowFilter {
        row_filter(&self.zone, self.no_zone, &self.assigned_to, self.aangifte)
    }
}

impl TableParams {
    /// The row filters, for the domain.
    pub fn rows(&self) -> RowFilter {
        row_filter(&self.zone, self.no_zone, &self.assigned_to, self.aangifte)
    }
}

/// The form of a heatmap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Hexagons with `count` and `share`.
    #[default]
    Cells,
    /// Cell centres with a `weight` of 0–1, for a heatmap layer.
    Points,
}

filter_params! {
    /// Filters and form of the heatmap.
    pub struct HeatmapParams {
        /// H3 resolution: 7 (coarse, about 1.4 km) to 11 (fine, about 25 m). Without it,
        /// the server chooses by the period and `zoom`.
        #[param(minimum = 7, maximum = 11)]
        pub resolution: Option<u8>,
        /// The map's zoom (0–22; default 15), for the server's choice of resolution.
        #[param(minimum = 0.0, maximum = 22.0)]
        pub zoom: Option<f64>,
        /// `cells` (hexagons, default) or `points` (cell centres with a `weight` of 0–1).
        pub shape: Option<Shape>,
    }
}

filter_params! {
    /// The period, its comparison and the filters of the analysis.
    pub struct AnalysisParams {
        /// `previous` (default: the period of the same length just before) or
        /// `baseline` (the nul-meting: the area's, or `baseline_from`/`baseline_to`).
        pub compare: Option<ComparisonKind>,
        /// First day of the baseline period (overrides the area's nul-meting).
        pub baseline_from: Option<NaiveDate>,
        /// Last day (inclusive) of the baseline period.
        pub baseline_to: Option<NaiveDate>,
        /// H3 resolution of the hotspot analysis, 8–11. Default 10 (about 66 m edge).
        #[param(minimum = 8, maximum = 11)]
        pub resolution: Option<u8>,
    }
}

impl AnalysisParams {
    /// The analysis's inputs, for the domain.
    pub fn query(&self) -> AnalysisQuery {
        AnalysisQuery {
            filter: self.filter(),
            compare: self.compare,
            baseline_from: self.baseline_from,
            baseline_to: self.baseline_to,
            resolution: self.resolution,
        }
    }
}

/// Query parameters of `GET /api/v1/incidents`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this area (default: all of yours).
    pub area_id: Option<Uuid>,
    /// `minLon,minLat,maxLon,maxLat`.
    #[param(pattern = r"^ *-?[0-9]+(\.[0-9]+)? *(, *-?[0-9]+(\.[0-9]+)? *){3}$")]
    pub bbox: Option<String>,
    /// Occurred at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Occurred before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Comma-separated category codes.
    #[param(value_type = Option<Vec<CategoryCode>>, style = Form, explode = false)]
    pub category: Option<CommaList<CategoryCode>>,
    /// Comma-separated statuses.
    #[param(value_type = Option<Vec<IncidentStatus>>, style = Form, explode = false)]
    pub status: Option<CommaList<IncidentStatus>>,
    /// Only my own reports.
    pub mine: Option<bool>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The listing's inputs, for the domain.
    pub fn query(self) -> ListQuery {
        ListQuery {
            area_id: self.area_id,
            bbox: self.bbox,
            from: self.from,
            to: self.to,
            categories: list(self.category),
            statuses: list(self.status),
            mine: self.mine.unwrap_or(false),
            limit: self.limit,
            cursor: self.cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_check_every_item() {
        let q: ListParams = serde_urlencoded::from_str("status=nieuw,%20opgelost,&category=a,b").unwrap();
        assert_eq!(q.status.unwrap().0, [IncidentStatus::Nieuw, IncidentStatus::Opgelost]);
        assert_eq!(q.category.unwrap().0.iter().map(CategoryCode::as_str).collect::<Vec<_>>(), ["a", "b"]);
        let e = serde_urlencoded::from_str::<ListParams>("category=a,B!").unwrap_err();
        assert!(e.to_string().contains("no category code"), "{e}");
        let e = serde_urlencoded::from_str::<ListParams>("status=nieuw,kwijt").unwrap_err();
        assert!(e.to_string().contains("`kwijt`"), "{e}");
    }
}

/// `GET /areas/{id}/nearby`: where the reporter is and what they are about to report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NearbyParams {
    /// The category about to be reported.
    #[param(value_type = CategoryCode)]
    pub category: CategoryCode,
    /// Latitude, -90..90.
    #[param(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude, -180..180.
    #[param(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
}
