//! The article body sanitiser: whatever comes in, what comes out carries no
//! script, no event handler, no style, no foreign image, and cleaning it
//! again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::articles::body::SanitizedHtml;

/// The tags of serialised HTML with their attributes. Text escapes `<`, and
/// attribute values are double-quoted with `"` escaped, so a small scanner
/// reads what a browser would.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = html[at..].find('<') {
        let mut j = at + start + 1;
        let name_end = html[j..]
            .find([' ', '>', '/'])
            .map_or(html.len(), |k| j + k.max(1));
        let name = html[j..name_end].to_ascii_lowercase();
        j = name_end;
        let mut attributes = Vec::new();
        loop {
            let rest = &html[j..];
            let trimmed = rest.trim_start_matches(' ');
            j += rest.len() - trimmed.len();
            if trimmed.is_empty() {
                break;
            }
            if trimmed.starts_with('>') {
                j += 1;
                break;
            }
            if trimmed.starts_with('/') {
                j += 1;
                continue;
            }
            let name_end = trimmed.find(['=', ' ', '>']).unwrap_or(trimmed.len());
            let attribute = trimmed[..name_end].to_ascii_lowercase();
            j += name_end;
            if html[j..].starts_with("=\"") {
                j += 2;
                let value_end = html[j..].find('"').map_or(html.len(), |k| j + k);
                attributes.push((attribute, html[j..value_end].to_string()));
                j = (value_end + 1).min(html.len());
            } else {
                attributes.push((attribute, String::new()));
            }
        }
        found.push((name, attributes));
        at = j;
    }
    found
}

/// Whether a link a browser reads from this attribute value runs script:
/// entities decoded, tabs and line breaks dropped, leading spaces and
/// controls trimmed, as the URL parser does.
fn runs_script(value: &str) -> bool {
    let decoded = value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let url: String = decoded
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

fuzz_target!(|html: &str| {
    let clean = SanitizedHtml::clean(html);
    let out = clean.as_str();
    for (name, attributes) in tags(out) {
        let name = name.trim_start_matches('/');
        assert!(
            !matches!(
                name,
                "script" | "iframe" | "style" | "object" | "embed" | "svg" | "math"
            ),
            "{name} kept: {out}"
        );
        for (attribute, value) in &attributes {
            assert!(!attribute.starts_with("on"), "event handler kept: {out}");
            assert_ne!(attribute, "style", "style kept: {out}");
            if attribute == "href" || attribute == "src" {
                assert!(!runs_script(value), "script link kept: {out}");
            }
            if name == "img" && attribute == "src" {
                assert!(value.starts_with("/media/"), "foreign image kept: {out}");
            }
        }
    }
    let again = SanitizedHtml::clean(out);
    assert_eq!(again.as_str(), out, "cleaning is idempotent");
    let _ = clean.plain_text();
});
