//! Who is asking, as HTTP sees it: the bearer token or the session cookie
//! (with its CSRF header) resolved into a [`Principal`] by `crate::auth`.

use axum::{
    extract::FromRequestParts,
    http::{Method, header, request::Parts},
};

use super::{
    problem::{AppError, AppResult},
    state::AppState,
};
use crate::auth::{self, Principal};

/// Name of the web session cookie.
pub const SESSION_COOKIE: &str = "kvo_session";
/// Header a cookie-authenticated client must send on state-changing requests.
/// A cross-site form cannot set it, and a cross-site script would need a CORS
/// pre-flight that this server never grants.
pub const CSRF_HEADER: &str = "x-kvo-csrf";

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> AppResult<Principal> {
        // A credential that is sent counts, even when another one is sent too:
        // an Authorization header that is not a usable bearer token is refused,
        // never passed over for the session cookie.
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let token = bearer(parts).ok_or(crate::error::Error::Unauthenticated)?;
            return Ok(auth::device_principal(&s.pool, &s.auth, token).await?);
        }
        if let Some(token) = cookie(parts, SESSION_COOKIE) {
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe && !parts.headers.contains_key(CSRF_HEADER) {
                return Err(AppError::CsrfMissing);
            }
            return Ok(auth::session_principal(&s.pool, &s.auth, token).await?);
        }
        Err(crate::error::Error::Unauthenticated.into())
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The raw credential of a request (bearer token or session cookie), for sign-out.
pub fn raw_credential(parts: &Parts) -> Option<&str> {
    bearer(parts).or_else(|| cookie(parts, SESSION_COOKIE))
}
