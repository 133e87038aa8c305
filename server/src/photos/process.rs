//! Photo processing on the server: the format judged by content, the pixel
//! count checked before any pixel is decoded, the EXIF orientation applied, and
//! everything re-encoded from pixels so that no EXIF, GPS or XMP survives.
//! The codecs are `kvo_photo`'s, shared with the phones.

use kvo_photo::Format;
pub use kvo_photo::{CodecError, encode_jpeg};

/// Long side of a thumbnail, in pixels.
pub const THUMB_SIZE: u32 = 320;
const JPEG_QUALITY: u8 = 85;
const THUMB_QUALITY: u8 = 75;

/// A re-encoded photo and its thumbnail.
#[derive(Debug)]
pub struct Prepared {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub thumb: Vec<u8>,
}

/// Decodes, orients, strips and re-encodes an uploaded image. PNG stays PNG
/// (it is often a screenshot; an alpha channel is flattened); JPEG and WebP
/// become JPEG.
pub fn prepare(bytes: &[u8], max_pixels: u64) -> Result<Prepared, CodecError> {
    let decoded = kvo_photo::decode(bytes, max_pixels, None)?;
    let img = kvo_photo::orient(decoded.rgb, decoded.exif.orientation);
    let (width, height) = img.dimensions();
    let (content_type, out) = match decoded.format {
        Format::Png => ("image/png", kvo_photo::encode_png(&img)?),
        Format::Jpeg | Format::WebP => ("image/jpeg", encode_jpeg(&img, JPEG_QUALITY)?),
    };
    let thumb = encode_jpeg(&kvo_photo::fit(img, THUMB_SIZE)?, THUMB_QUALITY)?;
    Ok(Prepared { content_type, bytes: out, width, height, thumb })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvo_photo::testing::jpeg;

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
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(prepare(&png, 40_000_000).unwrap_err(), CodecError::TooLarge { megapixels: 2500.0 });
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        let mut j = jpeg(64, 64);
        j.truncate(20);
        assert!(prepare(&j, 40_000_000).is_err());
        assert!(prepare(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2], 40_000_000).is_err());
        assert_eq!(prepare(b"hello", 40_000_000).unwrap_err(), CodecError::Unsupported);
    }
}
