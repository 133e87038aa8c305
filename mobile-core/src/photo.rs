//! Photo preparation on the phone: decode (JPEG, PNG, WebP), read the EXIF
//! orientation and GPS position, scale to at most 1600 px on the long side,
//! apply the orientation, and encode a fresh JPEG at quality 80 that carries
//! no metadata at all. The original never leaves the device.
//!
//! Speed: a JPEG is decoded by libjpeg-turbo at a reduced DCT scale (n/8)
//! that still leaves at least 1600 px, so a 12-megapixel photo is never
//! decoded at full size; the rest is scaled with a SIMD convolution, and the
//! rotation happens after scaling, on the small image (see `kvo_photo`).

pub use kvo_photo::CodecError as PhotoError;
use sha2::{Digest, Sha256};

/// Long side of a prepared photo, in pixels.
pub const MAX_SIDE: u32 = 1600;
/// JPEG quality of a prepared photo.
pub const QUALITY: u8 = 80;
/// Larger photos are refused before decoding (phones make at most 50 MP by default).
pub const MAX_PIXELS: u64 = 50_000_000;

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

/// Prepares `original` for upload.
pub fn prepare(original: &[u8]) -> Result<Prepared, PhotoError> {
    let decoded = kvo_photo::decode(original, MAX_PIXELS, Some(MAX_SIDE))?;
    let small = kvo_photo::fit(decoded.rgb, MAX_SIDE)?;
    let upright = kvo_photo::orient(small, decoded.exif.orientation);
    let jpeg = kvo_photo::encode_jpeg(&upright, QUALITY)?;
    let sha256 = hex::encode(Sha256::digest(&jpeg));
    Ok(Prepared { width: upright.width(), height: upright.height(), jpeg, sha256, gps: decoded.exif.gps })
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

#[cfg(test)]
mod tests {
    use super::*;
    use kvo_photo::testing::{exif_app1, jpeg, with_segment as with_exif};
    use std::io::Cursor;

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
        assert!(!p.jpeg.windows(2).any(|w| w == [0xFF, 0xE1]), "no APP1 segment");
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
