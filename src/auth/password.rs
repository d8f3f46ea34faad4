//! Password hashing: Argon2id with the OWASP-recommended parameters
//! (m = 19456 KiB, t = 2, p = 1, the argon2 crate's defaults), and the
//! password policy every new password must meet.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;

/// Verified against when the account does not exist, so that a wrong
/// username costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("no such account: dummy password").expect("hashing works"));

/// A hash to verify against when an account does not exist.
pub fn dummy_hash() -> String {
    DUMMY_HASH.clone()
}

/// Hashes a password to a PHC string. Slow on purpose: call it from
/// `web::block` or `spawn_blocking` inside request handlers.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("cannot hash password: {error}"))
}

/// Whether `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Password checks running at once, at most one per core: Argon2 takes a
/// core for tens of milliseconds, and a flood of logins must not take every
/// blocking thread (nor, waiting, every pooled connection) from the site.
static CHECKS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
});

/// How long a login waits for a free place before it is told to retry.
const CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a bounded password check did not run.
#[derive(Debug)]
pub enum CheckError {
    /// Every place was taken for the whole wait.
    Busy,
    Failed(anyhow::Error),
}

impl From<CheckError> for crate::error::AppError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::Busy => crate::error::AppError::Busy,
            CheckError::Failed(cause) => crate::error::AppError::Internal(cause),
        }
    }
}

/// Runs `work` (hashing or verifying) on a blocking thread once one of the
/// bounded places is free. Hold no database connection while calling it.
pub async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CheckError> {
    let Ok(Ok(_permit)) = tokio::time::timeout(CHECK_WAIT, CHECKS.acquire()).await else {
        return Err(CheckError::Busy);
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| CheckError::Failed(error.into()))
}

/// A random password that is easy to read out (no 0/O, 1/l/I), with a
/// lowercase letter, an uppercase letter and a digit at least, so that it
/// meets a policy of three character classes.
pub fn generate(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    loop {
        let password: String = (0..length)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        if length < 3 || classes(&password) >= 3 {
            return password;
        }
    }
}

/// How many of the four classes a password's characters come from:
/// lowercase letters, uppercase letters, digits, anything else (symbols,
/// Chinese characters).
pub fn classes(password: &str) -> usize {
    let has = |test: fn(&char) -> bool| password.chars().any(|c| test(&c));
    [
        has(|c| c.is_ascii_lowercase()),
        has(|c| c.is_ascii_uppercase()),
        has(|c| c.is_ascii_digit()),
        has(|c| !c.is_ascii_alphanumeric()),
    ]
    .into_iter()
    .filter(|&present| present)
    .count()
}

/// What the security administrator asks of staff passwords (site settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub min_length: usize,
    /// Character classes a password must mix (0 to 4).
    pub classes: usize,
}

impl Policy {
    /// The policy the site's settings hold.
    pub fn of(settings: &crate::settings::SiteSettings) -> Self {
        Policy {
            min_length: settings.password_min_length.clamp(8, 64) as usize,
            classes: settings.password_classes.clamp(0, 4) as usize,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_length: MIN_LENGTH,
            classes: 3,
        }
    }
}

/// Checks a staff member's new password: the base policy with the site's
/// length, then its character classes.
pub fn check_staff_policy(password: &str, username: &str, policy: &Policy) -> Result<(), String> {
    if password.chars().count() < policy.min_length {
        return Err(format!("密码至少需要 {} 个字符。", policy.min_length));
    }
    check_policy(password, username).map_err(str::to_owned)?;
    if classes(password) < policy.classes {
        return Err(format!(
            "密码需包含小写字母、大写字母、数字、其他符号中的至少 {} 种。",
            policy.classes
        ));
    }
    Ok(())
}

pub const MIN_LENGTH: usize = 10;
const MAX_LENGTH: usize = 128;

static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_lowercase)
        .collect()
});

/// Checks a new password against the policy: at least ten characters, not
/// the username (nor containing it), not a well-known password, not one
/// character repeated. The refusal is the message for the form.
pub fn check_policy(password: &str, username: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err("密码至少需要 10 个字符。");
    }
    if length > MAX_LENGTH {
        return Err("密码不能超过 128 个字符。");
    }
    let lowered = password.to_lowercase();
    let username = username.trim().to_lowercase();
    if !username.is_empty()
        && (lowered == username || (username.chars().count() >= 3 && lowered.contains(&username)))
    {
        return Err("密码不能与用户名相同，也不能包含用户名。");
    }
    let mut chars = lowered.chars();
    let first = chars.next();
    if COMMON.contains(&lowered) || chars.all(|c| Some(c) == first) {
        return Err("该密码过于常见，容易被猜中，请换一个。");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("正确的密码horse-battery").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("正确的密码horse-battery", &stored));
        assert!(!verify("wrong password", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn the_policy_refuses_short_username_and_common_passwords() {
        assert_eq!(
            check_policy("short1!", "zhang"),
            Err("密码至少需要 10 个字符。")
        );
        assert!(check_policy("zhangsan2024", "ZhangSan").is_err());
        assert!(
            check_policy("QwertyUiop", "editor").is_err(),
            "common, whatever the case"
        );
        assert!(check_policy("zzzzzzzzzzzz", "editor").is_err());
        assert!(check_policy("晨光里的变电站2024", "editor").is_ok());
        assert!(check_policy("Tq7-horse-lamp", "editor").is_ok());
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        for _ in 0..200 {
            let password = generate(14);
            assert!(check_policy(&password, "admin").is_ok());
            assert!(check_staff_policy(&password, "admin", &Policy::default()).is_ok());
        }
    }

    #[test]
    fn the_staff_policy_counts_length_and_character_classes() {
        let policy = Policy {
            min_length: 12,
            classes: 3,
        };
        assert_eq!(
            check_staff_policy("Tq7-lamp-h", "editor", &policy),
            Err("密码至少需要 12 个字符。".to_owned())
        );
        assert_eq!(
            check_staff_policy("lamphorsestation", "editor", &policy),
            Err("密码需包含小写字母、大写字母、数字、其他符号中的至少 3 种。".to_owned())
        );
        assert!(check_staff_policy("Tq7-lamp-horse", "editor", &policy).is_ok());
        assert!(check_staff_policy("晨光里的变电站2024abc", "editor", &policy).is_ok());
        assert_eq!(classes("abcABC123!"), 4);
        assert_eq!(classes("变电站"), 1);
    }

    #[test]
    fn generated_passwords_have_the_asked_length() {
        let a = generate(14);
        assert_eq!(a.chars().count(), 14);
        assert_ne!(a, generate(14));
    }
}
