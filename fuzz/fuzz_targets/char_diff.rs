//! The revision compare: the runs of a character diff give back both texts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::articles::diff::diff_chars;

fuzz_target!(|input: (String, String)| {
    let (old, new) = input;
    let segments = diff_chars(&old, &new);
    let before: String = segments
        .iter()
        .filter(|s| !s.is_added())
        .map(|s| s.text.as_str())
        .collect();
    let after: String = segments
        .iter()
        .filter(|s| !s.is_removed())
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(before, old);
    assert_eq!(after, new);
    for pair in segments.windows(2) {
        assert_ne!(pair[0].kind, pair[1].kind, "runs are merged");
    }
});
