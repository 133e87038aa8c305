//! HTTP to the server (blocking, with time-outs), reduced to what the queue
//! needs to decide: status, `Retry-After`, the problem's detail, the body.

use std::time::Duration;

use crate::{error::Error, queue::Attempt};

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The problem document's `detail`, if the body is one.
    pub fn detail(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("detail")?.as_str().map(str::to_string)
    }

    /// As the queue sees it.
    pub fn attempt(&self) -> Attempt {
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

/// A body to send.
pub enum Body<'a> {
    None,
    Json(Vec<u8>),
    Jpeg(&'a [u8]),
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

    /// Makes one request. `Err` means no answer (network).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
        if_none_match: Option<&str>,
    ) -> Result<Answer, Error> {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut b = ureq::http::Request::builder().method(method).uri(&url).header("Accept-Language", "nl");
        if let Some(a) = &auth {
            b = b.header("Authorization", a);
        }
        if let Some(e) = if_none_match {
            b = b.header("If-None-Match", e);
        }
        let result = match body {
            Body::None => self.agent.run(b.body(()).map_err(|e| Error::Transport(e.to_string()))?),
            Body::Json(v) => self.agent.run(
                b.header("Content-Type", "application/json")
                    .body(v)
                    .map_err(|e| Error::Transport(e.to_string()))?,
            ),
            Body::Jpeg(v) => self.agent.run(
                b.header("Content-Type", "image/jpeg")
                    .body(v.to_vec())
                    .map_err(|e| Error::Transport(e.to_string()))?,
            ),
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
