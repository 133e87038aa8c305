//! An invite as people receive it: a link into the reporting app that
//! redeems the code (`/melden/#code=KVO-…`; the code stays in the fragment,
//! so it never reaches a server log), and that link as a QR code to print or
//! show at the ondernemersvereniging's meeting.

use qrcode::{EcLevel, QrCode, render::svg};

/// The reporting app's link that redeems `code` on `base` (the server's public URL).
pub fn link(base: &str, code: &str) -> String {
    format!("{}/melden/#code={code}", base.trim_end_matches('/'))
}

/// `link` as an SVG QR code (error correction M, quiet zone included),
/// at least `min_px` pixels wide.
pub fn qr_svg(link: &str, min_px: u32) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(min_px, min_px)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_the_code_in_the_fragment() {
        assert_eq!(link("https://kvo.example.nl/", "KVO-ABC"), "https://kvo.example.nl/melden/#code=KVO-ABC");
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_right_size() {
        let svg = qr_svg(&link("https://kvo.example.nl", "KVO-ABCD-EFGH-JKLM"), 300).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..80]);
        let width: u32 = svg.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(width >= 300, "{width}");
        // Different links, different codes.
        assert_ne!(svg, qr_svg(&link("https://kvo.example.nl", "KVO-ZZZZ-EFGH-JKLM"), 300).unwrap());
    }
}
