//! 长者模式 (the MIIT rules for ageing-friendly websites): large type,
//! high contrast and larger targets on every public page, chosen with the
//! header's switch and kept in a cookie. Pages are rendered once for
//! everyone; the page cache fills the mode into each request's copy (its
//! `<!--nd:elder-->` slot), so it works without scripts and the cache
//! stays shared.

use actix_web::cookie::time;
use actix_web::http::header::{LOCATION, REFERER};
use actix_web::{HttpRequest, HttpResponse};

use super::cookies;
use super::redirect::local_path;

/// The cookie that keeps the mode on.
pub const COOKIE: &str = "nd_elder";

/// Whether this browser chose 长者模式.
pub fn chosen(req: &HttpRequest) -> bool {
    cookies::read(req, COOKIE).as_deref() == Some("1")
}

/// GET /elder: turns the mode on or off and goes back to the page the
/// switch was on (a page of this site; else the home page). It changes
/// nothing but this browser's own preference.
pub async fn toggle(req: HttpRequest) -> HttpResponse {
    let back = req
        .headers()
        .get(REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| {
            let url = url::Url::parse(referer).ok()?;
            let host = req.connection_info().host().to_owned();
            let same = url
                .host_str()
                .is_some_and(|h| host.split(':').next() == Some(h));
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            same.then(|| local_path(&path)).flatten()
        })
        .unwrap_or_else(|| "/".to_owned());
    let secure = cookies::https(&req);
    let cookie = if chosen(&req) {
        cookies::removal(COOKIE, secure)
    } else {
        cookies::build(COOKIE, "1".to_owned(), secure)
            .max_age(time::Duration::days(365))
            .finish()
    };
    HttpResponse::SeeOther()
        .insert_header((LOCATION, back))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(cookie)
        .finish()
}
