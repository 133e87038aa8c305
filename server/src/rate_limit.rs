//! Abuse limits (issue 16 §3): how often one credential and one network
//! address may create reports, upload photos, sign in and redeem invites. A
//! token bucket per (limit, key) in this process: `per_minute` requests
//! refill evenly over a minute, and as many may come at once. Over the limit
//! the answer is 429 with `Retry-After`, which the apps honour. A signed-in
//! request counts against its credential and, ten times as generously,
//! against its address; a request without one (signing in, redeeming an
//! invite) against its address (`Config::trust_forwarded_for` behind a
//! proxy). Sign-in failures per account are counted in the database instead
//! (`auth::login`), so they hold across processes and restarts.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::config::Config;

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Reports,
    Photos,
    SignIn,
    Redeem,
    /// Reading an area's public view, per address.
    Public,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of this process.
pub struct RateLimits {
    per_minute: HashMap<Limit, u32>,
    buckets: Mutex<HashMap<(Limit, String), Bucket>>,
}

/// A signed-in request also counts against its address, which gets this
/// many credentials' allowance (a shop or office behind one address).
const PHONES_PER_ADDRESS: u32 = 10;

/// Buckets kept at most; past this, full ones are forgotten.
const MAX_BUCKETS: usize = 200_000;

impl RateLimits {
    pub fn from_config(c: &Config) -> RateLimits {
        RateLimits {
            per_minute: HashMap::from([
                (Limit::Reports, c.rate_reports_per_minute),
                (Limit::Photos, c.rate_photos_per_minute),
                (Limit::SignIn, c.rate_signin_per_minute),
                (Limit::Redeem, c.rate_redeem_per_minute),
                (Limit::Public, c.rate_public_per_minute),
            ]),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `limit` for `key` with `per_minute`; the wait
    /// until the next is allowed when there is none left.
    fn take_one(&self, limit: Limit, key: String, per_minute: u32, now: Instant) -> Result<(), Duration> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let rate = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity);
        }
        let b = buckets.entry((limit, key)).or_insert(Bucket { tokens: capacity, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(((1.0 - b.tokens) / rate).max(1.0)))
        }
    }

    /// One request of `limit` by `credential` (if signed in) from `ip`; the
    /// whole seconds to wait when over either limit.
    pub fn take(&self, limit: Limit, credential: Option<&str>, ip: IpAddr) -> Result<(), u64> {
        self.take_at(limit, credential, ip, Instant::now())
    }

    fn take_at(&self, limit: Limit, credential: Option<&str>, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let per_minute = self.per_minute.get(&limit).copied().unwrap_or(0);
        let wait = |d: Duration| d.as_secs_f64().ceil() as u64;
        if let Some(c) = credential {
            self.take_one(limit, format!("c:{c}"), per_minute, now).map_err(wait)?;
        }
        let per_address =
            if credential.is_some() { per_minute.saturating_mul(PHONES_PER_ADDRESS) } else { per_minute };
        self.take_one(limit, format!("ip:{ip}"), per_address, now).map_err(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32) -> RateLimits {
        RateLimits::from_config(&Config {
            rate_reports_per_minute: per_minute,
            rate_signin_per_minute: per_minute,
            ..Config::default()
        })
    }

    #[test]
    fn a_burst_up_to_the_limit_then_a_wait_that_refills_evenly() {
        let l = limits(6);
        let (ip, t0) = ("192.0.2.1".parse().unwrap(), Instant::now());
        for _ in 0..6 {
            assert_eq!(l.take_at(Limit::Reports, Some("d1"), ip, t0), Ok(()));
        }
        // Six a minute: one more every ten seconds.
        assert_eq!(l.take_at(Limit::Reports, Some("d1"), ip, t0), Err(10));
        assert_eq!(l.take_at(Limit::Reports, Some("d1"), ip, t0 + Duration::from_secs(4)), Err(6));
        assert_eq!(l.take_at(Limit::Reports, Some("d1"), ip, t0 + Duration::from_secs(10)), Ok(()));
        // Another phone at the same address has its own allowance.
        assert_eq!(l.take_at(Limit::Reports, Some("d2"), ip, t0), Ok(()));
        // Signing in is counted per address; zero switches a limit off.
        for _ in 0..6 {
            assert_eq!(l.take_at(Limit::SignIn, None, ip, t0), Ok(()));
        }
        assert!(l.take_at(Limit::SignIn, None, ip, t0).is_err());
        assert!(l.take_at(Limit::SignIn, None, "192.0.2.2".parse().unwrap(), t0).is_ok());
        // An address gets ten phones' worth: twenty phones, six each, sixty in all.
        let busy = limits(6);
        let ok = (0..120)
            .filter(|i| busy.take_at(Limit::Reports, Some(&format!("p{}", i / 6)), ip, t0).is_ok())
            .count();
        assert_eq!(ok, 60);
        let off = limits(0);
        for _ in 0..1000 {
            assert_eq!(off.take_at(Limit::Reports, Some("d1"), ip, t0), Ok(()));
        }
    }
}
