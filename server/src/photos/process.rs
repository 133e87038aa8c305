//! Photo processing on the server: the format judged by content, the pixel
//! count checked before any pixel is decoded, every image decoded strictly,
//! the EXIF orientation applied, and no EXIF, GPS or XMP kept: a plain
//! upright JPEG loses its metadata segments, anything else is re-encoded from
//! pixels.
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

/// Decodes (which proves the image whole), orients, strips and re-encodes an
/// uploaded image. PNG stays PNG (it is often a screenshot; an alpha channel
/// is flattened); JPEG and WebP become JPEG. An upright, plain JPEG of at most
/// a byte a pixel, which is what the phones send, is kept as it came with only
/// its metadata dropped: no second generation of compression loss, and less
/// than half the work (ADR 0027).
pub fn prepare(bytes: &[u8], max_pixels: u64) -> Result<Prepared, CodecError> {
    if let Some(kept) = keep(bytes, max_pixels)? {
        return Ok(kept);
    }
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

/// The JPEG rebuilt by `kvo_photo::strip_jpeg`, if it is plain, upright and at
/// most a byte a pixel. It is decoded at the smallest DCT scale that still
/// gives the thumbnail: that reads, and so checks, every byte of its image
/// data all the same, but spends a fraction of the work on pixels.
fn keep(bytes: &[u8], max_pixels: u64) -> Result<Option<Prepared>, CodecError> {
    if kvo_photo::sniff(bytes) != Some(Format::Jpeg) {
        return Ok(None);
    }
    let (width, height) = kvo_photo::checked_size(bytes, max_pixels)?;
    if bytes.len() as u64 > u64::from(width) * u64::from(height) {
        return Ok(None);
    }
    if (2..=8).contains(&kvo_photo::jpeg_exif(bytes).orientation) {
        return Ok(None);
    }
    let Some(stripped) = kvo_photo::strip_jpeg(bytes) else { return Ok(None) };
    let small = kvo_photo::decode(bytes, max_pixels, Some(THUMB_SIZE))?;
    let thumb = encode_jpeg(&kvo_photo::fit(small.rgb, THUMB_SIZE)?, THUMB_QUALITY)?;
    Ok(Some(Prepared { content_type: "image/jpeg", bytes: stripped, width, height, thumb }))
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
    fn keeps_a_plain_upright_jpeg_bit_for_bit_without_its_metadata() {
        use kvo_photo::testing::{exif_app1, with_segment};
        let camera = with_segment(&jpeg(800, 600), &exif_app1(1, 52.1, 5.1));
        let p = prepare(&camera, 40_000_000).unwrap();
        assert_eq!(p.bytes, kvo_photo::strip_jpeg(&camera).unwrap());
        assert!(!p.bytes.windows(4).any(|w| w == b"Exif"));
        let pixels = |b: &[u8]| kvo_photo::decode(b, 40_000_000, None).unwrap().rgb.into_raw();
        assert_eq!(pixels(&p.bytes), pixels(&camera), "no second generation of compression");

        // Turned by its EXIF: re-encoded upright from pixels.
        let turned = prepare(&with_segment(&jpeg(800, 600), &exif_app1(6, 52.1, 5.1)), 40_000_000).unwrap();
        assert_eq!((turned.width, turned.height), (600, 800));
        assert!(!turned.bytes.windows(4).any(|w| w == b"Exif"));

        // More than a byte a pixel (noise at quality 100): re-encoded, smaller.
        let mut seed = 7u32;
        let noise = image::RgbImage::from_fn(200, 200, |_, _| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            image::Rgb((seed >> 8).to_be_bytes()[1..].try_into().unwrap())
        });
        let heavy = encode_jpeg(&noise, 100).unwrap();
        assert!(heavy.len() > 200 * 200);
        let p = prepare(&heavy, 40_000_000).unwrap();
        assert!(p.bytes.len() < heavy.len() && p.bytes != kvo_photo::strip_jpeg(&heavy).unwrap());
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
