//! What every handler may reach besides the pool: the shared state, above
//! the web plumbing (which gets the few values it needs registered apart:
//! the secret key, the trusted proxies, the metrics token) and below the
//! slices.

use crate::secret::SecretKey;

pub struct AppState {
    pub secret: SecretKey,
    /// The reverse proxies whose forwarded headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where uploaded photos are kept (shared by every instance).
    pub media_dir: std::path::PathBuf,
    /// The answer to every captcha, for automated tests (loopback only).
    pub test_captcha: Option<String>,
}
