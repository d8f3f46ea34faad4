//! The 繁體 twin of a page: any HTML converts, keeps its markup (as many
//! tags) and keeps links to files and the backend in place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::web::variant::to_traditional;

fuzz_target!(|html: &str| {
    let converted = to_traditional(html);
    assert_eq!(
        converted.matches('<').count(),
        html.matches('<').count(),
        "markup changed"
    );
    assert!(!converted.contains("href=\"/zh-hant/static/"));
    assert!(!converted.contains("href=\"/zh-hant/admin"));
});
