//! KVO themes, the schoon/heel/veilig dimensions and the default category list
//! from DOMAIN.md. Codes are stable identifiers; labels are for people.

use serde::{Deserialize, Serialize};

/// A KVO theme (since 2015).
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Criminaliteit,
    Overlast,
    Brandveiligheid,
    Verkeersveiligheid,
    Milieu,
    Cybersecurity,
    Ondermijning,
}

crate::coded!(Theme);

impl Theme {}

/// Schoon, heel or veilig: the three dimensions of a KVO area.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Schoon,
    Heel,
    Veilig,
}

crate::coded!(Dimension);

impl Dimension {}

/// One default category: a stable code, Dutch and English labels, and its
/// place in the KVO scheme (`None` for "overig").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub code: &'static str,
    pub label_nl: &'static str,
    pub label_en: &'static str,
    pub dimension: Option<Dimension>,
    pub theme: Option<Theme>,
}

const fn cat(
    code: &'static str,
    label_nl: &'static str,
    label_en: &'static str,
    dimension: Option<Dimension>,
    theme: Option<Theme>,
) -> Category {
    Category { code, label_nl, label_en, dimension, theme }
}

use Dimension::{Heel, Schoon, Veilig};
use Theme::*;

/// Categories whose reports go at once to everyone on duty (an area may change this).
pub const URGENT_BY_DEFAULT: [&str; 3] = ["overval", "agressie", "brandgevaar"];

/// The default category list of DOMAIN.md. Every new area starts with all of
/// these enabled; a beheerder may disable them or add others.
pub const DEFAULT_CATEGORIES: [Category; 19] = [
    cat(
        "vandalisme",
        "Vandalisme / vernieling",
        "Vandalism / criminal damage",
        Some(Heel),
        Some(Criminaliteit),
    ),
    cat("diefstal", "Diefstal / winkeldiefstal", "Theft / shoplifting", Some(Veilig), Some(Criminaliteit)),
    cat(
        "inbraak",
        "Inbraak of poging tot inbraak",
        "Burglary or attempted burglary",
        Some(Veilig),
        Some(Criminaliteit),
    ),
    cat("overval", "Overval", "Robbery", Some(Veilig), Some(Criminaliteit)),
    cat("agressie", "Agressie en geweld", "Aggression and violence", Some(Veilig), Some(Criminaliteit)),
    cat(
        "verdachte_situatie",
        "Verdachte situatie",
        "Suspicious situation",
        Some(Veilig),
        Some(Criminaliteit),
    ),
    cat(
        "kapotte_verlichting",
        "Kapotte of slechte verlichting",
        "Broken or poor lighting",
        Some(Heel),
        Some(Criminaliteit),
    ),
    cat(
        "verloedering",
        "Verloedering / achterstallig onderhoud",
        "Dilapidation / neglected maintenance",
        Some(Heel),
        Some(Overlast),
    ),
    cat(
        "overlast_personen",
        "Overlast van personen of groepen",
        "Nuisance from people or groups",
        Some(Veilig),
        Some(Overlast),
    ),
    cat("graffiti", "Graffiti / wildplakken", "Graffiti / fly-posting", Some(Schoon), Some(Overlast)),
    cat("zwerfvuil", "Zwerfvuil / afval", "Litter / waste", Some(Schoon), Some(Milieu)),
    cat(
        "illegale_dump",
        "Illegale dumping (ook drugsafval)",
        "Illegal dumping (including drug waste)",
        Some(Schoon),
        Some(Milieu),
    ),
    cat("brandgevaar", "Brandgevaarlijke situatie", "Fire hazard", Some(Veilig), Some(Brandveiligheid)),
    cat("brandstichting", "Brandstichting", "Arson", Some(Veilig), Some(Brandveiligheid)),
    cat(
        "verkeersonveilig",
        "Verkeersonveilige situatie",
        "Traffic hazard",
        Some(Veilig),
        Some(Verkeersveiligheid),
    ),
    cat("leegstand", "Leegstand / verpaupering", "Vacancy / decay", Some(Heel), Some(Ondermijning)),
    cat(
        "ondermijning",
        "Signaal van ondermijning",
        "Sign of organised crime (ondermijning)",
        Some(Veilig),
        Some(Ondermijning),
    ),
    cat(
        "cyberincident",
        "Cyberincident (phishing, ransomware)",
        "Cyber incident (phishing, ransomware)",
        Some(Veilig),
        Some(Cybersecurity),
    ),
    cat("overig", "Overig", "Other", None, None),
];

/// Whether `code` has the shape of a category code: 1–40 of `a-z`, `0-9`, `_`.
/// Codes are stable identifiers, so the shape is strict.
pub fn is_valid_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A category's code as a client sends it: 1–40 characters of `a`–`z`,
/// `0`–`9` and `_`, starting with a letter. Whether the area offers it is
/// the area's to say; this only refuses what can be no code at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CategoryCode(String);

impl CategoryCode {
    /// Checks a code's shape.
    pub fn parse(raw: &str) -> Result<CategoryCode, String> {
        let ok = (1..=40).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(CategoryCode(raw.to_string()))
        } else {
            Err(format!("`{}` is no category code (a-z, 0-9 and _, at most 40)", crate::validate::shown(raw)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The pattern of a category code, for the OpenAPI document.
pub const CATEGORY_CODE_PATTERN: &str = "^[a-z][a-z0-9_]{0,39}$";

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for CategoryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(CATEGORY_CODE_PATTERN))
            .description(Some("A category code: a-z, 0-9 and _, starting with a letter, at most 40."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for CategoryCode {}

impl<'de> Deserialize<'de> for CategoryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        CategoryCode::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codes_are_unique_and_well_formed() {
        let mut codes: Vec<_> = DEFAULT_CATEGORIES.iter().map(|c| c.code).collect();
        assert!(codes.iter().all(|c| is_valid_code(c)));
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), DEFAULT_CATEGORIES.len());
    }

    #[test]
    fn only_overig_lacks_a_theme() {
        for c in DEFAULT_CATEGORIES {
            assert_eq!(c.theme.is_none(), c.code == "overig", "{}", c.code);
            assert_eq!(c.dimension.is_none(), c.code == "overig", "{}", c.code);
        }
    }

    #[test]
    fn category_codes_are_checked() {
        for c in DEFAULT_CATEGORIES {
            assert_eq!(CategoryCode::parse(c.code).unwrap().as_str(), c.code);
        }
        for bad in ["", "Diefstal", "1abc", "graffiti!", "a b", &"x".repeat(41)] {
            assert!(CategoryCode::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<CategoryCode>("\"<script>\"").is_err());
    }

    #[test]
    fn codes_round_trip() {
        for &t in Theme::ALL {
            assert_eq!(Theme::from_code(t.code()), Some(t));
        }
        for &d in Dimension::ALL {
            assert_eq!(Dimension::from_code(d.code()), Some(d));
        }
        assert_eq!(Theme::from_code("nope"), None);
    }
}
