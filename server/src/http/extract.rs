//! Extractors that turn every malformed request into a problem document:
//! JSON bodies (with the offending field named), query strings and raw uploads.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::problem::AppError;

/// A JSON request body. Unlike `axum::Json`, its rejections are problems
/// that name the field, in Dutch and English.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(AppError::NotJson);
        }
        let body = RawBody::from_request(req, state).await?.0;
        parse_json(&body).map(ApiJson)
    }
}

/// Whether a JSON text holds a string with the NUL character (it can only
/// be written as the escape `\u0000`), which no text column can store.
fn has_nul(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' {
            if body[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Parses JSON, naming the field at fault. Text with the NUL character is
/// refused here, once for every body (PostgreSQL cannot store it).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if has_nul(body) {
        return Err(AppError::NulInText);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let field = match path.rsplit_once('.') {
                Some((parent, _)) if path != "." => format!("{parent}.{name}"),
                _ => name.to_string(),
            };
            return AppError::UnknownField(field);
        }
        if inner.is_data() && path != "." {
            return AppError::BadValue { field: path, msg };
        }
        AppError::BadJson(msg)
    })
}

/// A raw request body within the route's size limit.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BodyUnreadable
            }
        })
    }
}

/// A query string. Its rejections are problems too.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded_parse(q).map(ApiQuery)
    }
}

/// Parses a query string, naming the parameter at fault.
fn serde_urlencoded_parse<T: DeserializeOwned>(q: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        if path == "." || msg.starts_with("unknown field") {
            AppError::BadQuery(msg)
        } else {
            AppError::BadValue { field: path, msg }
        }
    })
}

/// The SHA-256 a client declares for the body in `Content-Digest` (RFC 9530,
/// `sha-256=:<base64>:`); `None` when the header is absent or names only
/// other algorithms. A malformed header is refused.
pub struct ContentDigest(pub Option<[u8; 32]>);

impl<S: Send + Sync> FromRequestParts<S> for ContentDigest {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let Some(raw) = parts.headers.get("content-digest") else {
            return Ok(ContentDigest(None));
        };
        parse_content_digest(raw.to_str().unwrap_or("\u{0}"))
            .map(ContentDigest)
            .ok_or_else(|| AppError::ContentDigest)
    }
}

/// A structured-field dictionary of digests; `Some(None)` when there is no sha-256 member.
fn parse_content_digest(raw: &str) -> Option<Option<[u8; 32]>> {
    use base64::Engine as _;
    let mut found = None;
    for member in raw.split(',') {
        let (key, value) = member.trim().split_once('=')?;
        let value = value.trim().strip_prefix(':')?.strip_suffix(':')?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
        if key.trim().eq_ignore_ascii_case("sha-256") {
            found = Some(<[u8; 32]>::try_from(bytes.as_slice()).ok()?);
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvo_api::wire::NewIncident;

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let body = br#"{"id":"6f1c7b8e-2d0a-4b7e-9d1c-0a1b2c3d4e5f","area_id":"6f1c7b8e-2d0a-4b7e-9d1c-0a1b2c3d4e5f",
            "category":"diefstal","location":{"lat":52.0,"lon":5.0,"hoogte":3},"occurred_at":"2026-01-01T00:00:00Z"}"#;
        match parse_json::<NewIncident>(body) {
            Err(AppError::UnknownField(f)) => assert_eq!(f, "location.hoogte"),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn text_with_nul_is_found_and_an_escaped_backslash_is_not_it() {
        assert!(has_nul(br#"{"email":"a\u0000b"}"#));
        assert!(has_nul(br#"["\u0000"]"#));
        assert!(!has_nul(br#"{"path":"C:\\u0000"}"#), "a backslash, then the text u0000");
        assert!(!has_nul(br#"{"a":"\u00e9","b":"\\"}"#));
        assert!(!has_nul(b"\\"));
        assert!(matches!(parse_json::<serde_json::Value>(br#"{"a":"\u0000"}"#), Err(AppError::NulInText)));
    }

    #[test]
    fn malformed_json_is_bad_json() {
        assert!(matches!(parse_json::<NewIncident>(b"{\"id\":"), Err(AppError::BadJson(_))));
    }

    #[test]
    fn content_digest_is_read_as_rfc_9530_says() {
        // RFC 9530's example: the digest of `{"hello": "world"}`.
        let d =
            parse_content_digest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:").unwrap().unwrap();
        assert_eq!(d[..4], [0x5f, 0x8f, 0x04, 0xf6]);
        let both = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        assert_eq!(parse_content_digest(both).unwrap(), Some(d));
        assert_eq!(
            parse_content_digest(
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
            ),
            Some(None)
        );
        for bad in ["sha-256=X48E9q", "sha-256=:bm90IDMyIGJ5dGVz:", "sha-256=:!!:", "nonsense"] {
            assert_eq!(parse_content_digest(bad), None, "{bad}");
        }
    }
}

/// The client's network address: the TCP peer (`serve` records it), or,
/// behind a trusted proxy (`Config::trust_forwarded_for`), the last address
/// of `X-Forwarded-For`; the unspecified address when there is none
/// (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<super::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &super::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = s
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()?
                    .to_str()
                    .ok()?
                    .rsplit(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .flatten();
        let peer =
            parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(forwarded.or(peer).unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))))
    }
}

/// One request of `limit` by `p` (if signed in) from `ip`, or 429 with the wait.
pub fn within_limit(
    s: &super::state::AppState,
    limit: crate::rate_limit::Limit,
    p: Option<&crate::auth::Principal>,
    ClientIp(ip): ClientIp,
) -> Result<(), AppError> {
    let credential = p.map(|p| match p.via {
        crate::auth::Via::Device { token_id } => token_id.to_string(),
        crate::auth::Via::Session { session_id } => session_id.to_string(),
    });
    s.limits.take(limit, credential.as_deref(), ip).map_err(AppError::TooManyRequests)
}
