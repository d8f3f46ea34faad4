//! Protection against cross-site request forgery, for every state-changing
//! request on the site, admin and public alike.
//!
//! Each browser gets a random seed in the `nd_csrf` cookie (HttpOnly,
//! SameSite=Lax); its pages carry `HMAC(secret key, seed)` as a hidden
//! `csrf_token` field (or an `X-CSRF-Token` header for scripts, or the
//! action URL's query for file uploads without scripts). The
//! middleware checks every non-GET request before any handler runs: a
//! foreign Origin, a missing or wrong token gets 403 and nothing is done.
//! The seed is replaced at login and logout.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::secret::SecretKey;

pub const COOKIE: &str = "nd_csrf";
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The token this request's pages must embed in their forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions().get::<CsrfToken>().cloned().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("CSRF middleware not installed"))
            }),
        )
    }
}

/// A fresh random seed for the cookie.
pub fn new_seed() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cookie holding `seed`.
pub fn cookie(seed: String, secure: bool) -> Cookie<'static> {
    super::cookies::build(COOKIE, seed, secure).finish()
}

fn sign(secret: &[u8], seed: &str) -> String {
    hex::encode(crate::secret::keyed_hash(
        secret,
        "newsdesk csrf",
        seed.as_bytes(),
    ))
}

fn valid_seed(seed: &str) -> bool {
    seed.len() == 64 && seed.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether an Origin header, when the browser sent one, names this site.
fn same_origin(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let request = req.request();
    let host = super::client::host(request, super::client::proxies(request));
    origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host)
}

/// The token a request submitted: the header, or the form field of an
/// url-encoded body (which is put back for the handler to read).
async fn submitted_token(req: &mut ServiceRequest) -> Option<String> {
    if let Some(value) = req.headers().get(HEADER) {
        return value.to_str().ok().map(str::to_owned);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // A file upload form without scripts names the token in its action URL.
    if content_type.starts_with("multipart/form-data") {
        return serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .ok()?
            .into_iter()
            .find(|(key, _)| key == FIELD)
            .map(|(_, value)| value);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    let body = req.extract::<Bytes>().await.ok()?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == FIELD)
        .map(|(_, value)| value);
    req.set_payload(Payload::from(body));
    token
}

/// The middleware: issues the token and checks it on every unsafe method.
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req
        .app_data::<web::Data<SecretKey>>()
        .cloned()
        .expect("the secret key is registered");
    let existing = super::cookies::read(req.request(), COOKIE).filter(|seed| valid_seed(seed));
    let fresh = existing.is_none();
    let seed = existing.unwrap_or_else(new_seed);
    let token = sign(state.as_bytes(), &seed);
    req.extensions_mut().insert(CsrfToken(token.clone()));

    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        if !same_origin(&req) {
            tracing::warn!("refused a request from a foreign origin");
            return Err(AppError::Csrf.into());
        }
        let submitted = submitted_token(&mut req).await.unwrap_or_default();
        if !bool::from(submitted.as_bytes().ct_eq(token.as_bytes())) {
            tracing::warn!("refused a request without a valid CSRF token");
            return Err(AppError::Csrf.into());
        }
    }

    let secure = super::cookies::https(req.request());
    let mut response = next.call(req).await?;
    let replaced = response
        .response()
        .cookies()
        .any(|c| super::cookies::is(&c, COOKIE));
    if fresh && !replaced {
        let _ = response.response_mut().add_cookie(&cookie(seed, secure));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_seed_and_secret() {
        let seed = new_seed();
        assert!(valid_seed(&seed));
        assert_eq!(sign(b"k1", &seed), sign(b"k1", &seed));
        assert_ne!(sign(b"k1", &seed), sign(b"k2", &seed));
        assert_ne!(sign(b"k1", &seed), sign(b"k1", &new_seed()));
    }

    #[test]
    fn malformed_seeds_are_replaced() {
        assert!(!valid_seed("short"));
        assert!(!valid_seed(&"z".repeat(64)));
    }
}
