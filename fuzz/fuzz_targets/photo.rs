//! The photo pipeline on any bytes, every format: sniffing, the header check,
//! decoding (strict: a warning is an error), EXIF, fitting and re-encoding.
//! It may refuse anything; it must never crash, hang or allocate past the
//! pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Small enough that the fuzzer spends its time on structure, not on pixels.
const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    let _ = kvo_photo::sniff(data);
    let _ = kvo_photo::parse_exif(data);
    if let Ok(decoded) = kvo_photo::decode(data, MAX_PIXELS, Some(256)) {
        let (w, h) = decoded.rgb.dimensions();
        assert!(u64::from(w) * u64::from(h) <= MAX_PIXELS, "{w}×{h} decoded past the limit");
        if let Ok(small) = kvo_photo::fit(decoded.rgb, 256) {
            let img = kvo_photo::orient(small, decoded.exif.orientation);
            let jpeg = kvo_photo::encode_jpeg(&img, 80).expect("a decoded image encodes");
            assert_eq!(kvo_photo::sniff(&jpeg), Some(kvo_photo::Format::Jpeg));
        }
    }
});
