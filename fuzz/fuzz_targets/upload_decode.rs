//! Upload sniffing and decoding: any bytes are either refused with a
//! message or become a photo within the pixel limit, with all three sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::media::{MAX_PIXELS, process, sniff};

fuzz_target!(|bytes: &[u8]| {
    let sniffed = sniff(bytes);
    match process(bytes) {
        Ok(photo) => {
            assert!(sniffed.is_some(), "processed bytes that are no image we take");
            assert!(u64::from(photo.width) * u64::from(photo.height) <= MAX_PIXELS);
            assert!(!photo.original.is_empty() && !photo.display.is_empty());
            assert!(!photo.thumb.is_empty());
        }
        Err(refusal) => assert!(!refusal.0.is_empty()),
    }
});
