//! Captcha ids: no id made up by a visitor is taken as genuine, and
//! genuine ids always have a five-character answer and an image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsdesk::captcha;

const SECRET: &[u8] = b"fuzzing secret key of at least thirty-two bytes";

fuzz_target!(|id: &str| {
    assert!(
        captcha::answer_of(SECRET, id).is_none(),
        "forged id accepted: {id:?}"
    );
    assert!(captcha::image(SECRET, id).is_none());
    if id.len() % 64 == 0 {
        let genuine = captcha::issue(SECRET);
        let answer = captcha::answer_of(SECRET, &genuine).expect("a genuine id");
        assert_eq!(answer.chars().count(), 5);
        // One character changed anywhere breaks the signature.
        let mut forged: Vec<char> = genuine.chars().collect();
        let at = id.len() % forged.len();
        forged[at] = if forged[at] == '0' { '1' } else { '0' };
        let forged: String = forged.into_iter().collect();
        assert!(captcha::answer_of(SECRET, &forged).is_none() || forged == genuine);
    }
});
