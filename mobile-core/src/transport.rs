//! How the core reaches the server: a [`Transport`] takes a [`Request`] and
//! gives an [`Answer`], reduced to what the queue needs to decide (status,
//! `Retry-After`, the problem's detail, the body). [`Http`] is the real one
//! (blocking, with time-outs); the tests script a fake one.

use std::time::Duration;

use crate::{error::Error, queue::Attempt};

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A body to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(Vec<u8>),
    Jpeg(Vec<u8>),
}

/// One request to the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    /// From the server's root, with the query: `/api/v1/incidents?mine=true`.
    pub path: String,
    /// The device token, sent as `Authorization: Bearer`.
    pub token: Option<String>,
    pub body: Body,
    pub if_none_match: Option<String>,
    /// `Content-Digest` of the body (RFC 9530), so the server can tell a
    /// photo damaged in transit.
    pub content_digest: Option<String>,
}

impl Request {
    /// A request without a body, token or condition.
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            token: None,
            body: Body::None,
            if_none_match: None,
            content_digest: None,
        }
    }

    /// With `body` as JSON.
    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Request, Error> {
        self.body = Body::Json(serde_json::to_vec(body)?);
        Ok(self)
    }

    /// With the device token.
    pub fn token(mut self, token: &str) -> Request {
        self.token = Some(token.to_string());
        self
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// A member of the problem document, if the body is one.
    fn problem(&self, member: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get(member)?.as_str().map(str::to_string)
    }

    /// The problem document's `detail`, if the body is one.
    pub fn detail(&self) -> Option<String> {
        self.problem("detail")
    }

    /// As the queue sees it. A body the server found damaged in transit (its
    /// `Content-Digest` did not match) is as good as no answer: sent again.
    pub fn attempt(&self) -> Attempt {
        if self.status == 400 && self.problem("field").as_deref() == Some("Content-Digest") {
            return Attempt::NoAnswer;
        }
        Attempt::Answered { status: self.status, retry_after: self.retry_after, detail: self.detail() }
    }

    /// Fails unless 2xx (for calls outside the queue).
    pub fn ok(self) -> Result<Answer, Error> {
        match self.status {
            200..=299 | 304 => Ok(self),
            401 => Err(Error::Unauthorized),
            404 => Err(Error::NotFound),
            status => Err(Error::Server { status, reason: self.detail().unwrap_or_default() }),
        }
    }
}

/// Something that carries requests to the server. `Err(Error::Transport)`
/// means no answer (network down, connection reset, time-out). It takes the
/// request by value, so a photo's bytes are handed on, not copied.
pub trait Transport: Send + Sync {
    fn send(&self, req: Request) -> Result<Answer, Error>;
}

/// The server, reached over HTTP.
pub struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    /// A client for the server at `base` (e.g. `https://kvo.example.nl`).
    pub fn new(base: &str) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Http { agent, base: base.trim_end_matches('/').to_string() }
    }
}

impl Transport for Http {
    fn send(&self, req: Request) -> Result<Answer, Error> {
        let url = format!("{}{}", self.base, req.path);
        let mut b = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&url)
            .header("Accept-Language", "nl");
        if let Some(t) = &req.token {
            b = b.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(e) = &req.if_none_match {
            b = b.header("If-None-Match", e);
        }
        if let Some(d) = &req.content_digest {
            b = b.header("Content-Digest", d);
        }
        let bad = |e: ureq::http::Error| Error::Transport(e.to_string());
        let result = match req.body {
            Body::None => self.agent.run(b.body(()).map_err(bad)?),
            Body::Json(v) => {
                self.agent.run(b.header("Content-Type", "application/json").body(v).map_err(bad)?)
            }
            Body::Jpeg(v) => self.agent.run(b.header("Content-Type", "image/jpeg").body(v).map_err(bad)?),
        };
        let mut res = result.map_err(|e| Error::Transport(e.to_string()))?;
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
        let etag = header("etag");
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_vec().map_err(|e| Error::Transport(e.to_string()))?;
        Ok(Answer { status, retry_after, etag, body })
    }
}
