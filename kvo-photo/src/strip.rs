//! Lossless metadata stripping of a plain JPEG: the image is rebuilt from its
//! own tables and entropy-coded data, with a fresh JFIF header and nothing
//! else. What a phone's camera or our own phone core writes (baseline,
//! YCbCr or greyscale) is kept bit for bit in its pixels; anything unusual is
//! not stripped here (`None`) and the caller re-encodes from pixels instead.
//!
//! Dropped: every APPn segment (EXIF, GPS, XMP, ICC, IPTC, maker notes, the
//! JFIF thumbnail), comments, and every byte after the first image's end
//! (multi-picture extensions, motion-photo video, appended files).

/// A minimal JFIF APP0: version 1.01, no density unit, 1:1, no thumbnail.
const JFIF: [u8; 18] = [
    0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00,
];

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DQT: u8 = 0xDB;
const DHT: u8 = 0xC4;
const DRI: u8 = 0xDD;
/// Baseline and extended sequential Huffman frames.
const SOF_SEQUENTIAL: [u8; 2] = [0xC0, 0xC1];

/// `jpeg` without its metadata, or `None` when it is not a plain sequential
/// 8-bit JPEG with one scan and YCbCr (ids 1, 2, 3) or greyscale components,
/// or when its structure is damaged.
pub fn strip_jpeg(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut rest = jpeg.strip_prefix(&[0xFF, SOI])?;
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&[0xFF, SOI]);
    out.extend_from_slice(&JFIF);
    let (mut frame, mut scan) = (false, false);
    loop {
        let (marker, after) = next_marker(rest)?;
        match marker {
            EOI if scan => {
                out.extend_from_slice(&[0xFF, EOI]);
                return Some(out);
            }
            0xE0..=0xEF | 0xFE => {
                // APPn, comment: dropped, but an Adobe segment changes how the
                // components are read, so such a file is left to re-encoding.
                let (body, tail) = segment(after)?;
                if marker == 0xEE && body.starts_with(b"Adobe") {
                    return None;
                }
                rest = tail;
            }
            DQT | DHT | DRI if !scan => {
                let (body, tail) = segment(after)?;
                push_segment(&mut out, marker, body);
                rest = tail;
            }
            m if SOF_SEQUENTIAL.contains(&m) && !frame => {
                let (body, tail) = segment(after)?;
                if !plain_frame(body) {
                    return None;
                }
                push_segment(&mut out, marker, body);
                frame = true;
                rest = tail;
            }
            SOS if frame && !scan => {
                let (body, tail) = segment(after)?;
                push_segment(&mut out, marker, body);
                let data = entropy_coded_len(tail)?;
                out.extend_from_slice(&tail[..data]);
                scan = true;
                rest = &tail[data..];
            }
            // Progressive, lossless, arithmetic, hierarchical, a second scan
            // or frame, DNL: not for this path.
            _ => return None,
        }
    }
}

/// The marker code at the start of `bytes` (after any fill bytes) and what follows it.
fn next_marker(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let mut i = 0;
    if *bytes.first()? != 0xFF {
        return None;
    }
    while *bytes.get(i)? == 0xFF {
        i += 1;
    }
    let code = *bytes.get(i)?;
    (code != 0x00).then(|| (code, &bytes[i + 1..]))
}

/// A length-prefixed segment's body and what follows it.
fn segment(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::from(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]));
    if len < 2 || len > bytes.len() {
        return None;
    }
    Some((&bytes[2..len], &bytes[len..]))
}

fn push_segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// 8-bit samples; one component, or three with the ids 1, 2, 3 that JFIF's
/// YCbCr expects (a file naming them 'R', 'G', 'B' means RGB without JFIF).
fn plain_frame(body: &[u8]) -> bool {
    let [precision, _, _, _, _, n, comps @ ..] = body else { return false };
    if *precision != 8 || comps.len() != usize::from(*n) * 3 {
        return false;
    }
    match n {
        1 => true,
        3 => comps.chunks_exact(3).map(|c| c[0]).eq([1, 2, 3]),
        _ => false,
    }
}

/// The length of the entropy-coded data at the start of `bytes`: up to the
/// first marker that is neither a stuffed zero nor a restart marker.
fn entropy_coded_len(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 => i += 2,
            _ => return Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{exif_app1, jpeg, with_segment};

    fn pixels(bytes: &[u8]) -> Vec<u8> {
        crate::decode(bytes, 40_000_000, None).unwrap().rgb.into_raw()
    }

    #[test]
    fn drops_metadata_and_trailers_and_keeps_every_pixel() {
        let clean = jpeg(320, 200);
        let comment = [&[0xFF, 0xFE, 0x00, 0x0C][..], b"secret one"].concat();
        let mut dirty = with_segment(&with_segment(&clean, &exif_app1(1, 52.1, 5.1)), &comment);
        dirty.extend_from_slice(b"appended video or a second image");
        let stripped = strip_jpeg(&dirty).unwrap();
        assert_eq!(pixels(&stripped), pixels(&clean));
        for needle in [&b"Exif"[..], b"secret", b"appended"] {
            assert!(!stripped.windows(needle.len()).any(|w| w == needle), "{needle:?} survived");
        }
        assert!(stripped.ends_with(&[0xFF, EOI]));
        assert_eq!(stripped[2..2 + JFIF.len()], JFIF);
        assert_eq!(strip_jpeg(&stripped).unwrap(), stripped, "stripping is idempotent");
    }

    #[test]
    fn entropy_coded_data_runs_past_stuffed_bytes_and_restart_markers() {
        let data = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF, EOI];
        assert_eq!(entropy_coded_len(&data), Some(7), "up to the fill bytes before the end marker");
        assert_eq!(entropy_coded_len(&data[..6]), None, "no marker: cut off");
        assert_eq!(next_marker(&data[7..]), Some((EOI, &[][..])));
    }

    #[test]
    fn libjpeg_files_are_kept_or_left_as_they_should_be() {
        // Restart markers, greyscale, 4:4:4 and optimised tables are kept, pixel for pixel.
        for (name, file) in [
            ("plain", &include_bytes!("../fixtures/plain.jpg")[..]),
            ("rst", include_bytes!("../fixtures/rst.jpg")),
            ("gray", include_bytes!("../fixtures/gray.jpg")),
            ("s444", include_bytes!("../fixtures/s444.jpg")),
            ("opt", include_bytes!("../fixtures/opt.jpg")),
        ] {
            let stripped = strip_jpeg(file).unwrap_or_else(|| panic!("{name} not kept"));
            assert_eq!(pixels(&stripped), pixels(file), "{name}");
        }
        assert!(include_bytes!("../fixtures/rst.jpg").windows(2).any(|w| w == [0xFF, 0xD0]));
        // Progressive, arithmetic and RGB-coded files are re-encoded instead.
        for file in [
            &include_bytes!("../fixtures/prog.jpg")[..],
            include_bytes!("../fixtures/arith.jpg"),
            include_bytes!("../fixtures/rgb.jpg"),
        ] {
            assert_eq!(strip_jpeg(file), None);
        }
    }

    #[test]
    fn leaves_unusual_and_damaged_files_to_re_encoding() {
        let clean = jpeg(64, 64);
        let adobe = [&[0xFF, 0xEE, 0x00, 0x0E][..], b"Adobe", &[0, 100, 0, 0, 0, 0, 0]].concat();
        assert_eq!(strip_jpeg(&with_segment(&clean, &adobe)), None);
        let mut progressive = clean.clone();
        let sof = progressive.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        progressive[sof + 1] = 0xC2;
        assert_eq!(strip_jpeg(&progressive), None);
        let mut rgb_ids = clean.clone();
        rgb_ids[sof + 10] = b'R';
        assert_eq!(strip_jpeg(&rgb_ids), None);
        assert_eq!(strip_jpeg(&clean[..clean.len() - 2]), None, "no end of image");
        assert_eq!(strip_jpeg(&clean[..clean.len() / 2]), None);
        assert_eq!(strip_jpeg(&[0xFF, SOI, 0xFF, 0xE1, 0xFF, 0xFF]), None, "a segment longer than the file");
        assert_eq!(strip_jpeg(b"not a jpeg"), None);
    }
}
