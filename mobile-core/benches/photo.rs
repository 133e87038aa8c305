//! Photo preparation of a 12-megapixel JPEG to 1600 px on one core: time and
//! peak heap, for the fast path and for the straightforward `image`-crate path.
//! `cargo bench -p mobile-core --bench photo`
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use mobile_core::photo;

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwards to the system allocator with the same layout.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A 4000 × 3000 photo-like JPEG (gradients with fine noise, quality 90).
fn twelve_megapixels() -> Vec<u8> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x0F) as u32;
        image::Rgb([((x / 16 + n) % 256) as u8, ((y / 12 + n) % 256) as u8, (((x + y) / 28 + n) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

fn measure(name: &str, runs: usize, f: &dyn Fn() -> usize) {
    let _ = f();
    let mut times = vec![];
    let mut peak = 0;
    let mut size = 0;
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        size = f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{name:<46} median {:>7.1} ms   min {:>7.1} ms   peak heap {:>6.1} MB   output {} KB",
        times[times.len() / 2],
        times[0],
        peak as f64 / 1e6,
        size / 1024
    );
}

fn main() {
    let original = twelve_megapixels();
    // `./do bench melden` prepares the same file in Chromium's worker, in the same run.
    if let Ok(path) = std::env::var("KVO_BENCH_PHOTO_OUT") {
        std::fs::write(&path, &original).unwrap();
    }
    println!("photo preparation, 12 MP JPEG ({} KB) to 1600 px, one thread", original.len() / 1024);
    measure("fast: DCT-scaled decode + SIMD resize", 15, &|| photo::prepare(&original).unwrap().jpeg.len());
    breakdown(&original);
    measure("naive: image decode + Lanczos3 + image JPEG", 5, &|| {
        photo::prepare_naive(&original).unwrap().len()
    });
    println!("targets: fast path ≤ 60 ms and ≤ 100 MB peak");
}

/// What bounds the fast path: libjpeg-turbo's entropy decoding inside the DCT-scaled decode.
fn breakdown(original: &[u8]) {
    let t = Instant::now();
    let d = kvo_photo::decode(original, photo::MAX_PIXELS, Some(photo::MAX_SIDE)).unwrap();
    println!(
        "  of which the DCT-scaled decode to {}x{}: {:.1} ms",
        d.rgb.width(),
        d.rgb.height(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
