//! Photo processing on the server: judge the format by content, refuse
//! oversized images before any pixel is decoded, apply the EXIF orientation,
//! and re-encode so that no EXIF, GPS or XMP metadata survives. Pure: bytes in,
//! bytes out.

use std::io::Cursor;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// Long side of a thumbnail, in pixels.
pub const THUMB_SIZE: u32 = 320;
const JPEG_QUALITY: u8 = 85;
const THUMB_QUALITY: u8 = 75;

/// Why an upload is not a photo we store.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP image")]
    Unsupported,
    #[error("image of {megapixels:.1} megapixels is too large")]
    TooLarge { megapixels: f64 },
    #[error("image is corrupt: {0}")]
    Corrupt(String),
}

/// A re-encoded photo and its thumbnail.
#[derive(Debug)]
pub struct Prepared {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub thumb: Vec<u8>,
}

/// The image format by its magic bytes; the name and the declared type do not count.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes, orients, strips and re-encodes an uploaded image. PNG stays PNG
/// (it is often a screenshot); JPEG and WebP become JPEG.
pub fn prepare(bytes: &[u8], max_pixels: u64) -> Result<Prepared, PhotoError> {
    let format = sniff(bytes).ok_or(PhotoError::Unsupported)?;
    let img = decode_limited(bytes, format, max_pixels)?;
    let (width, height) = (img.width(), img.height());
    let (content_type, out) = match format {
        ImageFormat::Png => {
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
            ("image/png", out)
        }
        _ => ("image/jpeg", encode_jpeg(&img.to_rgb8(), JPEG_QUALITY)?),
    };
    let thumb = encode_jpeg(&thumbnail(&img)?, THUMB_QUALITY)?;
    Ok(Prepared { content_type, bytes: out, width, height, thumb })
}

/// Reads the header first and refuses an image over `max_pixels` before any
/// pixel is decoded; `image::Limits` guards the decoder's allocations too.
fn decode_limited(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<DynamicImage, PhotoError> {
    // The header alone says how large the image claims to be.
    let size = imagesize::blob_size(bytes).map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let claimed = size.width as u64 * size.height as u64;
    if claimed > max_pixels {
        return Err(PhotoError::TooLarge { megapixels: claimed as f64 / 1e6 });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(30_000);
    limits.max_image_height = Some(30_000);
    // Four bytes per pixel (RGBA8) plus room for the decoder's own buffers.
    limits.max_alloc = Some(max_pixels * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_decode_error(max_pixels))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(PhotoError::TooLarge { megapixels: pixels as f64 / 1e6 });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_decode_error(max_pixels))?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn map_decode_error(max_pixels: u64) -> impl Fn(image::ImageError) -> PhotoError {
    move |e| match e {
        image::ImageError::Limits(_) => PhotoError::TooLarge { megapixels: max_pixels as f64 / 1e6 },
        image::ImageError::Unsupported(_) => PhotoError::Unsupported,
        other => PhotoError::Corrupt(other.to_string()),
    }
}

/// Encodes RGB8 pixels as a baseline JPEG (libjpeg-turbo's fast settings,
/// through mozjpeg). Only a JFIF header precedes the image: no EXIF, no XMP.
pub fn encode_jpeg(rgb: &image::RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let corrupt = |e: std::io::Error| PhotoError::Corrupt(e.to_string());
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_quality(f32::from(quality));
    c.set_size(rgb.width() as usize, rgb.height() as usize);
    let mut started = c.start_compress(Vec::with_capacity(rgb.as_raw().len() / 8)).map_err(corrupt)?;
    started.write_scanlines(rgb.as_raw()).map_err(corrupt)?;
    started.finish().map_err(corrupt)
}

/// Scales `img` to at most [`THUMB_SIZE`] on the long side (never up).
fn thumbnail(img: &DynamicImage) -> Result<image::RgbImage, PhotoError> {
    resize_rgb(&img.to_rgb8(), THUMB_SIZE)
}

/// Resizes RGB8 pixels so the long side is at most `max_side`, with a fast
/// convolution (Lanczos3 quality, SIMD speed).
pub fn resize_rgb(src: &image::RgbImage, max_side: u32) -> Result<image::RgbImage, PhotoError> {
    let (w, h) = (src.width(), src.height());
    let scale = f64::from(max_side) / f64::from(w.max(h));
    if scale >= 1.0 {
        return Ok(src.clone());
    }
    let dw = ((f64::from(w) * scale).round() as u32).max(1);
    let dh = ((f64::from(h) * scale).round() as u32).max(1);
    let mut dst = image::RgbImage::new(dw, dh);
    let mut resizer = fr::Resizer::new();
    let opts = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    resizer.resize(src, &mut dst, &opts).map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 80]));
        encode_jpeg(&img, 90).unwrap()
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&jpeg(8, 8)), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"GIF89a......"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
    }

    #[test]
    fn prepares_jpeg_with_thumbnail() {
        let p = prepare(&jpeg(1600, 1200), 40_000_000).unwrap();
        assert_eq!((p.width, p.height), (1600, 1200));
        assert_eq!(p.content_type, "image/jpeg");
        let t = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((t.width(), t.height()), (320, 240));
    }

    #[test]
    fn refuses_a_header_that_claims_too_many_pixels() {
        // A PNG header claiming 50000 × 50000 pixels with no real pixel data.
        let mut png =
            vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32(&png[12..]);
        png.extend_from_slice(&crc.to_be_bytes());
        assert!(matches!(prepare(&png, 40_000_000), Err(PhotoError::TooLarge { .. })));
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        let mut j = jpeg(64, 64);
        j.truncate(20);
        assert!(prepare(&j, 40_000_000).is_err());
        assert!(prepare(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2], 40_000_000).is_err());
        assert_eq!(prepare(b"hello", 40_000_000).unwrap_err(), PhotoError::Unsupported);
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
}
