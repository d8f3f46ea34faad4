//! The page cache of public pages, and the parts of a page filled in for
//! each request.
//!
//! Rendered public pages (after 简 / 繁 conversion) are kept in memory,
//! within a byte budget, least recently used first out. Every change a
//! public page may show is announced by the database on the channel
//! `newsdesk_pages` (triggers, see migration 0011), whoever made it; each
//! instance listens and drops all its pages at once, by moving to a new
//! generation. A state-changing request served by this instance does the
//! same as soon as it is answered. While the instance is not listening
//! (the database is away), nothing is served from the cache. Pages also
//! expire after a minute, so that most-read lists move.
//!
//! Every public page carries an ETag and answers `If-None-Match` with 304.
//! Slots that differ per request are filled on the way out, whether the page
//! was cached or not: the view count of an article page, counted here for
//! readers that are not bots, and the browser's CSRF token.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use lru::LruCache;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::articles::views::{self, ViewCounter};
use crate::web::csrf::CsrfToken;
use crate::web::variant;

/// The channel the database announces changes on.
pub const CHANNEL: &str = "newsdesk_pages";
/// How long a page is served from the cache at most.
const TTL: Duration = Duration::from_secs(60);
/// The slot for the browser's CSRF token.
pub const CSRF_SLOT: &str = "<!--nd:csrf-->";
/// The slot for an article's view count: `<!--nd:views=N-->`, where N is the
/// count when the page was rendered.
const VIEWS_SLOT: &str = "<!--nd:views=";

struct Entry {
    body: Arc<str>,
    /// Hash of the body, for the ETag.
    hash: u64,
    generation: u64,
    stored: Instant,
}

struct Pages {
    entries: LruCache<String, Entry>,
    bytes: usize,
}

/// Rendered pages of this instance.
pub struct PageCache {
    budget: usize,
    generation: AtomicU64,
    listening: AtomicBool,
    pages: Mutex<Pages>,
}

impl PageCache {
    /// A cache holding up to `budget` bytes of pages (0 turns caching off).
    pub fn new(budget: usize) -> Self {
        PageCache {
            budget,
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            pages: Mutex::new(Pages {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.budget > 0 && self.listening.load(Ordering::Acquire)
    }

    /// Drops every page: they belong to an older generation.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        pages.entries.clear();
        pages.bytes = 0;
    }

    fn get(&self, key: &str) -> Option<(Arc<str>, u64)> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pages.entries.get(key)?;
        if entry.generation == generation && entry.stored.elapsed() < TTL {
            Some((entry.body.clone(), entry.hash))
        } else {
            None
        }
    }

    fn put(&self, key: String, body: Arc<str>, hash: u64, generation: u64) {
        if !self.enabled() || body.len() > self.budget / 4 {
            return;
        }
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        pages.bytes += body.len();
        let entry = Entry {
            body,
            hash,
            generation,
            stored: Instant::now(),
        };
        if let Some((_, old)) = pages.entries.push(key, entry) {
            pages.bytes -= old.body.len();
        }
        while pages.bytes > self.budget {
            match pages.entries.pop_lru() {
                Some((_, old)) => pages.bytes -= old.body.len(),
                None => break,
            }
        }
    }

    /// How many pages are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Listens for announced changes until the pool closes. Any gap in
/// listening drops every page, since announcements may have been missed.
pub async fn listen(pool: PgPool, cache: Arc<PageCache>) {
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match subscribe(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for page changes; serving without the page cache");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        cache.invalidate();
        cache.listening.store(true, Ordering::Release);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => cache.invalidate(),
                // Reconnected at once: announcements may have been lost.
                Ok(None) => cache.invalidate(),
                Err(_) => break,
            }
        }
        cache.listening.store(false, Ordering::Release);
        cache.invalidate();
    }
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Public pages: not the backend, files or probes, nor search results
/// (too many distinct pages to be worth keeping).
fn cacheable_path(path: &str) -> bool {
    let plain = variant::plain_path(path);
    !variant::untouched(plain) && !plain.starts_with("/search") && !plain.starts_with("/captcha")
}

/// The number of the story an `/articles/{number}` path shows.
fn article_number(path: &str) -> Option<i64> {
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

/// Fills the per-request slots of a page.
fn fill(body: &str, token: Option<&CsrfToken>, views: Option<(&ViewCounter, i64)>) -> String {
    let mut html = match token {
        Some(token) if body.contains(CSRF_SLOT) => body.replace(CSRF_SLOT, &token.0),
        _ => body.to_owned(),
    };
    if let Some(start) = html.find(VIEWS_SLOT) {
        let digits = start + VIEWS_SLOT.len();
        if let Some(length) = html[digits..].find("-->") {
            let rendered = html[digits..digits + length].parse().unwrap_or(0);
            let count = match views {
                Some((counter, number)) => counter.estimate(number, rendered),
                None => rendered,
            };
            html.replace_range(start..digits + length + 3, &count.to_string());
        }
    }
    html
}

fn hash_of(body: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

/// The ETag of a page as this browser gets it: its CSRF token is part of
/// the page when the page has a form.
fn etag(hash: u64, body: &str, token: Option<&CsrfToken>) -> String {
    let mut hasher = DefaultHasher::new();
    hash.hash(&mut hasher);
    if let Some(token) = token.filter(|_| body.contains(CSRF_SLOT)) {
        token.0.hash(&mut hasher);
    }
    format!("\"{:016x}\"", hasher.finish())
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
fn respond(
    req: ServiceRequest,
    mut head: HttpResponse<()>,
    body: &str,
    hash: u64,
    hit: bool,
) -> ServiceResponse<BoxBody> {
    let token = req.extensions().get::<CsrfToken>().cloned();
    let tag = etag(hash, body, token.as_ref());
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
    let counter = req.app_data::<web::Data<ViewCounter>>().cloned();
    let number = article_number(req.path());
    if let (Some(counter), Some(number)) = (&counter, number) {
        let reader = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .is_none_or(|agent| !views::is_bot(agent));
        if reader && req.method() == Method::GET {
            counter.record(number);
        }
    }
    if matches_etag(&req, &tag) {
        *head.status_mut() = StatusCode::NOT_MODIFIED;
        headers_for_304(head.headers_mut());
        let response = head.set_body(BoxBody::new(()));
        return ServiceResponse::new(req.into_parts().0, response);
    }
    let views = counter.as_ref().map(|c| &***c).zip(number);
    let html = fill(body, token.as_ref(), views);
    let response = head.set_body(BoxBody::new(html));
    ServiceResponse::new(req.into_parts().0, response)
}

fn headers_for_304(headers: &mut header::HeaderMap) {
    headers.remove(header::CONTENT_TYPE);
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
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    if !reading {
        let response = next.call(req).await?;
        if response.status().as_u16() < 400 {
            cache.invalidate();
        }
        return Ok(response.map_into_boxed_body());
    }
    let path = req.path().to_owned();
    if variant::untouched(variant::plain_path(&path)) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match req.query_string() {
        "" => path.clone(),
        query => format!("{path}?{query}"),
    };
    let storable = cacheable_path(&path) && req.method() == Method::GET;
    if storable && let Some((body, hash)) = cache.get(&key) {
        let mut head = HttpResponse::Ok();
        head.content_type("text/html; charset=utf-8");
        let head = head.finish().drop_body();
        return Ok(respond(req, head, &body, hash, true));
    }
    let generation = cache.generation.load(Ordering::Acquire);
    let response = next.call(req).await?.map_into_boxed_body();
    if !is_html(response.response()) {
        return Ok(response);
    }
    let (req, response) = response.into_parts();
    let status = response.status();
    let stores = storable && status == StatusCode::OK && response.cookies().next().is_none();
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("body"))?;
    let body: Arc<str> = String::from_utf8_lossy(&bytes).into();
    let hash = hash_of(&body);
    if stores {
        cache.put(key, body.clone(), hash, generation);
    }
    let req = ServiceRequest::from_request(req);
    if status != StatusCode::OK {
        // Error pages are filled but carry no validator and count no view.
        let token = req.extensions().get::<CsrfToken>().cloned();
        let html = fill(&body, token.as_ref(), None);
        let response = head.set_body(BoxBody::new(html));
        return Ok(ServiceResponse::new(req.into_parts().0, response));
    }
    Ok(respond(req, head, &body, hash, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_filled_with_the_token_and_the_current_count() {
        let counter = ViewCounter::default();
        counter.record(5);
        let token = CsrfToken("abc".into());
        let html = fill(
            "<input value=\"<!--nd:csrf-->\"><span>阅读：<!--nd:views=41--></span>",
            Some(&token),
            Some((&counter, 5)),
        );
        assert_eq!(html, "<input value=\"abc\"><span>阅读：42</span>");
    }

    #[test]
    fn the_cache_keeps_to_its_budget_and_drops_old_generations() {
        let cache = PageCache::new(100);
        cache.listening.store(true, Ordering::Release);
        cache.put("/a".into(), "x".repeat(20).into(), 1, 0);
        cache.put("/b".into(), "y".repeat(20).into(), 2, 0);
        assert!(cache.get("/a").is_some());
        for page in 0..10 {
            cache.put(format!("/{page}"), "z".repeat(20).into(), 3, 0);
        }
        assert!(cache.len() <= 5, "{} pages kept", cache.len());
        cache.put("/c".into(), "c".into(), 4, 0);
        cache.invalidate();
        assert!(cache.get("/c").is_none());
        cache.put("/d".into(), "d".into(), 5, 0);
        assert!(cache.get("/d").is_none(), "a page of an old generation");
    }

    #[test]
    fn article_paths_in_both_scripts_name_their_story() {
        assert_eq!(article_number("/articles/12"), Some(12));
        assert_eq!(article_number("/zh-hant/articles/12"), Some(12));
        assert_eq!(article_number("/articles/12x"), None);
        assert!(!cacheable_path("/zh-hant/search"));
        assert!(!cacheable_path("/admin/articles"));
        assert!(cacheable_path("/zh-hant/channels/yaowen"));
    }
}
