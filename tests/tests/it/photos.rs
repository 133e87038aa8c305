use std::time::{Duration, Instant};

use kvo_api::{
    Role,
    wire::{Incident, Photo},
};
use kvo_tests::{TestApp, jpeg, report};
use sha2::{Digest, Sha256};
use uuid::Uuid;

fn xmp_segment() -> Vec<u8> {
    let xmp = br#"http://ns.adobe.com/xap/1.0/ <x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>52,15.0887N</exif:GPSLatitude></x:xmpmeta>"#;
    let mut v = xmp.to_vec();
    v[28] = 0;
    segment(0xE1, &v)
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A 64 × 32 JPEG from a phone: EXIF with GPS and an orientation, and XMP.
fn geotagged_jpeg(orientation: u16) -> Vec<u8> {
    let plain = jpeg(64, 32);
    [&plain[..2], &kvo_photo::testing::exif_app1(orientation, 52.2512, 6.1592), &xmp_segment(), &plain[2..]]
        .concat()
}

/// The markers of a JPEG's segments before the scan data.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let mut i = 2;
    let mut markers = vec![];
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let m = bytes[i + 1];
        markers.push(m);
        if m == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    markers
}

async fn incident_with_device(app: &TestApp) -> (Uuid, String) {
    let area = app.area("Binnenstad", kvo_tests::DEVENTER).await;
    let dev = app.device(area, Role::Ondernemer).await;
    let r = report(area);
    assert_eq!(app.post(&dev.token, "/api/v1/incidents", &r).await.status(), 201);
    (r.id, dev.token)
}

#[tokio::test]
async fn stored_photos_carry_no_exif_gps_or_xmp_and_are_upright() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let original = geotagged_jpeg(6);
    assert!(jpeg_markers(&original).contains(&0xE1), "the test input does carry APP1");
    let photo_id = Uuid::new_v4();
    let res = app
        .put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{photo_id}"), original.clone())
        .await;
    assert_eq!(res.status(), 201);
    let photo: Photo = res.json().await.unwrap();
    assert_eq!(photo.upload_sha256, hex::encode(Sha256::digest(&original)));
    // Orientation 6 was applied: 64 × 32 became 32 × 64.
    assert_eq!((photo.width, photo.height), (32, 64));
    assert_no_metadata(&app, &token, &photo).await;
    let stored: Incident =
        app.get(&token, &format!("/api/v1/incidents/{incident}")).await.json().await.unwrap();
    assert_eq!(stored.photos, vec![photo]);
}

#[tokio::test]
async fn an_upright_jpeg_keeps_its_pixels_and_loses_its_metadata() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let original = geotagged_jpeg(1);
    let res = app
        .put_bytes(
            &token,
            &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()),
            original.clone(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let photo: Photo = res.json().await.unwrap();
    assert_eq!((photo.width, photo.height), (64, 32));
    assert_no_metadata(&app, &token, &photo).await;
    let stored = app.get(&token, &photo.url).await.bytes().await.unwrap();
    let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().into_rgb8().into_raw();
    assert_eq!(pixels(&stored), pixels(&original), "kept, not compressed a second time (ADR 0027)");
}

/// Neither the photo nor its thumbnail holds a metadata segment or a trace of one.
async fn assert_no_metadata(app: &TestApp, token: &str, photo: &Photo) {
    for url in [&photo.url, &photo.thumbnail_url] {
        let res = app.get(token, url).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let bytes = res.bytes().await.unwrap().to_vec();
        let markers = jpeg_markers(&bytes);
        assert!(markers.iter().all(|m| !(0xE1..=0xEF).contains(m)), "metadata segment left: {markers:x?}");
        for needle in [b"Exif".as_slice(), b"GPS", b"xmpmeta", b"ns.adobe.com"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} found",
                String::from_utf8_lossy(needle)
            );
        }
        let mut decoder = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap();
        use image::ImageDecoder;
        assert!(decoder.exif_metadata().unwrap().is_none());
    }
}

#[tokio::test]
async fn photo_upload_is_idempotent_and_may_come_later() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let path = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    assert_eq!(app.put_bytes(&token, &path, jpeg(800, 600)).await.status(), 201);
    assert_eq!(app.put_bytes(&token, &path, jpeg(800, 600)).await.status(), 200);
    assert_eq!(app.put_bytes(&token, &path, jpeg(640, 480)).await.status(), 409);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM photos").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 1);
    // Days later, after a restart, a second photo still attaches to the incident.
    let app = app.restart().await;
    let path2 = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    assert_eq!(app.put_bytes(&token, &path2, jpeg(300, 300)).await.status(), 201);
    let stored: Incident =
        app.get(&token, &format!("/api/v1/incidents/{incident}")).await.json().await.unwrap();
    assert_eq!(stored.photos.len(), 2);
}

#[tokio::test]
async fn non_images_are_415_judged_by_content() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let path = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    let res = app
        .client
        .put(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(b"GIF89a\x01\x00\x01\x00 pretending to be a jpeg".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.put_bytes(&token, &path, b"%PDF-1.7 report.pdf".to_vec()).await;
    assert_eq!(res.status(), 415);
    assert_no_files(&app);
}

#[tokio::test]
async fn oversized_uploads_are_413() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let path = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    let mut big = jpeg(16, 16);
    big.resize(15_000_001, 0);
    let res = app.put_bytes(&token, &path, big).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// A PNG of 84 bytes whose header claims 50000 × 50000 pixels (2.5 gigapixels).
fn decompression_bomb() -> Vec<u8> {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let chunk = |png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    };
    let mut ihdr = vec![];
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0,
        ],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_in_milliseconds() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let bomb = decompression_bomb();
    assert_eq!(bomb.len(), 84);
    let path = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    let start = Instant::now();
    let res = app.put_bytes(&token, &path, bomb).await;
    let took = start.elapsed();
    assert_eq!(res.status(), 422);
    let p: kvo_api::wire::Problem = res.json().await.unwrap();
    assert!(p.type_.ends_with("image-too-large"), "{p:?}");
    assert!(p.detail.contains("2500.0 megapixel"), "{}", p.detail);
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_no_files(&app);
}

#[tokio::test]
async fn a_corrupt_image_is_422_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let mut broken = jpeg(200, 200);
    broken.truncate(30);
    let res = app
        .put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()), broken)
        .await;
    assert_eq!(res.status(), 422);
    assert_no_files(&app);
}

/// Regression (issue 17): a JPEG cut off in transit or with corrupted entropy
/// data was stored half grey (201); one claiming 0 × 0 pixels gave a 500.
#[tokio::test]
async fn truncated_corrupted_and_empty_jpegs_are_422_and_a_damaged_upload_is_400() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let good = jpeg(800, 600);
    let sof = good.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut zero = good.clone();
    zero[sof + 5..sof + 9].copy_from_slice(&[0, 0, 0, 0]);
    let mut corrupted = good.clone();
    let mid = corrupted.len() / 2;
    corrupted[mid..mid + 64].fill(0xFF);
    corrupted[mid + 64] = 0xD0;
    let truncated = good[..good.len() * 3 / 4].to_vec();
    for (name, bytes) in [("truncated", truncated), ("corrupted", corrupted), ("0 × 0", zero)] {
        let res = app
            .put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()), bytes)
            .await;
        assert_eq!(res.status(), 422, "{name}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    assert_no_files(&app);

    // Content-Digest (RFC 9530): a body that is not what the client digested is refused, nothing stored.
    let path = format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4());
    let digest = |b: &[u8]| {
        use base64::Engine as _;
        use sha2::Digest as _;
        format!("sha-256=:{}:", base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b)))
    };
    let put = |body: Vec<u8>, header: String| {
        let (app, path, token) = (&app, &path, &token);
        async move {
            app.client
                .put(app.url(path))
                .bearer_auth(token)
                .header("content-digest", header)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let mut damaged = good.clone();
    damaged[mid] ^= 0x01;
    let res = put(damaged, digest(&good)).await;
    assert_eq!(res.status(), 400);
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(p["field"], "Content-Digest", "{p}");
    assert_no_files(&app);
    assert_eq!(put(good.clone(), "sha-256=:bm9wZQ==:".into()).await.status(), 400, "malformed");
    // Sent again intact: stored.
    assert_eq!(put(good.clone(), digest(&good)).await.status(), 201);
}

/// No blob was written (the store's temp folder aside).
fn assert_no_files(app: &TestApp) {
    let root = app.data_dir.path().join("photos");
    let files: Vec<_> = walk(&root).into_iter().filter(|p| !p.starts_with(root.join("tmp"))).collect();
    assert!(files.is_empty(), "orphan files: {files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn the_sweep_removes_only_old_unreferenced_blobs() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let res = app
        .put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()), jpeg(300, 200))
        .await;
    let kept: Photo = res.json().await.unwrap();
    // A crash between writing a blob and committing its row leaves this behind.
    let state = kvo_server::AppState::new(app.pool.clone(), app.config.clone()).unwrap();
    let orphan = state.photos.store.put(b"half an upload").unwrap();
    let fresh_orphan = state.photos.store.put(b"an upload still under way").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(7200);
    let root = app.data_dir.path().join("photos");
    for key in [&orphan, &kept.sha256] {
        let path = root.join(&key[0..2]).join(&key[2..4]).join(key);
        std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
    }
    let deleted = kvo_server::photos::sweep_orphans(&state.photos, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(deleted, 1);
    assert!(state.photos.store.get(&orphan).unwrap().is_none());
    assert!(state.photos.store.get(&fresh_orphan).unwrap().is_some(), "too young to judge");
    assert!(state.photos.store.get(&kept.sha256).unwrap().is_some());
    assert_eq!(app.get(&token, &kept.url).await.status(), 200);
}

/// Issue 18: a PNG's text and EXIF chunks (a name, a GPS position) are not stored either.
#[tokio::test]
async fn png_text_and_exif_chunks_are_not_stored() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let img = image::RgbImage::from_fn(48, 32, |x, y| image::Rgb([(x * 5) as u8, (y * 7) as u8, 90]));
    let mut png = vec![];
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    // Before IEND (the last 12 bytes): a tEXt chunk and an eXIf chunk with a GPS tag's marker text.
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    };
    let iend = png.split_off(png.len() - 12);
    png.extend(chunk(b"tEXt", b"Author\0Jan de Vries, Brink 12"));
    png.extend(chunk(b"eXIf", b"MM\0\x2A\0\0\0\x08GPSLatitude 52.2512"));
    png.extend(iend);
    let res =
        app.put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()), png).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let photo: Photo = res.json().await.unwrap();
    for url in [&photo.url, &photo.thumbnail_url] {
        let bytes = app.get(&token, url).await.bytes().await.unwrap().to_vec();
        for needle in [b"Jan de Vries".as_slice(), b"tEXt", b"eXIf", b"GPSLatitude"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} in {url}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}

/// Issue 18: a WebP's EXIF chunk (VP8X container) is not stored either; it is stored as a JPEG.
#[tokio::test]
async fn webp_exif_is_not_stored() {
    let app = TestApp::spawn().await;
    let (incident, token) = incident_with_device(&app).await;
    let (w, h) = (40u32, 30u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, 120]));
    let mut plain = vec![];
    image::codecs::webp::WebPEncoder::new_lossless(&mut plain)
        .encode(&img, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    assert_eq!(&plain[12..16], b"VP8L");
    // RIFF / WEBP / VP8X (flag: EXIF) / the image / EXIF with a GPS tag's text.
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend_from_slice(&plain[12..]);
    body.extend(chunk(b"EXIF", b"MM\0\x2A\0\0\0\x08GPSLatitude 52.2512 Jan de Vries"));
    let mut webp = b"RIFF".to_vec();
    webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
    webp.extend(body);
    assert!(image::load_from_memory(&webp).is_ok(), "a valid WebP");
    let res =
        app.put_bytes(&token, &format!("/api/v1/incidents/{incident}/photos/{}", Uuid::new_v4()), webp).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let photo: Photo = res.json().await.unwrap();
    assert_eq!(photo.content_type, "image/jpeg");
    for url in [&photo.url, &photo.thumbnail_url] {
        let bytes = app.get(&token, url).await.bytes().await.unwrap().to_vec();
        for needle in [b"Jan de Vries".as_slice(), b"GPSLatitude", b"EXIF", b"Exif"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} in {url}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}
