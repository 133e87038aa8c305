//! Every `kvo` administration command, run as an administrator would: the
//! binary on a fresh data directory (so on its own embedded PostGIS), and
//! then `kvo serve` on that directory shows what the commands did. Bad input
//! is a clear message and a non-zero exit, never a panic.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // test code

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BOUNDARY: &str = r#"{"type":"Polygon","coordinates":[[[6.155,52.245],[6.165,52.245],[6.165,52.255],[6.155,52.255],[6.155,52.245]]]}"#;
const ZONE: &str = r#"{"type":"Polygon","coordinates":[[[6.157,52.247],[6.160,52.247],[6.160,52.250],[6.157,52.250],[6.157,52.247]]]}"#;
const QUESTIONS: &str = r#"[{"code":"camera","kind":"yes_no","label_nl":"Hangt er een camera?","label_en":"Is there a camera?"}]"#;

fn kvo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvo"))
        .args(args)
        .env("KVO_DATA_DIR", data)
        .env("KVO_PASSWORD", "een lang genoeg wachtwoord")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

/// Runs a command that must succeed; returns its standard output.
fn ok(data: &Path, args: &[&str]) -> String {
    let out = kvo(data, args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kvo {args:?} failed:\n{stdout}\n{stderr}");
    stdout.trim().to_string()
}

/// Runs a command that must fail; returns its standard error.
fn refused(data: &Path, args: &[&str]) -> String {
    let out = kvo(data, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "kvo {args:?} should fail cleanly:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        // SIGTERM: the server shuts down and stops its cluster.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

async fn serve(data: &Path) -> (Serving, String) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_kvo"))
        .arg("serve")
        .env("KVO_DATA_DIR", data)
        .env("KVO_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while !reqwest::get(format!("{url}/readyz")).await.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
        assert!(started.elapsed() < Duration::from_secs(60), "kvo serve did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Serving(child), url)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn every_administration_command_does_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().to_string()
    };
    let (boundary, zone, questions) =
        (file("gebied.geojson", BOUNDARY), file("zone.geojson", ZONE), file("vragen.json", QUESTIONS));

    let area = ok(
        &data,
        &[
            "area",
            "create",
            "--name",
            "Binnenstad Test",
            "--kind",
            "kvo-w",
            "--boundary",
            &boundary,
            "--municipality",
            "Deventer",
        ],
    );
    let area_id: uuid::Uuid = area.parse().unwrap();
    let zone_id: uuid::Uuid =
        ok(&data, &["zone", "add", "--area", &area, "--name", "Brink", "--geometry", &zone]).parse().unwrap();
    ok(&data, &["area", "baseline", &area, "--from", "2025-01-01", "--to", "2025-12-31"]);
    ok(&data, &["category", "disable", "--area", &area, "graffiti"]);
    ok(&data, &["category", "disable", "--area", &area, "zwerfvuil"]);
    ok(&data, &["category", "enable", "--area", &area, "zwerfvuil"]);
    ok(&data, &["category", "questions", "--area", &area, "kapotte_verlichting", &questions]);
    let qr = dir.path().join("uitnodiging.svg");
    let invite = ok(
        &data,
        &[
            "invite",
            "create",
            "--area",
            &area,
            "--role",
            "ondernemer",
            "--uses",
            "2",
            "--days",
            "3",
            "--qr",
            qr.to_str().unwrap(),
        ],
    );
    let code = invite.split_whitespace().next().unwrap().to_string();
    assert!(invite.contains("/melden/#code="), "{invite}");
    assert!(std::fs::read_to_string(&qr).unwrap().contains("<svg"), "the QR code is an SVG");
    ok(
        &data,
        &[
            "user",
            "create",
            "--area",
            &area,
            "--role",
            "werkgroep",
            "--email",
            "lid@example.nl",
            "--name",
            "Lid",
        ],
    );
    let checkpoint = ok(
        &data,
        &["checkpoint", "add", "--area", &area, "--name", "Brink", "--lat", "52.25", "--lon", "6.16"],
    );
    let (tag, checkpoint_id) = checkpoint.split_once(' ').unwrap();
    assert!(tag.starts_with("CP-") && tag.len() == 12, "{checkpoint}");
    let agree = |from: &str, to: &str, rounds: &str| {
        let args = ["round", "agree", "--area", &area, "--name", "Nacht", "--from", from, "--to", to];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["--rounds", rounds, "--checkpoint", checkpoint_id].map(String::from));
        args
    };
    let args = agree("22:00", "06:00", "3");
    let agreement: uuid::Uuid =
        ok(&data, &args.iter().map(String::as_str).collect::<Vec<_>>()).parse().unwrap();
    let args = agree("05:00", "07:00", "1");
    let e = refused(&data, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("overlaps agreement \"Nacht\""), "{e}");
    let args = agree("08:00", "09:00", "3");
    let e = refused(&data, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("need 180 minutes; the window has 60"), "{e}");
    let e = refused(
        &data,
        &["checkpoint", "add", "--area", &area, "--name", "Ver", "--lat", "52.0", "--lon", "5.0"],
    );
    assert!(e.contains("outside the area"), "{e}");
    let lamps = file("lichtmasten.csv", "nummer;lat;lon\n0412;52,2470;6,1580\nU-1;52,1;5,07\n");
    let imported = ok(&data, &["register", "import", "--area", &area, "--kind", "lichtmast", &lamps]);
    assert!(imported.starts_with("1 nieuw") && imported.contains("1 buiten het gebied"), "{imported}");
    let streets = file(
        "straten.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"straatnaam":"Brink"},
            "geometry":{"type":"LineString","coordinates":[[6.156,52.2471],[6.164,52.2471]]}}]}"#,
    );
    let imported = ok(&data, &["streets", "import", "--area", &area, &streets]);
    assert!(imported.starts_with("1 straten"), "{imported}");
    let twice = file("dubbel.csv", "id,lat,lon\nA,52.25,6.16\nA,52.251,6.16\n");
    let e = refused(&data, &["register", "import", "--area", &area, "--kind", "lichtmast", &twice]);
    assert!(e.contains("appears twice") && e.contains("rows 2 and 3"), "{e}");
    let usage = kvo(&data, &["register", "import", "--area", &area, "--kind", "brievenbus", &twice]);
    let e = String::from_utf8_lossy(&usage.stderr);
    assert_eq!(usage.status.code(), Some(2), "a usage error: {e}");
    assert!(e.contains("brievenbus") && e.contains("lichtmast"), "{e}");
    let seeded = ok(&data, &["demo", "seed", "--scale", "0.02"]);
    assert!(seeded.contains("meldingen"), "{seeded}");
    ok(&data, &["rebuild-rollup"]);
    let list = ok(&data, &["area", "list"]);
    assert!(list.lines().any(|l| l.starts_with(&area) && l.contains("Binnenstad Test")), "{list}");
    assert_eq!(list.lines().count(), 3, "the area and the two demo areas:\n{list}");
    let openapi = json(&ok(&data, &["openapi"]));
    assert!(openapi["paths"]["/api/v1/incidents"].is_object());
    // Piped into a reader that stops early (`kvo openapi | head`): no panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvo"))
        .arg("openapi")
        .env("KVO_DATA_DIR", &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", done.status);

    // Bad input: a clear message, exit code 1, nothing half done.
    let not_polygon = file("punt.geojson", r#"{"type":"Point","coordinates":[6.16,52.25]}"#);
    let e =
        refused(&data, &["area", "create", "--name", "Fout", "--kind", "kvo-b", "--boundary", &not_polygon]);
    assert!(e.to_lowercase().contains("polygon"), "{e}");
    let e = refused(&data, &["area", "baseline", &area, "--from", "2025-12-31", "--to", "2025-01-01"]);
    assert!(e.contains("starts after it ends"), "{e}");
    let e = refused(&data, &["category", "enable", "--area", &area, "bestaat-niet"]);
    assert!(e.contains("bestaat-niet"), "{e}");
    refused(
        &data,
        &[
            "user",
            "create",
            "--area",
            &area,
            "--role",
            "werkgroep",
            "--email",
            "x@example.nl",
            "--name",
            "X",
            "--password",
            "kort",
        ],
    );
    assert_eq!(ok(&data, &["area", "list"]).lines().count(), 3);

    // What the commands did, as the server shows it.
    let (_server, url) = serve(&data).await;
    let http = reqwest::Client::new();
    let redeemed = http
        .post(format!("{url}/api/v1/devices/redeem"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "code": code }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), 201);
    let token = json(&redeemed.text().await.unwrap())["token"].as_str().unwrap().to_string();
    let get = |path: String| {
        let req = http.get(format!("{url}{path}")).bearer_auth(&token);
        async move { json(&req.send().await.unwrap().text().await.unwrap()) }
    };
    let a = get(format!("/api/v1/areas/{area_id}")).await;
    assert_eq!((a["name"].as_str(), a["municipality"].as_str()), (Some("Binnenstad Test"), Some("Deventer")));
    assert_eq!(
        (a["baseline_from"].as_str(), a["baseline_to"].as_str()),
        (Some("2025-01-01"), Some("2025-12-31"))
    );
    assert_eq!(a["zones"][0]["id"].as_str(), Some(zone_id.to_string().as_str()));
    let cats = get(format!("/api/v1/areas/{area_id}/categories")).await;
    let codes: Vec<&str> =
        cats["categories"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert!(!codes.contains(&"graffiti") && codes.contains(&"zwerfvuil"), "{codes:?}");
    let assets = get(format!("/api/v1/areas/{area_id}/assets")).await;
    assert_eq!(assets[0]["external_id"].as_str(), Some("0412"));
    assert_eq!(assets[0]["street"].as_str(), Some("Brink"), "named by the imported street");
    assert_eq!(assets.as_array().unwrap().len(), 1, "the one in the area");
    let light =
        cats["categories"].as_array().unwrap().iter().find(|c| c["code"] == "kapotte_verlichting").unwrap();
    assert_eq!(light["questions"][0]["code"].as_str(), Some("camera"));
    let login = http
        .post(format!("{url}/api/v1/session"))
        .header("content-type", "application/json")
        .body(r#"{"email":"lid@example.nl","password":"een lang genoeg wachtwoord"}"#)
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "the web user signs in: {}", login.status());
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let agreements: Vec<kvo_api::rounds::RoundAgreement> = http
        .get(format!("{url}/api/v1/areas/{area_id}/round-agreements"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        agreements.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![agreement],
        "one agreement, the first"
    );
    assert_eq!(agreements[0].terms.checkpoints[0].to_string(), checkpoint_id);
}
