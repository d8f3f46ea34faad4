//! The article body sanitiser: whatever comes in, what comes out carries no
//! script, no event handler, no foreign image, and cleaning it again
//! changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::articles::body::SanitizedHtml;

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
    ["javascript:", "vbscript:", "data:"].iter().any(|scheme| url.starts_with(scheme))
}

fuzz_target!(|html: &str| {
    let clean = SanitizedHtml::clean(html);
    let out = clean.as_str().to_ascii_lowercase();
    assert!(!out.contains("<script"), "{out}");
    assert!(!out.contains("<iframe"), "{out}");
    assert!(!out.contains("<style"), "{out}");
    // Text may say anything (its `<` is escaped); what a tag carries may not.
    for attribute in out.split('<').skip(1).filter_map(|tag| tag.split('>').next()) {
        for name in ["href=\"", "src=\""] {
            for value in attribute.split(name).skip(1) {
                assert!(!runs_script(value.split('"').next().unwrap_or("")), "script link kept: {out}");
            }
        }
        // An attribute is `name="value"`, and a value's own quotes are
        // escaped, so `="` marks where a real attribute starts.
        for word in attribute.split_whitespace().skip(1) {
            assert!(!(word.starts_with("on") && word.contains("=\"")), "event handler kept: {out}");
            assert!(!word.starts_with("style=\""), "style kept: {out}");
        }
        if attribute.starts_with("img ") {
            assert!(attribute.contains("src=\"/media/") || !attribute.contains("src="), "{out}");
        }
    }
    let again = SanitizedHtml::clean(clean.as_str());
    assert_eq!(again.as_str(), clean.as_str(), "cleaning is idempotent");
    let _ = clean.plain_text();
});
