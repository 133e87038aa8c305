//! Photo preparation on the phone: decode (JPEG, PNG, WebP), read the EXIF
//! orientation and GPS position, scale to at most 1600 px on the long side,
//! apply the orientation, and encode a fresh JPEG at quality 80 that carries
//! no metadata at all. The original never leaves the device.
//!
//! Speed: a JPEG is decoded by libjpeg-turbo (through mozjpeg) at a reduced DCT scale (n/8) when that
//! still leaves at least 1600 px, so a 12-megapixel photo is never decoded at
//! full size; the remaining scaling uses a SIMD convolution resizer, and the
//! rotation happens after scaling, on the small image. Pure: bytes in, bytes out.

use std::io::Cursor;

use fast_image_resize as fr;
use image::{ImageDecoder, RgbImage};
use sha2::{Digest, Sha256};

/// Long side of a prepared photo, in pixels.
pub const MAX_SIDE: u32 = 1600;
/// JPEG quality of a prepared photo.
pub const QUALITY: u8 = 80;
/// Larger photos are refused before decoding (phones make at most 50 MP by default).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Why a photo cannot be prepared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP image")]
    Unsupported,
    #[error("the image has {megapixels:.0} megapixels; at most 50 are supported")]
    TooLarge { megapixels: f64 },
    #[error("the image is corrupt or incomplete")]
    Corrupt,
}

/// A photo ready for upload.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Hex SHA-256 of `jpeg`: what the server will report as `upload_sha256`.
    pub sha256: String,
    /// The position in the original's EXIF, if it had one (latitude, longitude).
    pub gps: Option<(f64, f64)>,
}

enum Format {
    Jpeg,
    Png,
    WebP,
}

fn sniff(bytes: &[u8]) -> Option<Format> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Format::WebP),
        _ => None,
    }
}

/// What EXIF tells us.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct ExifFacts {
    orientation: u32,
    gps: Option<(f64, f64)>,
}

/// Prepares `original` for upload.
pub fn prepare(original: &[u8]) -> Result<Prepared, PhotoError> {
    let format = sniff(original).ok_or(PhotoError::Unsupported)?;
    let size = imagesize::blob_size(original).map_err(|_| PhotoError::Corrupt)?;
    let pixels = size.width as u64 * size.height as u64;
    if pixels > MAX_PIXELS {
        return Err(PhotoError::TooLarge { megapixels: pixels as f64 / 1e6 });
    }
    let (rgb, exif) = match format {
        Format::Jpeg => decode_jpeg_scaled(original)?,
        Format::Png | Format::WebP => decode_other(original)?,
    };
    let small = resize(&rgb, MAX_SIDE)?;
    drop(rgb);
    let upright = orient(small, exif.orientation);
    let jpeg = encode(&upright, QUALITY)?;
    let sha256 = hex::encode(Sha256::digest(&jpeg));
    Ok(Prepared { width: upright.width(), height: upright.height(), jpeg, sha256, gps: exif.gps })
}

/// Decodes a JPEG at the smallest DCT scale (n/8) that keeps the long side at
/// least [`MAX_SIDE`], with libjpeg-turbo (through mozjpeg).
fn decode_jpeg_scaled(bytes: &[u8]) -> Result<(RgbImage, ExifFacts), PhotoError> {
    let corrupt = |_| PhotoError::Corrupt;
    let mut dec = mozjpeg::Decompress::builder()
        .with_markers(&[mozjpeg::Marker::APP(1)])
        .from_mem(bytes)
        .map_err(corrupt)?;
    let exif = dec
        .markers()
        .find(|m| m.data.starts_with(b"Exif\0\0"))
        .map(|m| parse_exif(m.data.to_vec()))
        .unwrap_or_default();
    let long = dec.width().max(dec.height());
    // libjpeg rounds the scaled size up: ceil(long × n / 8).
    let n = (1..=8).find(|n| (long * n).div_ceil(8) >= MAX_SIDE as usize).unwrap_or(8);
    dec.scale(n as u8);
    let mut started = dec.rgb().map_err(corrupt)?;
    let (w, h) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
    started.finish().map_err(corrupt)?;
    let rgb = RgbImage::from_raw(w, h, pixels).ok_or(PhotoError::Corrupt)?;
    Ok((rgb, exif))
}

fn decode_other(bytes: &[u8]) -> Result<(RgbImage, ExifFacts), PhotoError> {
    let reader =
        image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PhotoError::Corrupt)?;
    let mut dec = reader.into_decoder().map_err(|_| PhotoError::Corrupt)?;
    let exif = dec.exif_metadata().ok().flatten().map(|e| parse_exif(e.to_vec())).unwrap_or_default();
    let img = image::DynamicImage::from_decoder(dec).map_err(|_| PhotoError::Corrupt)?;
    Ok((img.into_rgb8(), exif))
}

fn parse_exif(raw: Vec<u8>) -> ExifFacts {
    let tiff = raw.strip_prefix(b"Exif\0\0").map(<[u8]>::to_vec).unwrap_or(raw);
    let Ok(exif) = exif::Reader::new().read_raw(tiff) else {
        return ExifFacts::default();
    };
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(1);
    let coord = |tag, ref_tag, negative: u8| -> Option<f64> {
        let f = exif.get_field(tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(parts) = &f.value else {
            return None;
        };
        let [d, m, s] = parts.get(0..3)? else {
            return None;
        };
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

/// Scales so the long side is at most `max_side` (never up).
fn resize(src: &RgbImage, max_side: u32) -> Result<RgbImage, PhotoError> {
    let (w, h) = src.dimensions();
    if w.max(h) <= max_side {
        return Ok(src.clone());
    }
    let f = f64::from(max_side) / f64::from(w.max(h));
    let dw = ((f64::from(w) * f).round() as u32).max(1);
    let dh = ((f64::from(h) * f).round() as u32).max(1);
    let mut dst = RgbImage::new(dw, dh);
    let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new().resize(src, &mut dst, &opts).map_err(|_| PhotoError::Corrupt)?;
    Ok(dst)
}

/// Applies an EXIF orientation (1–8) so the pixels are upright.
fn orient(img: RgbImage, orientation: u32) -> RgbImage {
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

/// Encodes a baseline JPEG with libjpeg-turbo's fast settings: a JFIF header
/// and the image, nothing else.
fn encode(img: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let corrupt = |_| PhotoError::Corrupt;
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_quality(f32::from(quality));
    c.set_size(img.width() as usize, img.height() as usize);
    let mut started = c.start_compress(Vec::with_capacity(img.as_raw().len() / 10)).map_err(corrupt)?;
    started.write_scanlines(img.as_raw()).map_err(corrupt)?;
    started.finish().map_err(corrupt)
}

/// The straightforward way, for comparison in the benchmark: full decode with
/// the `image` crate, Lanczos3 resize with `image::imageops`, `image`'s JPEG encoder.
pub fn prepare_naive(original: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let img = image::load_from_memory(original).map_err(|_| PhotoError::Corrupt)?;
    let resized = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Lanczos3);
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY);
    resized.to_rgb8().write_with_encoder(enc).map_err(|_| PhotoError::Corrupt)?;
    Ok(out)
}

/// Test and benchmark helpers: synthetic photos with EXIF.
#[doc(hidden)]
pub mod testing {
    /// A JPEG of `w` × `h` with a smooth pattern.
    pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, ((x + y) % 200) as u8])
        });
        super::encode(&img, 90).expect("encode")
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

    /// `jpeg` with an EXIF segment inserted after the start-of-image marker.
    pub fn with_exif(jpeg: &[u8], app1: &[u8]) -> Vec<u8> {
        [&jpeg[..2], app1, &jpeg[2..]].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::*, *};

    #[test]
    fn scales_to_1600_on_the_long_side() {
        let p = prepare(&jpeg(4000, 3000)).unwrap();
        assert_eq!((p.width, p.height), (1600, 1200));
        let small = prepare(&jpeg(800, 600)).unwrap();
        assert_eq!((small.width, small.height), (800, 600), "never scaled up");
    }

    #[test]
    fn applies_orientation_reads_gps_and_strips_everything() {
        let original = with_exif(&jpeg(2000, 1000), &exif_app1(6, 52.2512, 6.1592));
        let p = prepare(&original).unwrap();
        assert_eq!((p.width, p.height), (800, 1600), "rotated upright");
        let (lat, lon) = p.gps.unwrap();
        assert!((lat - 52.2512).abs() < 1e-6 && (lon - 6.1592).abs() < 1e-6, "{lat} {lon}");
        assert!(!p.jpeg.windows(4).any(|w| w == b"Exif"));
        let dec =
            mozjpeg::Decompress::builder().with_markers(mozjpeg::ALL_MARKERS).from_mem(&p.jpeg).unwrap();
        assert!(
            dec.markers().all(|m| !matches!(m.marker, mozjpeg::Marker::APP(1..))),
            "only JFIF (APP0) remains"
        );
        assert_eq!(p.sha256, hex::encode(Sha256::digest(&p.jpeg)));
    }

    #[test]
    fn southern_and_western_positions_are_negative() {
        let p = prepare(&with_exif(&jpeg(100, 100), &exif_app1(1, -33.9, -70.6))).unwrap();
        let (lat, lon) = p.gps.unwrap();
        assert!((lat + 33.9).abs() < 1e-6 && (lon + 70.6).abs() < 1e-6);
    }

    #[test]
    fn png_is_accepted_and_becomes_jpeg() {
        let img = image::RgbaImage::from_pixel(300, 200, image::Rgba([200, 10, 10, 255]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let p = prepare(&png).unwrap();
        assert_eq!(&p.jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!((p.width, p.height), (300, 200));
    }

    #[test]
    fn bad_input_is_an_error_not_a_crash() {
        assert_eq!(prepare(b"not an image").unwrap_err(), PhotoError::Unsupported);
        let mut j = jpeg(400, 300);
        j.truncate(j.len() / 3);
        // A truncated JPEG may decode with grey at the bottom or fail; it must not panic.
        let _ = prepare(&j);
        assert_eq!(prepare(&j[..40]).unwrap_err(), PhotoError::Corrupt);
        // A header claiming 10000 × 6000 (60 MP): refused before decoding.
        let mut big = jpeg(16, 16);
        let sof = big.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        big[sof + 5..sof + 7].copy_from_slice(&6000u16.to_be_bytes());
        big[sof + 7..sof + 9].copy_from_slice(&10000u16.to_be_bytes());
        assert!(matches!(prepare(&big), Err(PhotoError::TooLarge { .. })));
    }
}
