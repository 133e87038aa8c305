//! The offline queue's decisions, free of I/O: what an HTTP outcome means for
//! a queued item, and when to try again.
//!
//! Every request is persisted before it is attempted. Items are sent in the
//! order they were made; a photo waits for its report, a report made on a
//! patrol waits for the patrol's start. An outcome is one of:
//! - done (2xx): the item is sent;
//! - retry (network error, 5xx, 408, 429): try again after an exponential
//!   backoff with jitter, or after the server's `Retry-After`;
//! - wedged (any other 4xx): the request can never succeed as it is; the item
//!   stops with a reason the app can show, its dependants stop with it, and
//!   the rest of the queue goes on;
//! - unauthorised (401): the device must sign in again; the queue pauses.

use std::time::Duration;

/// The state of one queued item.
#[derive(strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemState {
    /// Waiting to be sent (or waiting for its backoff to pass).
    Pending,
    /// A request is under way.
    Sending,
    /// The server has it.
    Sent,
    /// It can never be sent as it is; see the reason.
    Wedged,
}

kvo_api::coded!(ItemState);

impl ItemState {}

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// An HTTP answer with its status, `Retry-After` (seconds) and problem detail.
    Answered { status: u16, retry_after: Option<u64>, detail: Option<String> },
    /// No answer: connection refused, reset, time-out.
    NoAnswer,
}

/// What to do with the item after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Done,
    RetryAfter(Duration),
    Wedge(String),
    SignInAgain,
}

/// Backoff settings: `base × 2^(attempt-1)`, capped, with ±`jitter` spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_secs(2), max: Duration::from_secs(300), jitter: 0.25 }
    }
}

impl Backoff {
    /// The delay before attempt number `attempts + 1`, given a uniform random `r` in 0..1.
    pub fn delay(&self, attempts: u32, r: f64) -> Duration {
        let exp = 2f64.powi(attempts.saturating_sub(1).min(30) as i32);
        let raw = (self.base.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let spread = 1.0 + self.jitter * (2.0 * r - 1.0);
        Duration::from_secs_f64((raw * spread).max(0.0))
    }
}

/// Decides what an attempt means. `attempts` counts this one.
pub fn decide(attempt: &Attempt, attempts: u32, backoff: &Backoff, r: f64) -> Decision {
    match attempt {
        Attempt::NoAnswer => Decision::RetryAfter(backoff.delay(attempts, r)),
        Attempt::Answered { status, retry_after, detail } => match *status {
            200..=299 => Decision::Done,
            401 => Decision::SignInAgain,
            408 | 429 | 500..=599 => {
                // The server's Retry-After wins over our own backoff, up to an hour.
                let delay = retry_after.map_or_else(|| backoff.delay(attempts, r), Duration::from_secs);
                Decision::RetryAfter(delay.min(Duration::from_secs(3600)))
            }
            s => Decision::Wedge(detail.clone().unwrap_or_else(|| format!("de server weigerde dit ({s})"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Attempt {
        Attempt::Answered { status, retry_after: None, detail: None }
    }

    #[test]
    fn success_is_done_and_401_pauses() {
        let b = Backoff::default();
        assert_eq!(decide(&answered(201), 1, &b, 0.5), Decision::Done);
        assert_eq!(decide(&answered(200), 1, &b, 0.5), Decision::Done);
        assert_eq!(decide(&answered(401), 1, &b, 0.5), Decision::SignInAgain);
    }

    #[test]
    fn transient_failures_retry_with_growing_backoff() {
        let b = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60), jitter: 0.0 };
        let delays: Vec<_> = (1..=8)
            .map(|n| match decide(&Attempt::NoAnswer, n, &b, 0.5) {
                Decision::RetryAfter(d) => d.as_secs(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        for s in [500, 502, 503, 408, 429] {
            assert!(matches!(decide(&answered(s), 1, &b, 0.5), Decision::RetryAfter(_)), "{s}");
        }
    }

    #[test]
    fn jitter_spreads_within_bounds() {
        let b = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(60), jitter: 0.25 };
        assert_eq!(b.delay(1, 0.0), Duration::from_secs_f64(7.5));
        assert_eq!(b.delay(1, 1.0), Duration::from_secs_f64(12.5));
    }

    #[test]
    fn retry_after_is_honoured() {
        let b = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(60), jitter: 0.0 };
        let a = Attempt::Answered { status: 429, retry_after: Some(7), detail: None };
        assert_eq!(decide(&a, 1, &b, 0.5), Decision::RetryAfter(Duration::from_secs(7)));
        let absurd = Attempt::Answered { status: 503, retry_after: Some(1_000_000), detail: None };
        assert_eq!(decide(&absurd, 1, &b, 0.5), Decision::RetryAfter(Duration::from_secs(3600)));
    }

    #[test]
    fn other_client_errors_wedge_with_the_servers_reason() {
        let b = Backoff::default();
        let a =
            Attempt::Answered { status: 422, retry_after: None, detail: Some("buiten het gebied".into()) };
        assert_eq!(decide(&a, 1, &b, 0.5), Decision::Wedge("buiten het gebied".into()));
        for s in [400, 403, 404, 409, 413, 415] {
            assert!(matches!(decide(&answered(s), 3, &b, 0.5), Decision::Wedge(_)), "{s}");
        }
    }
}
