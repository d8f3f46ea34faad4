//! The article body sanitiser: whatever comes in, what comes out carries no
//! script, no event handler, no foreign image, and cleaning it again
//! changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::articles::body::SanitizedHtml;

fuzz_target!(|html: &str| {
    let clean = SanitizedHtml::clean(html);
    let out = clean.as_str().to_ascii_lowercase();
    assert!(!out.contains("<script"), "{out}");
    assert!(!out.contains("<iframe"), "{out}");
    assert!(!out.contains("<style"), "{out}");
    // Text may say anything (its `<` is escaped); what a tag carries may not.
    for attribute in out.split('<').skip(1).filter_map(|tag| tag.split('>').next()) {
        assert!(!attribute.contains("javascript:"), "script link kept: {out}");
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
