//! The captcha in front of comments, registration and logins under attack.
//!
//! A captcha id is `expiry-nonce-signature`, signed with the installation's
//! secret key, so any instance can issue one without writing anything and
//! check one issued by another. The answer is derived from the nonce with
//! the same key. Answering uses it up: its nonce is recorded in the database
//! until it expires, so an answered captcha can never be replayed, on any
//! instance. Captchas last five minutes; answers ignore case.
//!
//! A reader who cannot see the image asks for a question instead (a sum in
//! words, read out by a screen reader): its nonce starts with `q`, so the
//! kind is signed with the id and a question's id shows no image.
//!
//! For automated tests, NEWSDESK_TEST_CAPTCHA makes one value the answer to
//! every captcha (the server only accepts that on a loopback address).

use std::io::Cursor;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use rand::RngCore;
use sqlx::PgConnection;
use subtle::ConstantTimeEq;

use crate::error::{AppError, FormError};
use crate::state::AppState;

/// How long a captcha can be answered, in seconds.
pub const LIFETIME: i64 = 300;
/// The image's size in pixels, as the forms show it.
pub const WIDTH: u32 = 200;
pub const HEIGHT: u32 = 70;
const LENGTH: usize = 5;
/// Letters and digits that cannot be mistaken for one another.
const ALPHABET: &[u8] = b"ACDEFHJKLMNPRTUXY3479";

fn mac(secret: &[u8], purpose: &str, data: &str) -> [u8; 32] {
    crate::secret::keyed_hash(secret, purpose, data.as_bytes())
}

fn signature(secret: &[u8], expiry: i64, nonce: &str) -> String {
    hex::encode(&mac(secret, "newsdesk captcha id", &format!("{expiry}-{nonce}"))[..10])
}

/// A new captcha id.
pub fn issue(secret: &[u8]) -> String {
    issue_expiring(secret, Utc::now().timestamp() + LIFETIME)
}

/// A new captcha id that expires at `expiry` (seconds since 1970).
pub fn issue_expiring(secret: &[u8], expiry: i64) -> String {
    issue_kind(secret, expiry, "")
}

/// A new question captcha (for readers who cannot see the image).
pub fn issue_question(secret: &[u8]) -> String {
    issue_kind(secret, Utc::now().timestamp() + LIFETIME, QUESTION)
}

/// The prefix of a question captcha's nonce.
const QUESTION: &str = "q";

fn issue_kind(secret: &[u8], expiry: i64, prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = format!("{prefix}{}", hex::encode(bytes));
    format!("{expiry}-{nonce}-{}", signature(secret, expiry, &nonce))
}

/// The numbers a question captcha asks about, and its operation.
fn sum(secret: &[u8], nonce: &str) -> (u32, char, u32) {
    let bytes = mac(secret, "newsdesk captcha question", nonce);
    let (a, b) = (u32::from(bytes[0] % 9) + 1, u32::from(bytes[1] % 9) + 1);
    match bytes[2] % 3 {
        0 => (a + 10, '加', b),
        1 => (a + 10, '减', b),
        _ => (a, '乘', b),
    }
}

/// A number from 1 to 99 in Chinese numerals (十二, 二十一).
fn in_words(number: u32) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let (tens, ones) = (number / 10, number % 10);
    let mut words = String::new();
    if tens > 1 {
        words.push(DIGITS[tens as usize]);
    }
    if tens > 0 {
        words.push('十');
    }
    if ones > 0 || tens == 0 {
        words.push(DIGITS[ones as usize]);
    }
    words
}

/// The question of a genuine question captcha id, as it is read out.
pub fn question_of(secret: &[u8], id: &str) -> Option<String> {
    let (_, nonce) = parse(secret, id)?;
    nonce.starts_with(QUESTION).then(|| {
        let (a, op, b) = sum(secret, nonce);
        format!("{}{op}{}等于多少？请用数字作答。", in_words(a), in_words(b))
    })
}

/// The answer to a genuine captcha id (what its image shows).
pub fn answer_of(secret: &[u8], id: &str) -> Option<String> {
    parse(secret, id).map(|(_, nonce)| answer(secret, nonce))
}

/// The expiry and nonce of a genuine id.
fn parse<'a>(secret: &[u8], id: &'a str) -> Option<(i64, &'a str)> {
    let mut parts = id.splitn(3, '-');
    let (expiry, nonce, signed) = (parts.next()?, parts.next()?, parts.next()?);
    let expiry: i64 = expiry.parse().ok()?;
    let expected = signature(secret, expiry, nonce);
    bool::from(expected.as_bytes().ct_eq(signed.as_bytes())).then_some((expiry, nonce))
}

/// The characters the image of `nonce` shows, or the number that answers
/// its question.
fn answer(secret: &[u8], nonce: &str) -> String {
    if nonce.starts_with(QUESTION) {
        let (a, op, b) = sum(secret, nonce);
        let result = match op {
            '加' => a + b,
            '减' => a - b,
            _ => a * b,
        };
        return result.to_string();
    }
    mac(secret, "newsdesk captcha answer", nonce)
        .iter()
        .take(LENGTH)
        .map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char)
        .collect()
}

/// The form field a captcha's answer is typed in.
pub const FIELD: &str = "captcha_answer";
const WRONG: &str = "验证码不正确，请重新输入。";
const EXPIRED: &str = "验证码已过期，请重新输入新的验证码。";
const USED: &str = "验证码已使用过，请重新输入新的验证码。";

fn refused(message: &str) -> Result<(), AppError> {
    Err(FormError::field(FIELD, message).into())
}

/// Checks a form's answer with the installation's key (and the test
/// answer, when set); uses the captcha up, right or wrong.
pub async fn check_form(
    conn: &mut PgConnection,
    state: &AppState,
    id: &str,
    given: &str,
) -> Result<(), AppError> {
    check(
        conn,
        state.secret.as_bytes(),
        state.test_captcha.as_deref(),
        id,
        given,
    )
    .await
}

/// Checks an answer and uses the captcha up, right or wrong.
pub async fn check(
    conn: &mut PgConnection,
    secret: &[u8],
    test_answer: Option<&str>,
    id: &str,
    given: &str,
) -> Result<(), AppError> {
    let Some((expiry, nonce)) = parse(secret, id.trim()) else {
        return refused(WRONG);
    };
    if expiry <= Utc::now().timestamp() {
        return refused(EXPIRED);
    }
    let fresh = sqlx::query!(
        "insert into captcha_uses (nonce, expires_at) values ($1, to_timestamp($2))
         on conflict do nothing",
        nonce,
        expiry as f64,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if nonce.starts_with('0') {
        sqlx::query!("delete from captcha_uses where expires_at < now()")
            .execute(&mut *conn)
            .await?;
    }
    if !fresh {
        return refused(USED);
    }
    let expected = test_answer.map_or_else(|| answer(secret, nonce), str::to_owned);
    // Full-width digits and letters, as a Chinese input method types them.
    let given: String = given
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .collect();
    if !given.is_empty() && given.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        refused(WRONG)
    }
}

/// The PNG image of a captcha: its characters drawn in varied colours and
/// angles, with a wavy distortion, lines, ellipses and noise.
pub fn image(secret: &[u8], id: &str) -> Option<Vec<u8>> {
    let (_, nonce) = parse(secret, id)?;
    if nonce.starts_with(QUESTION) {
        return None;
    }
    let captcha = captcha_rs::CaptchaBuilder::new()
        .text(answer(secret, nonce))
        .width(WIDTH)
        .height(HEIGHT)
        .complexity(2)
        .distortion(2)
        .interference_lines(3)
        .interference_ellipses(2)
        .build();
    let mut png = Vec::new();
    captcha
        .image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(png)
}

/// GET /captcha/{id}.png
pub async fn serve_image(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = name
        .strip_suffix(".png")
        .ok_or(AppError::NotFound)?
        .to_owned();
    let secret = state.secret.clone();
    let png = web::block(move || image(secret.as_bytes(), &id))
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "no-store"))
        .body(png))
}

#[derive(serde::Deserialize)]
pub struct FreshQuery {
    #[serde(default)]
    kind: String,
}

/// GET /captcha/new: a fresh captcha for the page's refresh link; with
/// `kind=question`, a question in words instead of an image.
pub async fn fresh(state: web::Data<AppState>, query: web::Query<FreshQuery>) -> HttpResponse {
    let secret = state.secret.as_bytes();
    let body = if query.kind == "question" {
        let id = issue_question(secret);
        serde_json::json!({ "id": id, "question": question_of(secret, &id) })
    } else {
        let id = issue(secret);
        serde_json::json!({ "id": id, "image": format!("/captcha/{id}.png") })
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_signed_and_answers_derived_from_them() {
        let id = issue(b"key one");
        let (expiry, nonce) = parse(b"key one", &id).expect("genuine");
        assert!(expiry > Utc::now().timestamp());
        assert!(
            parse(b"key two", &id).is_none(),
            "another installation's id"
        );
        let forged = format!("{}-{nonce}-{}", expiry + 600, &id[id.len() - 20..]);
        assert!(parse(b"key one", &forged).is_none(), "a lengthened expiry");
        let text = answer(b"key one", nonce);
        assert_eq!(text.len(), LENGTH);
        assert_eq!(text, answer(b"key one", nonce));
        assert_ne!(text, answer(b"key two", nonce));
    }

    #[test]
    fn answers_use_no_characters_that_look_alike() {
        for pair in ["B8", "G6", "C6", "S5", "WM", "O0", "I1", "Z2", "UV"] {
            let both = pair.bytes().all(|c| ALPHABET.contains(&c));
            assert!(!both, "{pair} are both in the alphabet");
        }
        for c in [
            b'B', b'8', b'G', b'6', b'S', b'5', b'W', b'O', b'0', b'I', b'1',
        ] {
            assert!(!ALPHABET.contains(&c), "{}", c as char);
        }
        let text = answer(b"key", "nonce");
        assert!(text.bytes().all(|c| ALPHABET.contains(&c)));
    }

    #[test]
    fn questions_are_sums_in_words_answered_in_digits() {
        let secret = b"k";
        for _ in 0..200 {
            let id = issue_question(secret);
            let question = question_of(secret, &id).expect("a question");
            let answer = answer_of(secret, &id).expect("an answer");
            let number: u32 = answer.parse().expect("digits");
            assert!((1..=99).contains(&number), "{question} {answer}");
            assert!(question.ends_with("等于多少？请用数字作答。"), "{question}");
            assert!(!question.chars().any(|c| c.is_ascii_digit()), "{question}");
            assert!(image(secret, &id).is_none(), "a question has no image");
        }
        assert_eq!(in_words(7), "七");
        assert_eq!(in_words(10), "十");
        assert_eq!(in_words(12), "十二");
        assert_eq!(in_words(81), "八十一");
        assert_eq!(in_words(40), "四十");
        // An image captcha has no question.
        assert!(question_of(secret, &issue(secret)).is_none());
    }

    #[test]
    fn the_image_is_a_png() {
        let id = issue(b"key");
        let png = image(b"key", &id).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (WIDTH, HEIGHT));
        assert!(image(b"key", "1-2-3").is_none());
    }
}
