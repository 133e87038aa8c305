//! Configuration: defaults that need nothing, then an optional TOML file,
//! then environment variables (which win).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use serde::Deserialize;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

/// The server's settings. Every field has a default.
#[derive(Debug, Clone, Deserialize)]
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
    /// Largest accepted photo upload, in bytes.
    pub max_photo_bytes: usize,
    /// Largest accepted photo, in pixels.
    pub max_photo_pixels: u64,
    /// Time limit for ordinary requests, in seconds.
    pub request_timeout_secs: u64,
    /// Time limit for photo uploads (slow mobile networks), in seconds.
    pub upload_timeout_secs: u64,
    /// Database connections in the pool (`KVO_DB_POOL`).
    pub db_pool_size: u32,
    /// `text` or `json` log lines (`KVO_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Hosts push subscriptions may point at (`KVO_PUSH_HOSTS`, comma-separated;
    /// a leading `.` allows subdomains): the browsers' push services. The
    /// server posts to these, so anything else is refused (no requests into
    /// the local network). Plain `http` is accepted only for loopback hosts.
    pub push_hosts: Vec<String>,
    /// The VAPID contact of whoever runs this server (`KVO_PUSH_SUBJECT`), a
    /// `mailto:` or `https:` URL.
    pub push_subject: String,
    /// How long a push sender holds the deliveries it claimed before they are
    /// due again (`KVO_PUSH_LEASE_SECS`): the delay after a crash.
    pub push_lease_secs: u64,
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
            request_timeout_secs: 30,
            upload_timeout_secs: 120,
            db_pool_size: 32,
            log_format: LogFormat::Text,
            push_hosts: [
                "fcm.googleapis.com",
                "updates.push.services.mozilla.com",
                "web.push.apple.com",
                ".notify.windows.com",
            ]
            .map(String::from)
            .to_vec(),
            push_subject: "mailto:beheer@kvo-meldingen.invalid".into(),
            push_lease_secs: 120,
            basemap_url:
                "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
                    .into(),
            basemap_attribution: "Kaartgegevens © Kadaster (BRT-Achtergrondkaart)".into(),
        }
    }
}

impl Config {
    /// Loads the file named by `path` or `KVO_CONFIG` (if any), then applies
    /// environment variables.
    pub fn load(path: Option<PathBuf>) -> anyhow::Result<Config> {
        let path = path.or_else(|| std::env::var_os("KVO_CONFIG").map(PathBuf::from));
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config file {}", p.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("KVO_LISTEN") {
            self.listen = v.parse().with_context(|| format!("KVO_LISTEN={v} is not an address"))?;
        }
        if let Some(v) = get("KVO_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = Some(v);
        }
        if let Some(v) = get("KVO_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("KVO_MAP_UI_DIR") {
            self.map_ui_dir = v.into();
        }
        if let Some(v) = get("KVO_AREA_MARGIN_M") {
            self.area_margin_m = v.parse().with_context(|| format!("KVO_AREA_MARGIN_M={v}"))?;
        }
        if let Some(v) = get("KVO_DB_POOL") {
            self.db_pool_size = v.parse().with_context(|| format!("KVO_DB_POOL={v}"))?;
        }
        if let Some(v) = get("KVO_LOG_FORMAT") {
            self.log_format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => anyhow::bail!("KVO_LOG_FORMAT={v}: use text or json"),
            };
        }
        if let Some(v) = get("KVO_PUSH_HOSTS") {
            self.push_hosts =
                v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        }
        if let Some(v) = get("KVO_PUSH_SUBJECT") {
            self.push_subject = v;
        }
        if let Some(v) = get("KVO_BASEMAP_URL") {
            self.basemap_url = v;
        }
        if let Some(v) = get("KVO_BASEMAP_ATTRIBUTION") {
            self.basemap_attribution = v;
        }
        if let Some(v) = get("KVO_PUSH_LEASE_SECS") {
            self.push_lease_secs = v.parse().with_context(|| format!("KVO_PUSH_LEASE_SECS={v}"))?;
        }
        Ok(())
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
    fn env_overrides_file_and_defaults() {
        let mut c: Config = toml::from_str("area_margin_m = 10.0").unwrap();
        assert_eq!(c.area_margin_m, 10.0);
        assert_eq!(c.listen.port(), 8080);
        c.apply_env(|k| (k == "KVO_LISTEN").then(|| "127.0.0.1:9999".to_string())).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert!(c.apply_env(|k| (k == "KVO_LISTEN").then(|| "nonsense".into())).is_err());
        assert!(toml::from_str::<Config>("typo_field = 1").is_err());
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        let mut c = Config::default();
        assert_eq!(c.log_format, LogFormat::Text);
        c.apply_env(|k| (k == "KVO_LOG_FORMAT").then(|| "json".to_string())).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.apply_env(|k| (k == "KVO_LOG_FORMAT").then(|| "xml".to_string())).is_err());
        let c: Config = toml::from_str("log_format = \"json\"").unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(toml::from_str::<Config>("log_format = \"xml\"").is_err());
    }
}
