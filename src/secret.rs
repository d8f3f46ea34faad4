//! The installation's secret key, used to sign and derive tokens. Taken from
//! NEWSDESK_SECRET_KEY, or generated once and kept in the data folder
//! (readable by its owner only), so that every restart keeps its sessions.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use rand::RngCore;

const MIN_LENGTH: usize = 32;

/// HMAC-SHA256 of `data` under `key` for one named purpose: the same data
/// signed for two purposes never gives the same value. Every token the site
/// derives from its key (CSRF tokens, captcha ids and answers, hashes of
/// client addresses) goes through here.
pub fn keyed_hash(key: &[u8], purpose: &str, data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(data);
    mac.finalize().into_bytes().into()
}
const FILE_NAME: &str = "secret_key";

#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn new(key: &str) -> anyhow::Result<Self> {
        if key.len() < MIN_LENGTH {
            bail!("NEWSDESK_SECRET_KEY must be at least {MIN_LENGTH} characters long");
        }
        Ok(SecretKey(key.as_bytes().to_vec()))
    }

    /// A fresh random key, for tests and first starts.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey(hex::encode(bytes).into_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The configured key, or the one kept in `data_dir` (created on first use).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = configured {
            return SecretKey::new(key);
        }
        let path = data_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(stored) => {
                SecretKey::new(stored.trim()).with_context(|| format!("in {}", path.display()))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)
                    .with_context(|| format!("cannot create {}", data_dir.display()))?;
                // Written whole beside the final name, then linked into
                // place: nodes starting together on one shared folder agree
                // on the first key linked, and none reads half of one.
                let key = SecretKey::generate();
                let partial = data_dir.join(format!(".{FILE_NAME}-{}", std::process::id()));
                let partial = partial.with_extension(format!("{:x}", rand::random::<u64>()));
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&partial)
                    .with_context(|| format!("cannot create {}", partial.display()))?;
                file.write_all(key.as_bytes())?;
                file.sync_all()?;
                let linked = std::fs::hard_link(&partial, &path);
                let _ = std::fs::remove_file(&partial);
                match linked {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "generated a new secret key");
                        Ok(key)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        SecretKey::load(None, data_dir)
                    }
                    Err(error) => {
                        Err(error).with_context(|| format!("cannot create {}", path.display()))
                    }
                }
            }
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load(None, dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = SecretKey::load(None, dir.path()).unwrap();
        assert_eq!(first.as_bytes(), second.as_bytes());
    }

    #[test]
    fn nodes_starting_together_on_one_folder_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let started: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SecretKey::load(None, dir.path()).unwrap()))
                .collect();
            started
                .into_iter()
                .map(|t| t.join().unwrap().as_bytes().to_vec())
                .collect()
        });
        assert!(keys.iter().all(|key| key == &keys[0]));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no partial key files left behind");
    }

    #[test]
    fn a_short_configured_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SecretKey::load(Some("short"), dir.path()).is_err());
        assert!(SecretKey::load(Some(&"k".repeat(40)), dir.path()).is_ok());
    }
}
