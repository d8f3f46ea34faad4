//! Password hashing: Argon2id with the OWASP-recommended parameters
//! (m = 19456 KiB, t = 2, p = 1, the argon2 crate's defaults).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;

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

/// A random password that is easy to read out (no 0/O, 1/l/I).
pub fn generate(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
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
    fn generated_passwords_have_the_asked_length() {
        let a = generate(14);
        assert_eq!(a.chars().count(), 14);
        assert_ne!(a, generate(14));
    }
}
