//! A comment's way in: the sensitive-word list built from arbitrary words
//! finds every listed word written plainly in the text, in Simplified or
//! Traditional script, and the page's 繁體 conversion takes any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::comments::words::WordList;
use newsdesk::web::variant::to_traditional;

fuzz_target!(|input: (Vec<String>, String)| {
    let (words, text) = input;
    let list = WordList::new(&words);
    let found = list.find(&text);
    for word in found.iter() {
        assert!(!word.is_empty());
    }
    // A listed word placed in the text is always found.
    if let Some(word) = words.iter().find(|w| w.chars().any(char::is_alphanumeric)) {
        let planted = format!("{text} {word} ");
        assert!(
            !list.find(&planted).is_empty(),
            "{word:?} not found in {planted:?}"
        );
    }
    let _ = to_traditional(&text);
});
