//! The search box: any query becomes at most eight distinct words of
//! letters and digits, and a snippet of any text is made of its own
//! characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::search::{query_words, snippet, words};

fuzz_target!(|input: (String, String)| {
    let (query, text) = input;
    let asked = query_words(&query);
    assert!(asked.len() <= 8);
    for word in &asked {
        assert!(
            !word.is_empty() && word.chars().all(char::is_alphanumeric),
            "{word:?}"
        );
    }
    let mut unique = asked.clone();
    unique.dedup();
    assert_eq!(unique.len(), asked.len());
    let pieces = snippet(&text, &asked);
    let shown: String = pieces.iter().map(|piece| piece.text.as_str()).collect();
    let trimmed = shown.trim_matches('…');
    assert!(
        text.contains(trimmed) || trimmed.is_empty(),
        "{shown:?} not from {text:?}"
    );
    let _ = words(&text);
});
