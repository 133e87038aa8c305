//! Photo codecs shared by the server and mobile-core.
//!
//! - The format is judged by magic bytes only (JPEG, PNG, WebP).
//! - The pixel count is read from the header and checked before any pixel is
//!   decoded; the `image` decoders also run under `image::Limits`.
//! - JPEG goes through libjpeg-turbo (via mozjpeg): it can decode at a reduced
//!   DCT scale (n/8), which is how a 12-megapixel photo becomes 1600 px without
//!   ever being decoded at full size.
//! - A JPEG is decoded strictly: libjpeg's warnings (premature end, corrupt
//!   entropy data) are errors, so a photo cut off in transit is refused, not
//!   stored half grey. Its errors unwind out of C and are caught here.
//! - Encoding writes a baseline JPEG (or PNG) from pixels: no EXIF, GPS or XMP
//!   can survive, only a JFIF header precedes the image.
//! - `strip_jpeg` rebuilds a plain JPEG from its tables and scan alone, so a
//!   photo that needs no turning keeps its pixels without its metadata.

use std::io::Cursor;

mod strip;
pub use strip::strip_jpeg;

use fast_image_resize as fr;
use image::{ImageDecoder, RgbImage};

/// Why bytes are not a usable photo.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    #[error("not a JPEG, PNG or WebP image")]
    Unsupported,
    #[error("the image has {megapixels:.0} megapixels, more than supported")]
    TooLarge { megapixels: f64 },
    #[error("the image is corrupt or incomplete")]
    Corrupt,
}

/// The accepted formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

/// The format by its magic bytes; names and declared types do not count.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Format::WebP),
        _ => None,
    }
}

/// What the EXIF block says that matters here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExifFacts {
    /// EXIF orientation 1–8 (1: upright).
    pub orientation: u32,
    /// Latitude and longitude, if the camera recorded a position.
    pub gps: Option<(f64, f64)>,
}

impl Default for ExifFacts {
    fn default() -> Self {
        ExifFacts { orientation: 1, gps: None }
    }
}

/// A decoded photo.
#[derive(Debug)]
pub struct Decoded {
    pub format: Format,
    pub rgb: RgbImage,
    pub exif: ExifFacts,
}

/// Decodes `bytes` after checking the header against `max_pixels`. With
/// `min_long_side`, a JPEG is decoded at the smallest DCT scale that keeps its
/// long side at least that large.
pub fn decode(bytes: &[u8], max_pixels: u64, min_long_side: Option<u32>) -> Result<Decoded, CodecError> {
    let format = sniff(bytes).ok_or(CodecError::Unsupported)?;
    checked_size(bytes, max_pixels)?;
    let (rgb, exif) = match format {
        Format::Jpeg => decode_jpeg(bytes, min_long_side)?,
        Format::Png | Format::WebP => decode_other(bytes, format, max_pixels)?,
    };
    Ok(Decoded { format, rgb, exif })
}

/// Width and height as the header claims them, checked before anything is
/// allocated for the image: neither may be zero or over `MAX_SIDE_PX`, and
/// together they may not exceed `max_pixels`.
pub fn checked_size(bytes: &[u8], max_pixels: u64) -> Result<(u32, u32), CodecError> {
    let size = imagesize::blob_size(bytes).map_err(|_| CodecError::Corrupt)?;
    if size.width == 0 || size.height == 0 {
        return Err(CodecError::Corrupt);
    }
    let claimed = size.width as u64 * size.height as u64;
    if claimed > max_pixels || size.width > MAX_SIDE_PX || size.height > MAX_SIDE_PX {
        return Err(CodecError::TooLarge { megapixels: claimed as f64 / 1e6 });
    }
    Ok((size.width as u32, size.height as u32))
}

/// Neither side of an accepted image may be longer than this, in pixels.
pub const MAX_SIDE_PX: usize = 30_000;

fn decode_jpeg(bytes: &[u8], min_long_side: Option<u32>) -> Result<(RgbImage, ExifFacts), CodecError> {
    // libjpeg reports errors by unwinding (mozjpeg's contract): catch them here.
    std::panic::catch_unwind(|| decode_jpeg_strict(bytes, min_long_side)).unwrap_or(Err(CodecError::Corrupt))
}

/// What a JPEG's EXIF says, read from its header without decoding a pixel;
/// the defaults (upright, no position) when it has none or cannot be read.
pub fn jpeg_exif(bytes: &[u8]) -> ExifFacts {
    std::panic::catch_unwind(|| jpeg_header(bytes).map(|(_, exif)| exif))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// A strict decompressor with the header read, and the EXIF facts found there.
fn jpeg_header(bytes: &[u8]) -> Result<(mozjpeg::Decompress<&[u8]>, ExifFacts), CodecError> {
    let dec = mozjpeg::Decompress::builder()
        .with_err(strict::error_mgr())
        .with_markers(&[mozjpeg::Marker::APP(1)])
        .from_mem(bytes)
        .map_err(|_| CodecError::Corrupt)?;
    let exif = dec
        .markers()
        .find(|m| m.data.starts_with(b"Exif\0\0"))
        .map(|m| parse_exif(m.data))
        .unwrap_or_default();
    Ok((dec, exif))
}

fn decode_jpeg_strict(bytes: &[u8], min_long_side: Option<u32>) -> Result<(RgbImage, ExifFacts), CodecError> {
    let corrupt = |_| CodecError::Corrupt;
    let (mut dec, exif) = jpeg_header(bytes)?;
    if let Some(min) = min_long_side {
        dec.scale(scale_numerator(dec.width().max(dec.height()), min as usize));
    }
    let mut started = dec.rgb().map_err(corrupt)?;
    let (w, h) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
    started.finish().map_err(corrupt)?;
    Ok((RgbImage::from_raw(w, h, pixels).ok_or(CodecError::Corrupt)?, exif))
}

/// libjpeg's error handling with its warnings made fatal.
mod strict {
    #![allow(unsafe_code)] // the C error manager has to be set up through the C API
    use std::os::raw::c_int;

    use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr as ErrorMgr};

    pub fn error_mgr() -> ErrorMgr {
        // SAFETY: `jpeg_error_mgr` is plain C data; `jpeg_std_error` fills in
        // every field of the zeroed struct before any is read.
        let mut err: ErrorMgr = unsafe { std::mem::zeroed() };
        unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
        err.error_exit = Some(fatal);
        err.emit_message = Some(message);
        err
    }

    /// A fatal error: unwind to `decode_jpeg`'s `catch_unwind` (without the panic hook).
    extern "C-unwind" fn fatal(_cinfo: &mut jpeg_common_struct) {
        std::panic::resume_unwind(Box::new("libjpeg error"));
    }

    /// Level −1 is a warning ("premature end of data", "corrupt JPEG data"):
    /// as fatal as an error. Higher levels are trace messages.
    extern "C-unwind" fn message(_cinfo: &mut jpeg_common_struct, level: c_int) {
        if level < 0 {
            std::panic::resume_unwind(Box::new("libjpeg warning"));
        }
    }
}

/// The smallest n (1–8) for which libjpeg's scaled size, ceil(long × n / 8),
/// is still at least `min`.
fn scale_numerator(long: usize, min: usize) -> u8 {
    (1..=8u8).find(|&n| (long * n as usize).div_ceil(8) >= min).unwrap_or(8)
}

fn decode_other(bytes: &[u8], format: Format, max_pixels: u64) -> Result<(RgbImage, ExifFacts), CodecError> {
    let f = if format == Format::Png { image::ImageFormat::Png } else { image::ImageFormat::WebP };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), f);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(30_000);
    limits.max_image_height = Some(30_000);
    // Four bytes per pixel (RGBA8) plus room for the decoder's own buffers.
    limits.max_alloc = Some(max_pixels * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut dec = reader.into_decoder().map_err(|_| CodecError::Corrupt)?;
    let exif = dec.exif_metadata().ok().flatten().map(|e| parse_exif(&e)).unwrap_or_default();
    let img = image::DynamicImage::from_decoder(dec).map_err(|_| CodecError::Corrupt)?;
    Ok((img.into_rgb8(), exif))
}

/// Reads orientation and GPS position from raw EXIF (with or without the
/// `Exif\0\0` prefix). Anything unreadable counts as absent.
pub fn parse_exif(raw: &[u8]) -> ExifFacts {
    let tiff = raw.strip_prefix(b"Exif\0\0").unwrap_or(raw);
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return ExifFacts::default();
    };
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(1);
    let coord = |tag, ref_tag, negative: u8| -> Option<f64> {
        let f = exif.get_field(tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(parts) = &f.value else { return None };
        let [d, m, s] = parts.get(0..3)? else { return None };
        let v = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match exif.get_field(ref_tag, exif::In::PRIMARY).map(|r| &r.value) {
            Some(exif::Value::Ascii(a)) if a.first().and_then(|s| s.first()) == Some(&negative) => -1.0,
            _ => 1.0,
        };
        v.is_finite().then_some(sign * v)
    };
    let lat = coord(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b'S');
    let lon = coord(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b'W');
    let gps = match (lat, lon) {
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
            Some((lat, lon))
        }
        _ => None,
    };
    ExifFacts { orientation, gps }
}

/// Scales `img` so its long side is at most `max_side` (never up), with a
/// SIMD convolution (Lanczos3).
pub fn fit(img: RgbImage, max_side: u32) -> Result<RgbImage, CodecError> {
    let (w, h) = img.dimensions();
    if w.max(h) <= max_side {
        return Ok(img);
    }
    let f = f64::from(max_side) / f64::from(w.max(h));
    let dw = ((f64::from(w) * f).round() as u32).max(1);
    let dh = ((f64::from(h) * f).round() as u32).max(1);
    let mut dst = RgbImage::new(dw, dh);
    let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new().resize(&img, &mut dst, &opts).map_err(|_| CodecError::Corrupt)?;
    Ok(dst)
}

/// Applies an EXIF orientation (1–8) so the pixels are upright.
pub fn orient(img: RgbImage, orientation: u32) -> RgbImage {
    use image::imageops as ops;
    match orientation {
        2 => ops::flip_horizontal(&img),
        3 => ops::rotate180(&img),
        4 => ops::flip_vertical(&img),
        5 => ops::flip_horizontal(&ops::rotate90(&img)),
        6 => ops::rotate90(&img),
        7 => ops::flip_horizontal(&ops::rotate270(&img)),
        8 => ops::rotate270(&img),
        _ => img,
    }
}

/// A baseline JPEG with libjpeg-turbo's fast settings: a JFIF header and the image.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, CodecError> {
    let corrupt = |_| CodecError::Corrupt;
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_quality(f32::from(quality));
    c.set_size(img.width() as usize, img.height() as usize);
    let mut started = c.start_compress(Vec::with_capacity(img.as_raw().len() / 8)).map_err(corrupt)?;
    started.write_scanlines(img.as_raw()).map_err(corrupt)?;
    started.finish().map_err(corrupt)
}

/// A PNG of the pixels, with no ancillary chunks.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).map_err(|_| CodecError::Corrupt)?;
    Ok(out)
}

/// Synthetic photos for tests and benchmarks.
#[doc(hidden)]
pub mod testing {
    /// A JPEG of `w` × `h` with a smooth pattern.
    pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, ((x + y) % 200) as u8])
        });
        super::encode_jpeg(&img, 90).expect("encode")
    }

    /// An EXIF APP1 segment with an orientation and a GPS position (degrees).
    pub fn exif_app1(orientation: u16, lat: f64, lon: f64) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(b"MM\0\x2A");
        t.extend_from_slice(&8u32.to_be_bytes());
        let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]| {
            t.extend_from_slice(&tag.to_be_bytes());
            t.extend_from_slice(&typ.to_be_bytes());
            t.extend_from_slice(&count.to_be_bytes());
            t.extend_from_slice(&value);
        };
        // IFD0 at 8 (orientation, GPS pointer); the GPS IFD at 38; rationals at 92.
        t.extend_from_slice(&2u16.to_be_bytes());
        let o = orientation.to_be_bytes();
        entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
        entry(&mut t, 0x8825, 4, 1, 38u32.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        t.extend_from_slice(&4u16.to_be_bytes());
        entry(&mut t, 0x0001, 2, 2, [if lat < 0.0 { b'S' } else { b'N' }, 0, 0, 0]);
        entry(&mut t, 0x0002, 5, 3, 92u32.to_be_bytes());
        entry(&mut t, 0x0003, 2, 2, [if lon < 0.0 { b'W' } else { b'E' }, 0, 0, 0]);
        entry(&mut t, 0x0004, 5, 3, 116u32.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        for v in [lat.abs(), lon.abs()] {
            let d = v.trunc();
            let m = ((v - d) * 60.0).trunc();
            let s = ((v - d) * 60.0 - m) * 60.0;
            for (num, den) in [(d as u32, 1u32), (m as u32, 1), ((s * 10_000.0).round() as u32, 10_000)] {
                t.extend_from_slice(&num.to_be_bytes());
                t.extend_from_slice(&den.to_be_bytes());
            }
        }
        let payload = [b"Exif\0\0".as_slice(), &t].concat();
        let mut seg = vec![0xFF, 0xE1];
        seg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        seg.extend_from_slice(&payload);
        seg
    }

    /// `jpeg` with a segment inserted after the start-of-image marker.
    pub fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
        [&jpeg[..2], segment, &jpeg[2..]].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::*, *};

    #[test]
    fn broken_jpegs_are_refused_not_half_decoded() {
        let good = jpeg(640, 480);
        assert!(decode(&good, 40_000_000, None).is_ok());
        // Cut off in transit: libjpeg would pad it with grey and warn.
        let truncated = &good[..good.len() * 2 / 3];
        assert!(matches!(decode(truncated, 40_000_000, None), Err(CodecError::Corrupt)));
        assert!(matches!(decode(truncated, 40_000_000, Some(100)), Err(CodecError::Corrupt)));
        // Entropy-coded data overwritten with markers and garbage in the middle.
        let mut corrupted = good.clone();
        let mid = corrupted.len() / 2;
        for b in &mut corrupted[mid..mid + 64] {
            *b = 0xFF;
        }
        corrupted[mid + 64] = 0xD0;
        assert!(matches!(decode(&corrupted, 40_000_000, None), Err(CodecError::Corrupt)));
        assert!(matches!(decode(&corrupted, 40_000_000, Some(100)), Err(CodecError::Corrupt)), "at 1/8 too");
        // A frame header claiming 0 × 0 pixels, or more than 30,000 on a side.
        let sof = good.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut zero = good.clone();
        zero[sof + 5..sof + 9].copy_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(decode(&zero, 40_000_000, None), Err(CodecError::Corrupt)));
        let mut wide = good.clone();
        wide[sof + 7..sof + 9].copy_from_slice(&40_000u16.to_be_bytes());
        wide[sof + 5..sof + 7].copy_from_slice(&1u16.to_be_bytes());
        assert!(matches!(decode(&wide, 40_000_000, None), Err(CodecError::TooLarge { .. })));
        // Not even a header: no panic either.
        assert!(matches!(decode(&[0xFF, 0xD8, 0xFF], 40_000_000, None), Err(CodecError::Corrupt)));
    }

    #[test]
    fn sniffs_by_content_only() {
        assert_eq!(sniff(&jpeg(8, 8)), Some(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a......"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
    }

    #[test]
    fn picks_the_smallest_dct_scale_that_keeps_the_size() {
        assert_eq!(scale_numerator(4000, 1600), 4);
        assert_eq!(scale_numerator(4032, 1600), 4);
        assert_eq!(scale_numerator(3200, 1600), 4);
        assert_eq!(scale_numerator(3199, 1600), 4, "ceil(1599.5) is 1600");
        assert_eq!(scale_numerator(3198, 1600), 5);
        assert_eq!(scale_numerator(12_800, 1600), 1);
        assert_eq!(scale_numerator(1000, 1600), 8);
    }

    #[test]
    fn reads_exif_orientation_and_position() {
        let app1 = exif_app1(6, 52.2512, -6.1592);
        let facts = parse_exif(&app1[4..]);
        assert_eq!(facts.orientation, 6);
        let (lat, lon) = facts.gps.unwrap();
        assert!((lat - 52.2512).abs() < 1e-6 && (lon + 6.1592).abs() < 1e-6);
        assert_eq!(parse_exif(b"garbage"), ExifFacts::default());
    }

    #[test]
    fn decodes_jpeg_at_a_reduced_scale_with_its_exif() {
        let original = with_segment(&jpeg(4000, 3000), &exif_app1(6, 52.0, 6.0));
        let d = decode(&original, 50_000_000, Some(1600)).unwrap();
        assert_eq!(d.rgb.dimensions(), (2000, 1500));
        assert_eq!(d.exif.orientation, 6);
        assert_eq!(decode(&original, 50_000_000, None).unwrap().rgb.dimensions(), (4000, 3000));
        assert_eq!(jpeg_exif(&original), d.exif, "the header alone tells the same");
        assert_eq!(jpeg_exif(b"not a jpeg"), ExifFacts::default());
        assert!(matches!(decode(&original, 10_000_000, None), Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn encodes_without_metadata() {
        let out = encode_jpeg(&image::RgbImage::new(64, 32), 80).unwrap();
        let dec = mozjpeg::Decompress::builder().with_markers(mozjpeg::ALL_MARKERS).from_mem(&out).unwrap();
        assert!(dec.markers().all(|m| !matches!(m.marker, mozjpeg::Marker::APP(1..) | mozjpeg::Marker::COM)));
    }
}
