//! Configuration: defaults that need nothing, then an optional TOML file,
//! then environment variables (which win). One naming: every key's
//! environment variable is `KVO_` and the key in upper case
//! (`db_pool` ↔ `KVO_DB_POOL`); only `database_url` is the conventional
//! `DATABASE_URL`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

/// The server's settings. Every field has a default.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP server listens (`KVO_LISTEN`).
    pub listen: SocketAddr,
    /// Photos, the embedded database and keys live here (`KVO_DATA_DIR`).
    pub data_dir: PathBuf,
    /// An external PostgreSQL + PostGIS (`DATABASE_URL`). Without it the server
    /// runs its own private cluster under `data_dir/postgres`.
    pub database_url: Option<String>,
    /// The URL people use to reach the server (`KVO_PUBLIC_URL`); an `https`
    /// URL makes session cookies `Secure`.
    pub public_url: Option<String>,
    /// The built map UI to serve at `/` (`KVO_MAP_UI_DIR`).
    pub map_ui_dir: PathBuf,
    /// How far outside an area's boundary a report may lie, in metres (`KVO_AREA_MARGIN_M`).
    pub area_margin_m: f64,
    /// Largest accepted photo upload, in bytes (`KVO_MAX_PHOTO_BYTES`).
    pub max_photo_bytes: usize,
    /// Largest accepted photo, in pixels (`KVO_MAX_PHOTO_PIXELS`).
    pub max_photo_pixels: u64,
    /// Memory for processing photos at once, in MiB (`KVO_PHOTO_MEMORY_MB`):
    /// with the largest photo at 11 bytes a pixel, it sets how many are
    /// processed at the same time (the others wait).
    pub photo_memory_mb: u64,
    /// Time limit for ordinary requests, in seconds (`KVO_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// Time limit for photo uploads (slow mobile networks), in seconds (`KVO_UPLOAD_TIMEOUT_SECS`).
    pub upload_timeout_secs: u64,
    /// Database connections in the pool (`KVO_DB_POOL`). `db_pool_size`, its
    /// name before, is still read from files.
    #[serde(alias = "db_pool_size")]
    pub db_pool: u32,
    /// `text` or `json` log lines (`KVO_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Hosts push subscriptions may point at (`KVO_PUSH_HOSTS`, comma-separated;
    /// a leading `.` allows subdomains): the browsers' push services. The
    /// server posts to these, so anything else is refused (no requests into
    /// the local network). Plain `http` is accepted only for loopback hosts.
    pub push_hosts: Vec<String>,
    /// Reports one phone or web session may create a minute, and as many at
    /// once (`KVO_RATE_REPORTS_PER_MINUTE`; an address ten times that; 0: no limit).
    pub rate_reports_per_minute: u32,
    /// Photos one phone or web session may upload a minute (`KVO_RATE_PHOTOS_PER_MINUTE`).
    pub rate_photos_per_minute: u32,
    /// Sign-ins from one address a minute (`KVO_RATE_SIGNIN_PER_MINUTE`);
    /// an account is also slowed down after failures (see `auth::login`).
    pub rate_signin_per_minute: u32,
    /// Invite redemptions from one address a minute (`KVO_RATE_REDEEM_PER_MINUTE`).
    pub rate_redeem_per_minute: u32,
    /// Public views read from one address a minute (`KVO_RATE_PUBLIC_PER_MINUTE`).
    pub rate_public_per_minute: u32,
    /// Behind a reverse proxy: take the client's address from the last entry
    /// of `X-Forwarded-For`, which the proxy appends (`KVO_TRUST_FORWARDED_FOR`).
    /// Only when every request comes through that proxy.
    pub trust_forwarded_for: bool,
    /// Hosts the gemeente's Open311 endpoints may be at (`KVO_OPEN311_HOSTS`,
    /// comma-separated; a leading `.` allows subdomains). The server posts
    /// reports there, so none is allowed until the operator lists the
    /// gemeente's (no requests into the local network by default).
    pub open311_hosts: Vec<String>,
    /// The VAPID contact of whoever runs this server (`KVO_PUSH_SUBJECT`), a
    /// `mailto:` or `https:` URL.
    pub push_subject: String,
    /// How long a push sender holds the deliveries it claimed before they are
    /// due again (`KVO_PUSH_LEASE_SECS`): the delay after a crash.
    pub push_lease_secs: u64,
    /// How often an idle push sender looks for retries that came due, in
    /// milliseconds; new events wake it at once (LISTEN/NOTIFY).
    pub push_poll_ms: u64,
    /// The map UI's basemap: an XYZ raster tile URL (`KVO_BASEMAP_URL`;
    /// empty for none). Its origin is the only outside address the
    /// Content-Security-Policy allows.
    pub basemap_url: String,
    /// The basemap's attribution (`KVO_BASEMAP_ATTRIBUTION`).
    pub basemap_attribution: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data_dir: PathBuf::from("var"),
            database_url: None,
            public_url: None,
            map_ui_dir: PathBuf::from("map-ui/dist"),
            area_margin_m: 50.0,
            max_photo_bytes: 15_000_000,
            max_photo_pixels: 40_000_000,
            photo_memory_mb: 1024,
            request_timeout_secs: 30,
            upload_timeout_secs: 120,
            db_pool: 32,
            log_format: LogFormat::Text,
            push_hosts: [
                "fcm.googleapis.com",
                "updates.push.services.mozilla.com",
                "web.push.apple.com",
                ".notify.windows.com",
            ]
            .map(String::from)
            .to_vec(),
            rate_reports_per_minute: 120,
            rate_photos_per_minute: 240,
            rate_signin_per_minute: 60,
            rate_redeem_per_minute: 60,
            rate_public_per_minute: 60,
            trust_forwarded_for: false,
            open311_hosts: vec![],
            push_subject: "mailto:beheer@kvo-meldingen.invalid".into(),
            push_lease_secs: 120,
            push_poll_ms: 500,
            basemap_url:
                "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
                    .into(),
            basemap_attribution: "Kaartgegevens © Kadaster (BRT-Achtergrondkaart)".into(),
        }
    }
}

/// Whether the server may post to `url`, given the hosts an operator
/// allowed (`host`, or `.domain` for its subdomains): a listed host over
/// https, or over http only on loopback. The one rule for every address a
/// user gives the server to call (push services, Open311 endpoints).
pub fn may_call(hosts: &[String], url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let listed = hosts.iter().any(|h| match h.strip_prefix('.') {
        Some(suffix) => host.ends_with(&format!(".{suffix}")),
        None => host == *h,
    });
    let loopback = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host == "localhost";
    listed && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
}

/// The environment variable of a key: `KVO_` and the key in upper case;
/// `database_url` is `DATABASE_URL`, as everywhere else.
pub fn env_name(key: &str) -> String {
    if key == "database_url" { "DATABASE_URL".into() } else { format!("KVO_{}", key.to_uppercase()) }
}

impl Config {
    /// These settings without abuse limits: for benchmarks and tests that
    /// drive one credential flat out.
    pub fn without_rate_limits(self) -> Config {
        Config {
            rate_reports_per_minute: 0,
            rate_photos_per_minute: 0,
            rate_signin_per_minute: 0,
            rate_redeem_per_minute: 0,
            rate_public_per_minute: 0,
            ..self
        }
    }

    /// Loads the file named by `path` or `KVO_CONFIG` (if any), then applies
    /// environment variables.
    pub fn load(path: Option<PathBuf>) -> anyhow::Result<Config> {
        let path = path.or_else(|| std::env::var_os("KVO_CONFIG").map(PathBuf::from));
        let file = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config file {}", p.display()))?
            }
            None => toml::Table::new(),
        };
        Config::from_parts(file, |k| std::env::var(k).ok())
    }

    /// The settings from a file's table with the environment on top.
    fn from_parts(mut table: toml::Table, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let defaults = toml::Table::try_from(Config::default()).context("the defaults serialise")?;
        for key in Config::keys() {
            let name = env_name(&key);
            let Some(raw) = env(&name).filter(|v| !v.trim().is_empty() || key != "database_url") else {
                continue;
            };
            // The environment is text; the default's type says how to read it.
            let value = match defaults.get(&key) {
                Some(toml::Value::Integer(_)) => toml::Value::Integer(
                    raw.trim().parse().with_context(|| format!("{name}={raw} is not a whole number"))?,
                ),
                Some(toml::Value::Float(_)) => toml::Value::Float(
                    raw.trim().parse().with_context(|| format!("{name}={raw} is not a number"))?,
                ),
                Some(toml::Value::Boolean(_)) => toml::Value::Boolean(match raw.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => anyhow::bail!("{name}={raw} is not true or false"),
                }),
                Some(toml::Value::Array(_)) => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(|h| h.to_string().into())
                        .collect(),
                ),
                _ => toml::Value::String(raw),
            };
            table.insert(key, value);
        }
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            anyhow::anyhow!("configuration {key} ({}): {}", env_name(&key), e.inner())
        })
    }

    /// Every key a file may set, in declaration order.
    pub fn keys() -> Vec<String> {
        const OPTIONAL: [&str; 2] = ["database_url", "public_url"];
        let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
        let mut keys: Vec<String> = defaults.keys().cloned().collect();
        keys.extend(OPTIONAL.iter().filter(|k| !defaults.contains_key(**k)).map(|k| k.to_string()));
        keys
    }

    /// The basemap's origin (`https://host[:port]`), if there is a basemap.
    pub fn basemap_origin(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.basemap_url.replace(['{', '}'], "")).ok()?;
        matches!(url.scheme(), "https" | "http").then(|| url.origin().ascii_serialization())
    }

    /// Whether cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// Time limit for ordinary requests.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Time limit for photo uploads.
    pub fn upload_timeout(&self) -> Duration {
        Duration::from_secs(self.upload_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_calls_only_listed_hosts_and_plain_http_only_on_loopback() {
        let hosts = ["meldingen.deventer.nl".to_string(), ".push.example".into(), "127.0.0.1".into()];
        assert!(may_call(&hosts, "https://meldingen.deventer.nl/open311/v2"));
        assert!(!may_call(&hosts, "http://meldingen.deventer.nl/open311/v2"), "plain http outside loopback");
        assert!(may_call(&hosts, "https://eu.push.example/x"));
        assert!(!may_call(&hosts, "https://push.example.evil.nl/x"));
        assert!(may_call(&hosts, "http://127.0.0.1:8080/x"));
        assert!(!may_call(&hosts, "http://10.0.0.1/x"));
        assert!(!may_call(&[], "https://meldingen.deventer.nl/x"), "nothing listed, nothing called");
        assert!(!may_call(&hosts, "geen adres"));
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn env_overrides_file_and_defaults() {
        let file = toml::from_str("area_margin_m = 10.0\nlisten = \"127.0.0.1:7000\"").unwrap();
        let c = Config::from_parts(file, env(&[("KVO_LISTEN", "127.0.0.1:9999")])).unwrap();
        assert_eq!(c.area_margin_m, 10.0);
        assert_eq!(c.listen.port(), 9999);
        let err = Config::from_parts(toml::Table::new(), env(&[("KVO_LISTEN", "nonsense")])).unwrap_err();
        assert!(err.to_string().contains("KVO_LISTEN"), "{err}");
        assert!(Config::from_parts(toml::from_str("typo_field = 1").unwrap(), env(&[])).is_err());
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        assert_eq!(Config::default().log_format, LogFormat::Text);
        let c = Config::from_parts(toml::Table::new(), env(&[("KVO_LOG_FORMAT", "json")])).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(Config::from_parts(toml::Table::new(), env(&[("KVO_LOG_FORMAT", "xml")])).is_err());
        let c: Config = toml::from_str("log_format = \"json\"").unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(toml::from_str::<Config>("log_format = \"xml\"").is_err());
    }

    /// Regression (issue 18): a file written from the README (the environment
    /// names in lower case) was refused for `db_pool`.
    #[test]
    fn every_key_is_its_environment_name_in_lower_case_in_a_file_and_documented() {
        let readme = include_str!("../../README.md");
        let mut file = String::new();
        for key in Config::keys() {
            let name = env_name(&key);
            assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");
            if name != "DATABASE_URL" {
                assert_eq!(name.trim_start_matches("KVO_").to_lowercase(), key);
            }
        }
        // A file with every key, as the README describes it, loads.
        for (key, value) in toml::Table::try_from(Config::default()).unwrap() {
            file.push_str(&format!("{key} = {value}\n"));
        }
        file.push_str(
            "database_url = \"postgres://localhost/kvo\"\npublic_url = \"https://kvo.example.nl\"\n",
        );
        let c = Config::from_parts(toml::from_str(&file).unwrap(), env(&[])).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://kvo.example.nl"));
        let c = Config::from_parts(toml::from_str("db_pool = 7").unwrap(), env(&[])).unwrap();
        assert_eq!(c.db_pool, 7);
        let c = Config::from_parts(toml::from_str("db_pool_size = 6").unwrap(), env(&[])).unwrap();
        assert_eq!(c.db_pool, 6, "the old name is still read");
        // And every key can be set from the environment.
        let c = Config::from_parts(
            toml::Table::new(),
            env(&[
                ("KVO_DB_POOL", "9"),
                ("KVO_MAX_PHOTO_BYTES", "1000"),
                ("KVO_AREA_MARGIN_M", "75"),
                ("KVO_PUSH_HOSTS", "a.example, .b.example"),
                ("DATABASE_URL", ""),
            ]),
        )
        .unwrap();
        assert_eq!((c.db_pool, c.max_photo_bytes, c.area_margin_m), (9, 1000, 75.0));
        assert_eq!(c.push_hosts, ["a.example", ".b.example"]);
        assert_eq!(c.database_url, None, "an empty DATABASE_URL is none");
    }
}
