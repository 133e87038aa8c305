//! Prometheus metrics: request counts and latencies per route, and ingest
//! counters. Written out by hand in the text exposition format; the set is
//! small and fixed, so a metrics framework would add more than it saves.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    incidents_created: AtomicU64,
    incidents_replayed: AtomicU64,
    photos_stored: AtomicU64,
    photo_bytes: AtomicU64,
    tiles_cached: AtomicU64,
    tiles_made: AtomicU64,
}

impl Metrics {
    /// Counts one `POST /incidents`: new, or a replay of a stored one.
    pub fn incident_ingested(&self, new: bool) {
        let c = if new { &self.incidents_created } else { &self.incidents_replayed };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one stored photo.
    pub fn photo_ingested(&self, bytes: u64) {
        self.photos_stored.fetch_add(1, Ordering::Relaxed);
        self.photo_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts one tile: from the cache, or made by PostGIS.
    pub fn tile_served(&self, cached: bool) {
        let c = if cached { &self.tiles_cached } else { &self.tiles_made };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .expect("metrics poisoned")
            .entry((method.into(), route.into(), status))
            .or_default() += 1;
        let mut lat = self.latency.lock().expect("metrics poisoned");
        let h = lat.entry(route.into()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP kvo_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE kvo_http_requests_total counter\n");
        for ((m, r, s), n) in self.requests.lock().expect("metrics poisoned").iter() {
            let _ =
                writeln!(out, "kvo_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}");
        }
        out.push_str("# HELP kvo_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE kvo_http_request_duration_seconds histogram\n");
        for (r, h) in self.latency.lock().expect("metrics poisoned").iter() {
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                let _ =
                    writeln!(out, "kvo_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {c}");
            }
            let _ = writeln!(
                out,
                "kvo_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "kvo_http_request_duration_seconds_sum{{route=\"{r}\"}} {}", h.sum);
            let _ = writeln!(out, "kvo_http_request_duration_seconds_count{{route=\"{r}\"}} {}", h.count);
        }
        let counters = [
            ("kvo_incidents_created_total", "Incidents stored.", &self.incidents_created),
            (
                "kvo_incidents_replayed_total",
                "Incident posts answered from an earlier identical post.",
                &self.incidents_replayed,
            ),
            ("kvo_photos_stored_total", "Photos stored.", &self.photos_stored),
            ("kvo_photo_bytes_total", "Bytes of stored photos.", &self.photo_bytes),
            ("kvo_tiles_cached_total", "Vector tiles served from the cache.", &self.tiles_cached),
            ("kvo_tiles_made_total", "Vector tiles made by PostGIS.", &self.tiles_made),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Middleware that records each request under its route template (never the
/// raw path, which would hold ids).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    metrics.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}
