//! `kvo bench soak`: a `kvo serve` of its own (a child process on a private
//! data directory) under 200 concurrent clients for 5 minutes — phones
//! reporting (some with a photo), the werkgroep reading the map and the
//! analysis and commenting, a guard listing — with p50/p99 per endpoint, the
//! errors (there must be none), and the server's resident memory every 10 s
//! (it must level off after the warm-up).

use std::{
    collections::BTreeMap,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use uuid::Uuid;

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct SoakBench {
    pub clients: usize,
    pub seconds: u64,
}

const AREA: &str = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.245],[6.165,52.255],[6.155,52.255],[6.155,52.245]]]}"#;

#[derive(Default)]
struct Tally {
    times: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<String, usize>,
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(b: SoakBench) -> anyhow::Result<()> {
    // Six in ten clients share one shop invite, which takes 500 uses at most.
    anyhow::ensure!(b.clients <= 830, "at most 830 clients (an invite takes at most 500 uses)");
    let tmp = tempfile::tempdir()?;
    // The private cluster runs as postgres when we are root.
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let exe = std::env::current_exe()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let env = [
        ("KVO_DATA_DIR", tmp.path().join("data").display().to_string()),
        ("KVO_LISTEN", format!("127.0.0.1:{port}")),
        // The server's capacity is measured, not its abuse limits.
        ("KVO_RATE_REPORTS_PER_MINUTE", "0".into()),
        ("KVO_RATE_PHOTOS_PER_MINUTE", "0".into()),
        ("KVO_RATE_SIGNIN_PER_MINUTE", "0".into()),
        ("KVO_RATE_REDEEM_PER_MINUTE", "0".into()),
        ("RUST_LOG", "warn".to_string()),
    ];
    let kvo = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(&exe).args(args).envs(env.iter().cloned()).output()?;
        anyhow::ensure!(out.status.success(), "kvo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    };
    let boundary = tmp.path().join("gebied.geojson");
    std::fs::write(&boundary, AREA)?;
    let area: Uuid = kvo(&[
        "area",
        "create",
        "--name",
        "Soak",
        "--kind",
        "kvo-w",
        "--boundary",
        &boundary.display().to_string(),
    ])?
    .parse()?;
    let code = |role: &str| -> anyhow::Result<String> {
        let out = kvo(&["invite", "create", "--area", &area.to_string(), "--role", role, "--uses", "500"])?;
        Ok(out.split_whitespace().next().unwrap_or_default().to_string())
    };
    let (shop_code, werkgroep_code, guard_code) =
        (code("ondernemer")?, code("werkgroep")?, code("beveiliger")?);
    let mut server =
        Command::new(&exe).arg("serve").envs(env.iter().cloned()).stdout(Stdio::null()).spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(b.clients)
        .timeout(Duration::from_secs(60))
        .build()?;
    let started = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.map_or(true, |r| !r.status().is_success()) {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(180), "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid = server.id();
    let redeem = |code: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let v: serde_json::Value = http
                .post(format!("{base}/api/v1/devices/redeem"))
                .json(&serde_json::json!({"code": code, "display_name": "soak"}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(v["token"].as_str().unwrap_or_default().to_string())
        }
    };
    let mut people = vec![];
    for i in 0..b.clients {
        // Of every ten clients: six shops, three werkgroep members, one guard.
        let (role, c) = match i % 10 {
            0..=5 => ("ondernemer", &shop_code),
            6..=8 => ("werkgroep", &werkgroep_code),
            _ => ("beveiliger", &guard_code),
        };
        people.push((role, redeem(c.clone()).await?));
    }
    println!(
        "soak: {} clients ({} shops, {} werkgroep, {} guards) for {} s against one `kvo serve` (pid {pid}), {} cores",
        b.clients,
        people.iter().filter(|p| p.0 == "ondernemer").count(),
        people.iter().filter(|p| p.0 == "werkgroep").count(),
        people.iter().filter(|p| p.0 == "beveiliger").count(),
        b.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let photo = Arc::new(super::bench_photo());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(b.seconds);
    let mut tasks = vec![];
    for (n, (role, token)) in people.into_iter().enumerate() {
        let (http, base, photo, tally, ids) =
            (http.clone(), base.clone(), photo.clone(), tally.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(n as u64);
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_800))).await;
                let step = one_step(&http, &base, area, role, &token, &photo, &ids, &mut rng).await;
                let mut t = tally.lock().expect("tally");
                for (what, result) in step {
                    match result {
                        Ok(d) => t.times.entry(what).or_default().push(d),
                        Err(e) => *t.errors.entry(format!("{what}: {e}")).or_default() += 1,
                    }
                }
            }
        }));
    }
    // Resident memory every 10 s while the clients run.
    let mut samples = vec![(0u64, rss_mb(pid))];
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    while Instant::now() < deadline {
        tick.tick().await;
        samples.push((samples.len() as u64 * 10, rss_mb(pid)));
    }
    for t in tasks {
        t.await?;
    }
    let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
    let _ = server.wait();

    let t = tally.lock().expect("tally");
    let total: usize = t.times.values().map(Vec::len).sum();
    println!("  {total} requests, {:.0}/s", total as f64 / b.seconds as f64);
    for (what, times) in &t.times {
        let mut v = times.clone();
        v.sort();
        let pct = |p: f64| v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1)].as_secs_f64() * 1e3;
        println!(
            "    {what:<34} {:>7} requests   p50 {:>8.1} ms   p99 {:>8.1} ms",
            v.len(),
            pct(0.5),
            pct(0.99)
        );
    }
    let errors: usize = t.errors.values().sum();
    println!("  errors: {errors} (must be 0)");
    for (e, n) in &t.errors {
        println!("    {n} × {e}");
    }
    println!(
        "  server resident memory (MB) every 10 s: {}",
        samples.iter().map(|(_, mb)| format!("{mb:.0}")).collect::<Vec<_>>().join(" ")
    );
    let warm: Vec<f64> = samples.iter().filter(|(s, _)| *s >= 60).map(|(_, mb)| *mb).collect();
    if let (Some(first), Some(last)) = (warm.first(), warm.last()) {
        let max = warm.iter().cloned().fold(0.0, f64::max);
        println!(
            "  after the first minute: {first:.0} → {last:.0} MB ({:+.1} %), highest {max:.0} MB",
            100.0 * (last - first) / first
        );
    }
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(())
}

/// The tile at zoom `z` that holds a point.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

type Step = Vec<(&'static str, Result<Duration, String>)>;

/// One thing a client does, by its role; the timings of its requests.
#[allow(clippy::too_many_arguments)]
async fn one_step(
    http: &reqwest::Client,
    base: &str,
    area: Uuid,
    role: &str,
    token: &str,
    photo: &[u8],
    ids: &Mutex<Vec<Uuid>>,
    rng: &mut StdRng,
) -> Step {
    let timed = |what: &'static str, req: reqwest::RequestBuilder| async move {
        let t = Instant::now();
        let result = match req.send().await {
            Ok(res) if res.status().is_success() => {
                res.bytes().await.map(|_| t.elapsed()).map_err(|e| e.to_string())
            }
            Ok(res) => Err(format!("{} {}", res.status(), res.text().await.unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        };
        (what, result)
    };
    let mut out = vec![];
    let r: f64 = rng.random();
    match role {
        "ondernemer" | "beveiliger" if role == "ondernemer" || r < 0.5 => {
            let mut report = super::report(area);
            report.category =
                ["diefstal", "vandalisme", "zwerfvuil", "graffiti"][rng.random_range(0..4)].into();
            let post = http.post(format!("{base}/api/v1/incidents")).bearer_auth(token).json(&report);
            out.push(timed("POST /incidents", post).await);
            if out[0].1.is_ok() {
                ids.lock().expect("ids").push(report.id);
                if rng.random::<f64>() < 0.15 {
                    let put = http
                        .put(format!("{base}/api/v1/incidents/{}/photos/{}", report.id, Uuid::new_v4()))
                        .bearer_auth(token)
                        .body(photo.to_vec());
                    out.push(timed("PUT photo (1600 px)", put).await);
                }
            }
        }
        "beveiliger" => {
            let get =
                http.get(format!("{base}/api/v1/incidents?area_id={area}&limit=100")).bearer_auth(token);
            out.push(timed("GET /incidents", get).await);
        }
        _ => {
            let q = ["", "&theme=criminaliteit", "&dimension=schoon", "&status=nieuw,in_behandeling"]
                [rng.random_range(0..4)];
            if r < 0.45 {
                let zoom = rng.random_range(13..17);
                let get = http
                    .get(format!("{base}/api/v1/areas/{area}/heatmap?shape=points&zoom={zoom}{q}"))
                    .bearer_auth(token);
                out.push(timed("GET heatmap", get).await);
            } else if r < 0.65 {
                let get = http
                    .get(format!("{base}/api/v1/areas/{area}/analysis?{}", &q.trim_start_matches('&')))
                    .bearer_auth(token);
                out.push(timed("GET analysis", get).await);
            } else if r < 0.8 {
                let (x, y) = tile_of(rng.random_range(6.155..6.165), rng.random_range(52.245..52.255), 16);
                let get = http.get(format!("{base}/api/v1/areas/{area}/tiles/16/{x}/{y}")).bearer_auth(token);
                out.push(timed("GET tile (z16)", get).await);
            } else {
                let id = {
                    let ids = ids.lock().expect("ids");
                    (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())])
                };
                if let Some(id) = id {
                    let get = http.get(format!("{base}/api/v1/incidents/{id}/follow-up")).bearer_auth(token);
                    out.push(timed("GET follow-up", get).await);
                    let post =
                        http.post(format!("{base}/api/v1/incidents/{id}/comments")).bearer_auth(token).json(
                            &serde_json::json!({"body": "Besproken in het overleg; gemeente gaat kijken."}),
                        );
                    out.push(timed("POST comment", post).await);
                }
            }
        }
    }
    out
}
