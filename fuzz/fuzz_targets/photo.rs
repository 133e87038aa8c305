//! The photo pipeline on any bytes, every format: sniffing, the header check,
//! decoding (strict: a warning is an error), EXIF, fitting, re-encoding and
//! the lossless metadata strip.
//! It may refuse anything; it must never crash, hang or allocate past the
//! pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Small enough that the fuzzer spends its time on structure, not on pixels.
const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    let _ = kvo_photo::sniff(data);
    let _ = kvo_photo::parse_exif(data);
    let decoded = kvo_photo::decode(data, MAX_PIXELS, Some(256));
    if let (Ok(decoded), Some(stripped)) = (&decoded, kvo_photo::strip_jpeg(data)) {
        // What is kept decodes to the very same pixels, and is kept again as it is.
        let again = kvo_photo::decode(&stripped, MAX_PIXELS, Some(256)).expect("a stripped photo decodes");
        assert!(again.rgb == decoded.rgb, "stripping changed the pixels");
        assert_eq!(kvo_photo::strip_jpeg(&stripped).as_deref(), Some(&stripped[..]));
    }
    if let Ok(decoded) = decoded {
        let (w, h) = decoded.rgb.dimensions();
        assert!(u64::from(w) * u64::from(h) <= MAX_PIXELS, "{w}×{h} decoded past the limit");
        if let Ok(small) = kvo_photo::fit(decoded.rgb, 256) {
            let img = kvo_photo::orient(small, decoded.exif.orientation);
            let jpeg = kvo_photo::encode_jpeg(&img, 80).expect("a decoded image encodes");
            assert_eq!(kvo_photo::sniff(&jpeg), Some(kvo_photo::Format::Jpeg));
        }
    }
});
