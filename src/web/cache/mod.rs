//! The page cache of public pages, and the parts of a page filled in for
//! each request.
//!
//! Rendered public pages (after 简 / 繁 conversion) are kept in memory from
//! their second request on, within a byte budget, least recently used first
//! out. Every change a public page may show is announced by the database
//! on the channel `newsdesk_pages` (triggers, see migration 0011), whoever
//! made it; each instance listens and drops all its pages at once, by
//! moving to a new generation. A state-changing request served by this instance does the
//! same as soon as it is answered. While the instance is not listening
//! (the database is away), nothing is served from the cache. Pages also
//! expire after a minute, so that most-read lists move.
//!
//! Every public page carries an ETag and answers `If-None-Match` with 304.
//! Slots that differ per request are filled on the way out, whether the page
//! was cached or not: the view count of an article page, counted here for
//! readers that are not bots, the browser's CSRF token, a fresh captcha and
//! the signed-in reader. The values that belong to a slice (captchas,
//! readers, view counts) come from the `SlotValues` that the route table
//! registers, so the cache knows no slice.
//!
//! This module is the middleware; `store` keeps the pages, `listener` hears
//! the announcements, `slots` finds and fills the per-request parts.

mod listener;
mod slots;
mod store;

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::web::variant;

pub use listener::listen;
pub use slots::{CAPTCHA_SLOT, CSRF_SLOT, SignedIn, SlotValues};
use slots::{Page, fill, personal};
pub use store::PageCache;

/// The channel the database announces changes on.
pub const CHANNEL: &str = "newsdesk_pages";
/// How long a page is served from the cache at most.
pub(super) const TTL: Duration = Duration::from_secs(60);
/// Public pages, search results included (readers repeat the words of the
/// day; the budget bounds the rest): not the backend, files or probes, nor
/// the reader's own pages.
fn cacheable_path(path: &str) -> bool {
    let plain = variant::plain_path(path);
    !variant::untouched(plain)
        && !["/captcha", "/register", "/login", "/account"]
            .iter()
            .any(|prefix| plain.starts_with(prefix))
}

/// The number of the story an `/articles/{number}` path shows.
pub(super) fn article_number(path: &str) -> Option<i64> {
    variant::plain_path(path)
        .strip_prefix("/articles/")?
        .parse()
        .ok()
}

fn is_html(response: &HttpResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"))
}

/// A page's hash, for its ETag: XXH3, which reads a page some ten times
/// faster than the standard library's SipHash, and gives every instance
/// the same value.
pub(super) fn hash_of(body: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(body)
}

/// The ETag of a page as this browser gets it: the hash of the bytes it
/// is sent, so that every per-request slot (CSRF token, captcha, the
/// reader's name, the view count) is covered: a page whose captcha or
/// count changed is never answered 304.
fn etag(page: &Page, filled: &[u8]) -> String {
    let hash = if page.slots.is_empty() {
        page.hash
    } else {
        hash_of(filled)
    };
    format!("\"{hash:016x}\"")
}

fn matches_etag(req: &ServiceRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == etag
        })
}

/// Builds the answer to a page request from the unfilled `body`.
async fn respond(
    req: ServiceRequest,
    mut head: HttpResponse<()>,
    page: &Page,
    hit: bool,
) -> ServiceResponse<BoxBody> {
    let personal = personal(&req, page).await;
    if let Some((values, number)) = &personal.views
        && req.method() == Method::GET
        && !super::head::came_as_head(req.request())
    {
        values.count_view(req.request(), *number);
    }
    let html = fill(page, &personal);
    let tag = etag(page, &html);
    let headers = head.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::HeaderName::from_static("x-cache"),
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.remove(header::CONTENT_LENGTH);
    if matches_etag(&req, &tag) {
        *head.status_mut() = StatusCode::NOT_MODIFIED;
        headers_for_304(head.headers_mut());
        let response = head.set_body(BoxBody::new(()));
        return ServiceResponse::new(req.into_parts().0, response);
    }
    let response = head.set_body(BoxBody::new(html));
    ServiceResponse::new(req.into_parts().0, response)
}

/// Fills the slots of a page that is neither cached nor validated (a
/// form posted back with a message, an error page, a private page).
async fn personalised(
    req: ServiceRequest,
    mut head: HttpResponse<()>,
    page: &Page,
) -> ServiceResponse<BoxBody> {
    let mut personal = personal(&req, page).await;
    personal.views = None;
    head.headers_mut().remove(header::CONTENT_LENGTH);
    let response = head.set_body(BoxBody::new(fill(page, &personal)));
    ServiceResponse::new(req.into_parts().0, response)
}

fn no_store(response: &HttpResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("no-store") || value.contains("private"))
}

fn headers_for_304(headers: &mut header::HeaderMap) {
    headers.remove(header::CONTENT_TYPE);
}

/// The head of a page served from the cache.
fn cached_head() -> HttpResponse<()> {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .finish()
        .drop_body()
}

/// The middleware.
pub async fn serve(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let cache = req
        .app_data::<web::Data<PageCache>>()
        .cloned()
        .expect("PageCache is registered");
    let path = req.path().to_owned();
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    // A change made through this instance drops its pages at once.
    let invalidate_after = |response: &ServiceResponse<BoxBody>| {
        if !reading && response.status().as_u16() < 400 {
            cache.invalidate();
        }
    };
    if variant::untouched(variant::plain_path(&path)) {
        let response = next.call(req).await?.map_into_boxed_body();
        invalidate_after(&response);
        return Ok(response);
    }
    let key = match req.query_string() {
        "" => path.clone(),
        query => format!("{path}?{query}"),
    };
    // A visitor who has just written, through an instance that has not
    // heard of it yet, is answered afresh (from the primary).
    let storable = reading
        && cacheable_path(&path)
        && req.method() == Method::GET
        && !super::reads::ahead_of_instance(req.request());
    let mut stale_flight = None;
    if storable && let Some((page, fresh)) = cache.lookup(&key) {
        // A stale page is served while one request renders it again.
        stale_flight = if fresh {
            None
        } else {
            cache.try_render(&key).ok()
        };
        if stale_flight.is_none() {
            return Ok(respond(req, cached_head(), &page, true).await);
        }
    }
    // A page in the cache, past its time: it was admitted before.
    let rendering_again = stale_flight.is_some();
    let flight = if rendering_again {
        stale_flight
    } else if storable && cache.enabled() {
        match cache.render_or_wait(&key).await {
            Ok(flight) => Some(flight),
            Err(Some(page)) => {
                return Ok(respond(req, cached_head(), &page, true).await);
            }
            Err(None) => None,
        }
    } else {
        None
    };
    let generation = cache.generation.load(Ordering::Acquire);
    let response = next.call(req).await?.map_into_boxed_body();
    invalidate_after(&response);
    if !is_html(response.response()) {
        return Ok(response);
    }
    let (req, response) = response.into_parts();
    let status = response.status();
    let private = no_store(&response) || response.cookies().next().is_some();
    let (head, body) = response.into_parts();
    let page = Page::new(super::body_bytes(body).await?);
    let req = ServiceRequest::from_request(req);
    if !reading || status != StatusCode::OK || private {
        return Ok(personalised(req, head, &page).await);
    }
    if storable && (rendering_again || cache.admit(&key)) {
        cache.put(key, page.clone(), generation);
    }
    drop(flight);
    Ok(respond(req, head, &page, false).await)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::future::LocalBoxFuture;

    use crate::web::csrf::CsrfToken;

    use super::slots::*;
    use super::store::*;
    use super::*;

    #[test]
    fn every_slot_marker_is_a_comment() {
        let page = Page::new(SLOT_MARKERS.map(|(marker, _)| marker).concat());
        let kinds: Vec<SlotKind> = page.slots.iter().map(|slot| slot.kind).collect();
        assert_eq!(kinds, SLOT_MARKERS.map(|(_, kind)| kind));
    }

    #[test]
    fn a_trusted_reader_gets_the_form_without_its_captcha() {
        let page = Page::new(
            "<form><!--nd:challenge--><input name=\"captcha_id\" value=\"<!--nd:captcha-->\"><img><!--/nd:challenge--><button>发表</button></form>",
        );
        let reader = |trusted| Personal {
            captcha: Some("9-c-s".into()),
            reader: Some(SignedIn {
                name: "r".into(),
                trusted,
            }),
            ..Personal::default()
        };
        assert_eq!(
            String::from_utf8(fill(&page, &reader(true))).unwrap(),
            "<form><button>发表</button></form>"
        );
        assert_eq!(
            String::from_utf8(fill(&page, &reader(false))).unwrap(),
            "<form><!--nd:challenge--><input name=\"captcha_id\" value=\"9-c-s\"><img><!--/nd:challenge--><button>发表</button></form>"
        );
    }

    #[test]
    fn slots_are_filled_with_the_token_and_the_current_count() {
        /// Shows one more reading than the page was rendered with.
        struct OneMore;
        impl SlotValues for OneMore {
            fn captcha(&self) -> String {
                unreachable!("the captcha id is in Personal")
            }
            fn reader<'a>(
                &'a self,
                _: &'a actix_web::HttpRequest,
            ) -> LocalBoxFuture<'a, Option<SignedIn>> {
                unreachable!("the reader is in Personal")
            }
            fn views(&self, _: i64, rendered: i64) -> i64 {
                rendered + 1
            }
            fn count_view(&self, _: &actix_web::HttpRequest, _: i64) {}
        }
        let personal = Personal {
            token: Some(CsrfToken("abc".into())),
            captcha: Some("9-c-s".into()),
            reader: Some(SignedIn {
                name: "reader<1>".into(),
                trusted: false,
            }),
            traditional: false,
            elder: true,
            views: Some((Arc::new(OneMore), 5)),
        };
        let page = Page::new(
            "<body class=\"public <!--nd:elder-->\"><input value=\"<!--nd:csrf-->\"><img src=\"/captcha/<!--nd:captcha-->.png\"><!--nd:reader--><input name=\"password\"><!--/nd:reader--><span>阅读：<!--nd:views=41--></span><input value=\"<!--nd:csrf-->\">",
        );
        assert_eq!(
            String::from_utf8(fill(&page, &personal)).unwrap(),
            "<body class=\"public elder\"><input value=\"abc\"><img src=\"/captcha/9-c-s.png\"><p class=\"reader-state\">已登录：<strong>reader&lt;1&gt;</strong> · <a href=\"/account\">我的评论</a></p><span>阅读：42</span><input value=\"abc\">"
        );
        let anonymous = Personal {
            views: None,
            ..Personal::default()
        };
        assert_eq!(
            String::from_utf8(fill(&page, &anonymous)).unwrap(),
            std::str::from_utf8(&page.body)
                .unwrap()
                .replace("<!--nd:views=41-->", "41")
                .replace("<!--nd:elder-->", ""),
            "slots without a value stay; the count is the rendered one"
        );
    }

    #[test]
    fn the_cache_keeps_to_its_budget_and_drops_old_generations() {
        let cache = PageCache::new(100);
        cache.listening.store(true, Ordering::Release);
        cache.put("/a".into(), Page::new("x".repeat(20)), 0);
        cache.put("/b".into(), Page::new("y".repeat(20)), 0);
        assert!(cache.get("/a").is_some());
        for page in 0..10 {
            cache.put(format!("/{page}"), Page::new("z".repeat(20)), 0);
        }
        assert!(cache.len() <= 5, "{} pages kept", cache.len());
        cache.put("/c".into(), Page::new("c"), 0);
        cache.invalidate();
        assert!(cache.get("/c").is_none());
        cache.put("/d".into(), Page::new("d"), 0);
        assert!(cache.get("/d").is_none(), "a page of an old generation");
    }

    #[test]
    fn pages_are_kept_from_their_second_request_on() {
        let cache = PageCache::new(1 << 20);
        assert!(!cache.admit("/articles/1"), "asked for once");
        assert!(!cache.admit("/articles/2"));
        assert!(cache.admit("/articles/1"), "asked for again");
        for n in 0..SEEN {
            cache.admit(&format!("/search?q={n}"));
        }
        assert!(
            !cache.admit("/articles/2"),
            "the set of pages asked for once is emptied when full"
        );
    }

    #[test]
    fn nothing_is_served_while_changes_cannot_be_heard() {
        let cache = PageCache::new(1 << 20);
        cache.put("/".into(), Page::new("page"), 0);
        assert!(cache.get("/").is_none(), "not listening: not kept");
        cache.listening.store(true, Ordering::Release);
        cache.put("/".into(), Page::new("page"), 0);
        assert!(cache.get("/").is_some());
        cache.listening.store(false, Ordering::Release);
        assert!(cache.get("/").is_none(), "listening lost: not served");
    }

    #[tokio::test]
    async fn requests_for_a_page_being_rendered_wait_for_it() {
        let cache = Arc::new(PageCache::new(1 << 20));
        cache.listening.store(true, Ordering::Release);
        let Ok(flight) = cache.render_or_wait("/").await else {
            panic!("the first renders");
        };
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.render_or_wait("/").await.err() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the second waits");
        assert!(cache.admit("/"), "a page others waited for is kept");
        cache.put("/".into(), Page::new("page"), 0);
        drop(flight);
        let page = waiter.await.unwrap().flatten().expect("the rendered page");
        assert_eq!(&page.body[..], b"page");
        assert!(cache.get("/").is_some(), "cached now");
    }

    #[test]
    fn article_paths_in_both_scripts_name_their_story() {
        assert_eq!(article_number("/articles/12"), Some(12));
        assert_eq!(article_number("/zh-hant/articles/12"), Some(12));
        assert_eq!(article_number("/articles/12x"), None);
        assert!(cacheable_path("/zh-hant/search"));
        assert!(!cacheable_path("/account"));
        assert!(!cacheable_path("/admin/articles"));
        assert!(cacheable_path("/zh-hant/channels/yaowen"));
    }
}
