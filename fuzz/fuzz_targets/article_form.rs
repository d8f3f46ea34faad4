//! The article form as a browser (or anyone) posts it: any body decodes or
//! is refused, and an accepted story keeps to the form's limits, with a
//! sanitised body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::articles::body::SanitizedHtml;
use newsdesk::articles::form::ArticleForm;

fuzz_target!(|body: &[u8]| {
    let Ok(form) = serde_urlencoded::from_bytes::<ArticleForm>(body) else {
        return;
    };
    match form.parse("国家电网报") {
        Ok(input) => {
            assert!(!input.title.trim().is_empty());
            assert!(input.title.chars().count() <= newsdesk::articles::form::TITLE_MAX);
            assert_eq!(
                SanitizedHtml::clean(input.body.as_str()).as_str(),
                input.body.as_str()
            );
            for tag in &input.tags {
                assert!(!tag.trim().is_empty());
            }
        }
        Err(refusal) => {
            assert!(!refusal.messages.is_empty());
            for (field, message) in &refusal.messages {
                assert!(!field.is_empty() && !message.is_empty());
            }
        }
    }
});
