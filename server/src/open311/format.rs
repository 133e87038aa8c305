//! Open311's two formats from one value: JSON as it is, and XML with the
//! same elements, so that the JSON mirrors the XML by construction. A list
//! becomes an element per item, named as GeoReport v2 names it.

use serde_json::Value;

/// A response format, from the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// `"services.xml"` → `("services", Xml)`; `None` for another extension.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (name, ext) = file.rsplit_once('.')?;
        let format = match ext {
            "xml" => Format::Xml,
            "json" => Format::Json,
            _ => return None,
        };
        Some((name, format))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// `value` in this format; `root` names the XML document's element.
    pub fn render(self, root: &str, value: &Value) -> Vec<u8> {
        match self {
            Format::Json => serde_json::to_vec(value).unwrap_or_default(),
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
                element(&mut out, root, value);
                out.into_bytes()
            }
        }
    }
}

/// The element name of one item of the list `list`.
fn item_name(list: &str) -> &str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "errors" => "error",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        _ => "item",
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape(out, s),
        Value::Array(items) => {
            for item in items {
                element(out, item_name(name), item);
            }
        }
        Value::Object(fields) => {
            for (k, v) in fields {
                element(out, k, v);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Text content with `&`, `<` and `>` escaped, and the characters XML 1.0
/// does not allow left out.
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_named_items_and_text_is_escaped() {
        let v = json!([{"service_code": "a&b", "metadata": true, "keywords": null}]);
        let xml = String::from_utf8(Format::Xml.render("services", &v)).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><services><service><keywords></keywords>\
             <metadata>true</metadata><service_code>a&amp;b</service_code></service></services>"
        );
        assert_eq!(Format::Json.render("services", &v), serde_json::to_vec(&v).unwrap());
        let bad = String::from_utf8(Format::Xml.render("error", &json!("<x>\u{1}"))).unwrap();
        assert!(bad.ends_with("<error>&lt;x&gt;</error>"), "{bad}");
    }

    #[test]
    fn the_extension_names_the_format() {
        assert_eq!(Format::split("services.xml"), Some(("services", Format::Xml)));
        assert_eq!(Format::split("requests.json"), Some(("requests", Format::Json)));
        assert_eq!(Format::split("requests.csv"), None);
        assert_eq!(Format::split("requests"), None);
    }
}
