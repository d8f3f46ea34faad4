//! Upload sniffing and decoding: any bytes are either refused with a
//! message or become a photo within the pixel limit, with all three sizes.
//!
//! A few bytes of header can declare a picture of tens of millions of
//! pixels, which the product decodes, resizes and encodes in seconds (it
//! refuses more than 40 million). Such inputs are read to their dimensions
//! and the pixel check here; the whole pipeline runs for pictures of up to
//! a quarter of a million pixels (500 × 500), so that the decoders are
//! fuzzed at thousands of inputs a second rather than a few hundred.
#![no_main]

use std::io::Cursor;

use image::ImageReader;
use libfuzzer_sys::fuzz_target;
use newsdesk::media::{MAX_PIXELS, process, sniff};

const FULLY_PROCESSED_PIXELS: u64 = 250_000;

fuzz_target!(|bytes: &[u8]| {
    let Some((_, format)) = sniff(bytes) else {
        assert!(
            process(bytes).is_err(),
            "processed bytes that are no image we take"
        );
        return;
    };
    let declared = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map(|(w, h)| u64::from(w) * u64::from(h));
    if declared.is_ok_and(|pixels| pixels > FULLY_PROCESSED_PIXELS) {
        return;
    }
    match process(bytes) {
        Ok(photo) => {
            assert!(u64::from(photo.width) * u64::from(photo.height) <= MAX_PIXELS);
            assert!(!photo.original.is_empty() && !photo.display.is_empty());
            assert!(!photo.thumb.is_empty());
        }
        Err(refusal) => assert!(!refusal.summary().is_empty()),
    }
});
