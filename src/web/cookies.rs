//! The site's cookies: HttpOnly, SameSite=Lax, path `/`; over https also
//! `Secure` and named with the `__Host-` prefix, which browsers accept only
//! from a secure origin, for this host alone, so a cookie planted over
//! plain http or by a sibling domain cannot stand in for ours.

use actix_web::HttpMessage;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, CookieBuilder, SameSite, time};

/// Whether the request reached the site over https (directly or through a
/// trusted proxy); set by the edge middleware for every request.
#[derive(Debug, Clone, Copy)]
pub struct Https(pub bool);

pub fn https(req: &HttpRequest) -> bool {
    req.extensions().get::<Https>().is_some_and(|https| https.0)
}

/// Whether cookies set in answer to `req` are Secure: always over https,
/// and also when the site's settings say it is served over https only.
pub fn secure(req: &HttpRequest, https_only_setting: bool) -> bool {
    https_only_setting || https(req)
}

fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of cookie `base`: the `__Host-` one, or over plain http the
/// plain one (a plain one is never believed over https).
pub fn read(req: &HttpRequest, base: &str) -> Option<String> {
    if let Some(cookie) = req.cookie(&name(base, true)) {
        return Some(cookie.value().to_owned());
    }
    if https(req) {
        return None;
    }
    req.cookie(base).map(|cookie| cookie.value().to_owned())
}

/// A cookie of ours, to finish with `.finish()` (after a max-age, say).
pub fn build(base: &str, value: String, secure: bool) -> CookieBuilder<'static> {
    Cookie::build(name(base, secure), value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
}

/// A cookie that removes cookie `base` from the browser.
pub fn removal(base: &str, secure: bool) -> Cookie<'static> {
    build(base, String::new(), secure)
        .max_age(time::Duration::ZERO)
        .finish()
}

/// Whether `cookie` (as set on a response) is our cookie `base`.
pub fn is(cookie: &Cookie<'_>, base: &str) -> bool {
    cookie.name() == base || cookie.name() == name(base, true)
}
