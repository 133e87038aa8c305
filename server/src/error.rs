//! The one error type of the HTTP layer, and its RFC 9457 problem documents.
//!
//! A handler returns `Result<_, AppError>`. `AppError::into_response` puts
//! both language versions of the problem into a response extension; the
//! [`render_problems`] middleware then writes the one the client asked for
//! (`Accept-Language`, Dutch by default). Responses the framework makes on its
//! own (unknown route, wrong method, time-out, body too large) are turned into
//! problems there too, so no client ever sees a bare text error.

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use kvo_api::{ValidationError, wire::Problem};

/// Every way an API request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation: {0}")]
    Validation(#[from] ValidationError),
    #[error("malformed JSON: {0}")]
    BadJson(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("bad request: {en}")]
    BadRequest { field: Option<&'static str>, nl: String, en: String },
    #[error("not signed in")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(std::borrow::Cow<'static, str>),
    #[error("not found")]
    NotFound,
    #[error("conflict: {en}")]
    Conflict { nl: std::borrow::Cow<'static, str>, en: std::borrow::Cow<'static, str> },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("image of {megapixels:.1} megapixels")]
    ImageTooLarge { megapixels: f64 },
    #[error("image cannot be decoded")]
    BadImage,
    #[error("request took too long")]
    Timeout,
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                AppError::Unavailable(e.into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;

/// The two language versions of one problem, carried to [`render_problems`].
#[derive(Clone, Debug)]
pub struct ProblemText {
    nl: Problem,
    en: Problem,
}

struct Texts {
    slug: &'static str,
    title_nl: &'static str,
    title_en: &'static str,
    detail_nl: String,
    detail_en: String,
    field: Option<String>,
}

impl AppError {
    /// A 400 that names the request field at fault, in Dutch and English.
    pub fn bad_request(field: &'static str, nl: impl Into<String>, en: impl Into<String>) -> AppError {
        AppError::BadRequest { field: Some(field), nl: nl.into(), en: en.into() }
    }

    /// The HTTP status, decided here and nowhere else.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadJson(_) | AppError::UnknownField(_) | AppError::BadRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::ImageTooLarge { .. } | AppError::BadImage => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Timeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn texts(&self) -> Texts {
        let t = |slug, title_nl, title_en, detail_nl: String, detail_en: String| Texts {
            slug,
            title_nl,
            title_en,
            detail_nl,
            detail_en,
            field: None,
        };
        match self {
            AppError::Validation(v) => Texts {
                slug: v.code(),
                title_nl: "Ongeldige invoer",
                title_en: "Invalid input",
                detail_nl: v.message_nl(),
                detail_en: v.message_en(),
                field: Some(v.field().to_string()),
            },
            AppError::BadJson(msg) => t(
                "malformed-json",
                "Ongeldige JSON",
                "Malformed JSON",
                format!("De JSON in het verzoek kan niet worden gelezen: {msg}"),
                format!("The request's JSON cannot be read: {msg}"),
            ),
            AppError::UnknownField(f) => Texts {
                field: Some(f.clone()),
                ..t(
                    "unknown-field",
                    "Onbekend veld",
                    "Unknown field",
                    format!("Het veld `{f}` is onbekend."),
                    format!("The field `{f}` is not known."),
                )
            },
            AppError::BadRequest { field, nl, en } => Texts {
                field: field.map(str::to_string),
                ..t("bad-request", "Ongeldig verzoek", "Bad request", nl.clone(), en.clone())
            },
            AppError::Unauthorized => t(
                "unauthorized",
                "Niet aangemeld",
                "Not signed in",
                "Meld u aan of gebruik een geldig apparaattoken.".into(),
                "Sign in, or use a valid device token.".into(),
            ),
            AppError::Forbidden(why) => t(
                "forbidden",
                "Niet toegestaan",
                "Forbidden",
                format!("Uw rol staat dit niet toe ({why})."),
                format!("Your role does not allow this ({why})."),
            ),
            AppError::NotFound => t(
                "not-found",
                "Niet gevonden",
                "Not found",
                "Dit bestaat niet, of u heeft er geen toegang toe.".into(),
                "This does not exist, or you have no access to it.".into(),
            ),
            AppError::Conflict { nl, en } => {
                t("conflict", "Conflict", "Conflict", nl.to_string(), en.to_string())
            }
            AppError::UnsupportedMediaType => t(
                "unsupported-media-type",
                "Bestandstype niet ondersteund",
                "Unsupported media type",
                "Alleen JPEG, PNG en WebP worden geaccepteerd (beoordeeld op de inhoud).".into(),
                "Only JPEG, PNG and WebP are accepted (judged by content).".into(),
            ),
            AppError::PayloadTooLarge => t(
                "payload-too-large",
                "Te groot",
                "Payload too large",
                "Het verzoek is groter dan toegestaan (een foto hoogstens 15 MB).".into(),
                "The request is larger than allowed (a photo at most 15 MB).".into(),
            ),
            AppError::ImageTooLarge { megapixels } => t(
                "image-too-large",
                "Afbeelding te groot",
                "Image too large",
                format!("De afbeelding heeft {megapixels:.1} megapixel; hoogstens 40 is toegestaan."),
                format!("The image has {megapixels:.1} megapixels; at most 40 are allowed."),
            ),
            AppError::BadImage => t(
                "bad-image",
                "Afbeelding onleesbaar",
                "Image unreadable",
                "De afbeelding is beschadigd of onvolledig.".into(),
                "The image is corrupt or truncated.".into(),
            ),
            AppError::Timeout => t(
                "timeout",
                "Time-out",
                "Timeout",
                "Het verzoek duurde te lang; probeer het opnieuw.".into(),
                "The request took too long; please try again.".into(),
            ),
            AppError::Unavailable(_) => t(
                "unavailable",
                "Tijdelijk niet beschikbaar",
                "Temporarily unavailable",
                "De dienst is tijdelijk niet beschikbaar; probeer het later opnieuw.".into(),
                "The service is temporarily unavailable; please try again later.".into(),
            ),
            AppError::Internal(_) => t(
                "internal",
                "Interne fout",
                "Internal error",
                "Er ging iets mis aan onze kant. De fout is vastgelegd.".into(),
                "Something went wrong on our side. The error has been logged.".into(),
            ),
        }
    }

    /// Both language versions of this error's problem document.
    pub fn problem(&self) -> ProblemText {
        let status = self.status().as_u16();
        let x = self.texts();
        let type_ = format!("https://kvo-meldingen.nl/problems/{}", x.slug);
        ProblemText {
            nl: Problem {
                type_: type_.clone(),
                title: x.title_nl.into(),
                status,
                detail: x.detail_nl,
                field: x.field.clone(),
            },
            en: Problem { type_, title: x.title_en.into(), status, detail: x.detail_en, field: x.field },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(e) | AppError::Unavailable(e) => {
                tracing::error!(error = ?e, "request failed");
            }
            _ => tracing::debug!(error = %self, "request rejected"),
        }
        let mut res = self.status().into_response();
        if matches!(self, AppError::Unauthorized) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(self.problem());
        res
    }
}

/// The language a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// Picks Dutch or English from `Accept-Language` by quality; Dutch when
    /// neither is named or the header is absent.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Nl;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag == "nl" || tag.starts_with("nl-") {
                Lang::Nl
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Nl, |(_, l)| l)
    }
}

/// Writes every error response as `application/problem+json` in the client's language.
pub async fn render_problems(req: Request, next: Next) -> Response {
    let lang = Lang::from_headers(req.headers());
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let problem = match res.extensions_mut().remove::<ProblemText>() {
        Some(p) => p,
        // The framework's own rejections: give them the same shape.
        None => match status {
            StatusCode::NOT_FOUND => AppError::NotFound.problem(),
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge.problem(),
            StatusCode::REQUEST_TIMEOUT => AppError::Timeout.problem(),
            StatusCode::METHOD_NOT_ALLOWED => AppError::BadRequest {
                field: None,
                nl: "Deze methode is hier niet toegestaan.".into(),
                en: "This method is not allowed here.".into(),
            }
            .problem(),
            s if s.is_server_error() => AppError::Internal(anyhow::anyhow!("status {s}")).problem(),
            _ => AppError::BadRequest {
                field: None,
                nl: "Het verzoek is ongeldig.".into(),
                en: "The request is invalid.".into(),
            }
            .problem(),
        },
    };
    let (body, content_language) = match lang {
        Lang::Nl => (problem.nl, "nl"),
        Lang::En => (problem.en, "en"),
    };
    let mut out = (status, axum::Json(body)).into_response();
    let headers = out.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(content_language));
    for keep in [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = res.headers().get(&keep) {
            headers.insert(keep, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, v.parse().unwrap());
        Lang::from_headers(&h)
    }

    #[test]
    fn accept_language_picks_by_quality() {
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(lang("nl-NL,en;q=0.5"), Lang::Nl);
        assert_eq!(lang("de,en;q=0.5"), Lang::En);
        assert_eq!(lang("fr"), Lang::Nl);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Nl);
    }

    #[test]
    fn internal_errors_leak_nothing() {
        let p = AppError::Internal(anyhow::anyhow!("password=hunter2 at db.internal")).problem();
        assert!(!p.en.detail.contains("hunter2"));
        assert_eq!(p.en.status, 500);
    }
}
