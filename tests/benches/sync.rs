//! Sync of 1,000 queued reports, each with a photo, from mobile-core to the
//! real server on loopback (in this process, on a private PostGIS).
//! `cargo bench -p kvo-tests --bench sync`
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

use std::time::{Instant, SystemTime};

use kvo_api::Role;
use kvo_tests::TestApp;
use mobile_core::{GeoFix, KvoClient, ReportDraft};

const REPORTS: usize = 1_000;

fn photo(i: usize) -> Vec<u8> {
    let i = i as u32;
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([((x / 7 + i) % 256) as u8, ((y / 5) % 256) as u8, (((x ^ y) / 3 + i * 7) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    out
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let invite = kvo_server::admin::on_server::invite(&app.pool, area, Role::Ondernemer).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = app.url("");
    let data = dir.path().to_string_lossy().to_string();

    let (client, queued) = tokio::task::spawn_blocking(move || {
        let client = KvoClient::open_for_tests(data, url).unwrap();
        client.redeem_invite(invite, Some("bench".into()), None).unwrap();
        let t = Instant::now();
        let mut bytes = 0;
        for i in 0..REPORTS {
            let draft = ReportDraft {
                category: "diefstal".into(),
                location: Some(GeoFix {
                    lat: 52.246 + (i % 40) as f64 * 1e-4,
                    lon: 6.156,
                    accuracy_m: Some(8.0),
                }),
                occurred_at: SystemTime::now() - std::time::Duration::from_secs(60),
                description: Some(format!("Melding {i}")),
                answers: Default::default(),
                anonymous: false,
                asset_id: None,
            };
            let r = client.create_report(draft).unwrap();
            bytes += client.attach_photo(r.id, photo(i % 50)).unwrap().photo.bytes;
        }
        println!(
            "queued {REPORTS} reports with a photo each offline in {:.1} s ({} MB of prepared photos)",
            t.elapsed().as_secs_f64(),
            bytes / 1_000_000
        );
        (client, bytes)
    })
    .await
    .unwrap();

    let (elapsed, state) = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let state = client.sync(600_000, None).unwrap();
        (t.elapsed(), state)
    })
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(&app.pool).await.unwrap();
    let p: i64 = sqlx::query_scalar("SELECT count(*) FROM photos").fetch_one(&app.pool).await.unwrap();
    println!(
        "sync of {REPORTS} reports + {REPORTS} photos to a server on loopback: {:.1} s ({:.0} requests/s, {:.1} MB/s); server holds {n} incidents, {p} photos; {} wedged",
        elapsed.as_secs_f64(),
        (state.sent as f64) / elapsed.as_secs_f64(),
        queued as f64 / 1e6 / elapsed.as_secs_f64(),
        state.wedged
    );
    println!("target: ≤ 15 s");
}
