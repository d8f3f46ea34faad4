//! Two-factor login for staff: time-based one-time passwords (RFC 6238,
//! totp-rs: SHA-1, six digits, thirty-second steps, the step before and the
//! step after accepted for clocks that drift) and ten one-time recovery codes
//! for a lost phone. A code is taken once: the last step accepted is kept and
//! only a later one passes. Recovery codes are stored as SHA-256 hashes.

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use totp_rs::{Algorithm, TOTP};

use crate::ids::UserId;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// Wrong codes a pending login may try before it must start again.
pub const MAX_FAILURES: i32 = 5;

fn totp(secret: &[u8], account: &str, issuer: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
}

/// A new secret of 160 bits, as RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// What an authenticator app needs: the secret in base32 (typed by hand)
/// and a QR code of its otpauth URL as a PNG data URL.
pub fn enrolment(secret: &[u8], account: &str, issuer: &str) -> (String, Option<String>) {
    let totp = totp(secret, account, issuer);
    let qr = totp
        .get_qr_base64()
        .ok()
        .map(|png| format!("data:image/png;base64,{png}"));
    (totp.get_secret_base32(), qr)
}

/// The code of `secret` at the Unix time `time` (for tests and the app).
pub fn code_at(secret: &[u8], time: u64) -> String {
    totp(secret, "", "").generate(time)
}

/// The step a typed code belongs to: the one before now, now, or the one
/// after, and only one later than `last_step`.
pub fn matching_step(secret: &[u8], typed: &str, last_step: i64, now: u64) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != 6 || !typed.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = now / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|&step| step as i64 > last_step)
        .find(|&step| {
            let code = code_at(secret, step * STEP);
            // Compared without an early exit.
            code.bytes()
                .zip(typed.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
        .map(|step| step as i64)
}

/// The Unix time, in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn hash_code(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

/// Makes the account's recovery codes anew (the old ones stop working) and
/// returns them, to be shown once.
pub async fn new_recovery_codes(
    conn: &mut PgConnection,
    user: UserId,
) -> sqlx::Result<Vec<String>> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let part = |rng: &mut rand::rngs::ThreadRng| -> String {
                (0..4)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                    .collect()
            };
            format!("{}-{}", part(&mut rng), part(&mut rng))
        })
        .collect();
    sqlx::query("delete from recovery_codes where user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await?;
    for code in &codes {
        sqlx::query("insert into recovery_codes (user_id, code_hash) values ($1, $2)")
            .bind(user)
            .bind(hash_code(code))
            .execute(&mut *conn)
            .await?;
    }
    Ok(codes)
}

/// How a second factor was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Code,
    RecoveryCode,
}

/// Checks a typed code (or a recovery code) against the account's secret,
/// using it up: a code's step, a recovery code itself. `None`: refused.
pub async fn prove(
    conn: &mut PgConnection,
    user: UserId,
    typed: &str,
) -> sqlx::Result<Option<Proof>> {
    let stored: Option<(Option<Vec<u8>>, i64)> =
        sqlx::query_as("select totp_secret, totp_last_step from users where id = $1")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((Some(secret), last_step)) = stored else {
        return Ok(None);
    };
    if let Some(step) = matching_step(&secret, typed, last_step, now()) {
        // Taken only if no other request took this step meanwhile.
        let taken = sqlx::query(
            "update users set totp_last_step = $2 where id = $1 and totp_last_step < $2",
        )
        .bind(user)
        .bind(step)
        .execute(&mut *conn)
        .await?;
        return Ok((taken.rows_affected() == 1).then_some(Proof::Code));
    }
    let used = sqlx::query(
        "update recovery_codes set used_at = now()
         where user_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(user)
    .bind(hash_code(typed))
    .execute(&mut *conn)
    .await?;
    Ok((used.rows_affected() == 1).then_some(Proof::RecoveryCode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (eight digits); its
        // last six are what a six-digit code shows.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
    }

    #[test]
    fn a_code_passes_one_step_early_or_late_and_only_once() {
        let secret = new_secret();
        let now = 1_700_000_000;
        let step = (now / STEP) as i64;
        let current = code_at(&secret, now);
        assert_eq!(matching_step(&secret, &current, 0, now), Some(step));
        assert_eq!(
            matching_step(&secret, &current, step, now),
            None,
            "replayed"
        );
        let late = code_at(&secret, now - STEP);
        assert_eq!(matching_step(&secret, &late, 0, now), Some(step - 1));
        let early = code_at(&secret, now + STEP);
        assert_eq!(matching_step(&secret, &early, 0, now), Some(step + 1));
        let stale = code_at(&secret, now - 2 * STEP);
        assert_eq!(
            matching_step(&secret, &stale, 0, now),
            None,
            "two steps off"
        );
        assert_eq!(matching_step(&secret, "12345", 0, now), None);
        assert_eq!(matching_step(&secret, "abcdef", 0, now), None);
    }
}
