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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use lru::LruCache;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::web::csrf::CsrfToken;
use crate::web::variant;

/// The channel the database announces changes on.
pub const CHANNEL: &str = "newsdesk_pages";
/// How long a page is served from the cache at most.
const TTL: Duration = Duration::from_secs(60);
/// The slot for the browser's CSRF token.
pub const CSRF_SLOT: &str = "<!--nd:csrf-->";
/// The slot for a fresh captcha id.
pub const CAPTCHA_SLOT: &str = "<!--nd:captcha-->";
/// Around the comment form's login fields, replaced for a signed-in reader.
const READER_START: &str = "<!--nd:reader-->";
const READER_END: &str = "<!--/nd:reader-->";
/// The slot for an article's view count: `<!--nd:views=N-->`, where N is the
/// count when the page was rendered.
const VIEWS_SLOT: &str = "<!--nd:views=";

/// The per-request values of the slots that belong to a slice, registered
/// as `web::Data<dyn SlotValues>`.
pub trait SlotValues: Send + Sync + 'static {
    /// A fresh captcha id, for a page with the captcha slot.
    fn captcha(&self) -> String;
    /// The name of the reader signed in on this browser, for a page with
    /// the reader slot.
    fn reader<'a>(&'a self, req: &'a actix_web::HttpRequest) -> LocalBoxFuture<'a, Option<String>>;
    /// The view count to show for story `number`, whose page was rendered
    /// with `rendered`.
    fn views(&self, number: i64, rendered: i64) -> i64;
    /// Counts one reading of story `number` by this request (not a bot's).
    fn count_view(&self, req: &actix_web::HttpRequest, number: i64);
}

/// A rendered page: its body, the hash of the body (for the ETag), and
/// where its per-request slots are, found once when it is rendered.
#[derive(Clone)]
struct Page {
    /// UTF-8, as rendered; worked on as bytes, since slots are ASCII.
    body: Bytes,
    hash: u64,
    slots: Arc<[Slot]>,
}

impl Page {
    fn new(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        Page {
            hash: hash_of(&body),
            slots: slots_of(&body).into(),
            body,
        }
    }

    fn has(&self, kind: SlotKind) -> bool {
        self.slots.iter().any(|slot| slot.kind == kind)
    }
}

/// The kinds of slot, in the order of `SLOT_MARKERS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotKind {
    Csrf,
    Captcha,
    ReaderStart,
    ReaderEnd,
    Views,
}

const SLOT_MARKERS: [(&str, SlotKind); 5] = [
    (CSRF_SLOT, SlotKind::Csrf),
    (CAPTCHA_SLOT, SlotKind::Captcha),
    (READER_START, SlotKind::ReaderStart),
    (READER_END, SlotKind::ReaderEnd),
    (VIEWS_SLOT, SlotKind::Views),
];

/// A slot's marker in a page.
#[derive(Clone, Copy, Debug)]
struct Slot {
    kind: SlotKind,
    start: usize,
    end: usize,
}

/// Every slot marker of `body`, in order. Markers are HTML comments, which
/// are rare in a page: the search looks for comments (a SIMD substring
/// search) rather than for every `<` where a marker could start.
fn slots_of(body: &[u8]) -> Vec<Slot> {
    static COMMENT: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new("<!--"));
    COMMENT
        .find_iter(body)
        .filter_map(|start| {
            let (marker, kind) = SLOT_MARKERS
                .iter()
                .find(|(marker, _)| body[start..].starts_with(marker.as_bytes()))?;
            Some(Slot {
                kind: *kind,
                start,
                end: start + marker.len(),
            })
        })
        .collect()
}

struct Entry {
    page: Page,
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
    /// Pages being rendered: requests for the same page wait for the one
    /// rendering it instead of all rendering it at once.
    in_flight: Mutex<HashMap<String, Arc<Notify>>>,
    /// Hashes of the pages asked for once since the set was last emptied.
    /// A page is kept from its second request on (or when others waited
    /// for its first render): readers going through the archive one story
    /// each would otherwise push the pages many read out of the cache.
    seen: Mutex<HashSet<u64>>,
}

/// How many pages asked for once are remembered; the set is emptied when
/// full.
const SEEN: usize = 100_000;

/// A render others may be waiting for; they are woken when it is dropped.
struct Flight<'a> {
    cache: &'a PageCache,
    key: String,
    done: Arc<Notify>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.cache
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.done.notify_waiters();
    }
}

/// How long a request waits for another's render before rendering itself.
const WAIT_FOR_RENDER: Duration = Duration::from_secs(5);

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
            in_flight: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Becomes the render of `key`, or waits (a while) for the one under
    /// way and returns its page.
    async fn render_or_wait(&self, key: &str) -> Result<Flight<'_>, Option<Page>> {
        let waiting = match self.try_render(key) {
            Ok(flight) => return Ok(flight),
            Err(waiting) => waiting,
        };
        // Others want this page too: keep it once rendered.
        self.admit(key);
        let notified = waiting.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(page) = self.get(key) {
            return Err(Some(page));
        }
        let _ = tokio::time::timeout(WAIT_FOR_RENDER, notified).await;
        Err(self.get(key))
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

    fn get(&self, key: &str) -> Option<Page> {
        self.lookup(key)
            .filter(|(_, fresh)| *fresh)
            .map(|(page, _)| page)
    }

    /// A page of the current generation, and whether it is younger than
    /// the TTL (an older one may still be served while it is rendered
    /// again: nothing it shows has changed, only its lists may have moved).
    fn lookup(&self, key: &str) -> Option<(Page, bool)> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pages.entries.get(key)?;
        (entry.generation == generation).then(|| (entry.page.clone(), entry.stored.elapsed() < TTL))
    }

    /// Becomes the render of `key`, or returns the signal of the render
    /// under way.
    fn try_render(&self, key: &str) -> Result<Flight<'_>, Arc<Notify>> {
        let mut flights = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = flights.get(key) {
            return Err(done.clone());
        }
        let done = Arc::new(Notify::new());
        flights.insert(key.to_owned(), done.clone());
        Ok(Flight {
            cache: self,
            key: key.to_owned(),
            done,
        })
    }

    /// Whether `key` was asked for before; remembers it either way.
    fn admit(&self, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= SEEN {
            seen.clear();
        }
        !seen.insert(hash_of(key.as_bytes()))
    }

    fn put(&self, key: String, page: Page, generation: u64) {
        if !self.enabled() || page.body.len() > self.budget / 4 {
            return;
        }
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        pages.bytes += page.body.len();
        let entry = Entry {
            page,
            generation,
            stored: Instant::now(),
        };
        if let Some((_, old)) = pages.entries.push(key, entry) {
            pages.bytes -= old.page.body.len();
        }
        while pages.bytes > self.budget {
            match pages.entries.pop_lru() {
                Some((_, old)) => pages.bytes -= old.page.body.len(),
                None => break,
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
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

/// What differs per request in a page.
#[derive(Default)]
struct Personal {
    token: Option<CsrfToken>,
    captcha: Option<String>,
    /// The signed-in reader's name, where the page has the reader slot.
    reader: Option<String>,
    traditional: bool,
    views: Option<(Arc<dyn SlotValues>, i64)>,
}

/// Gathers the per-request values a page's slots need (a database query
/// only for a page with the reader slot and a browser with a reader
/// session).
async fn personal(req: &ServiceRequest, page: &Page) -> Personal {
    let token = req.extensions().get::<CsrfToken>().cloned();
    let values = req
        .app_data::<web::Data<dyn SlotValues>>()
        .map(|values| values.clone().into_inner());
    let captcha = page.has(SlotKind::Captcha).then(|| {
        values
            .as_ref()
            .map(|values| values.captcha())
            .unwrap_or_default()
    });
    let mut reader = None;
    if page.has(SlotKind::ReaderStart)
        && let Some(values) = &values
    {
        reader = values.reader(req.request()).await;
    }
    let views = values.zip(article_number(req.path()));
    Personal {
        token,
        captcha,
        reader,
        traditional: variant::plain_path(req.path()) != req.path(),
        views,
    }
}

/// Fills the per-request slots of a page, copying it once: every CSRF and
/// captcha slot, the first reader region and the first view count. A slot
/// without a value stays as it is.
fn fill(page: &Page, personal: &Personal) -> Vec<u8> {
    let body = &page.body[..];
    let mut html = Vec::with_capacity(body.len() + 256);
    let mut copied = 0;
    let mut reader_done = false;
    let mut views_done = false;
    let mut slots = page.slots.iter();
    while let Some(slot) = slots.next() {
        if slot.start < copied {
            continue;
        }
        let value = match slot.kind {
            SlotKind::Csrf => personal.token.as_ref().map(|token| token.0.clone()),
            SlotKind::Captcha => personal.captcha.clone(),
            SlotKind::ReaderStart if !reader_done => {
                reader_done = true;
                let end = slots
                    .clone()
                    .find(|next| next.kind == SlotKind::ReaderEnd)
                    .map(|next| next.end);
                if let (Some(name), Some(end)) = (&personal.reader, end) {
                    html.extend_from_slice(&body[copied..slot.start]);
                    html.extend_from_slice(reader_state(name, personal.traditional).as_bytes());
                    copied = end;
                }
                continue;
            }
            SlotKind::Views if !views_done => {
                views_done = true;
                let Some(length) = memchr::memmem::find(&body[slot.end..], b"-->") else {
                    continue;
                };
                let rendered = std::str::from_utf8(&body[slot.end..slot.end + length])
                    .ok()
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(0);
                let count = match &personal.views {
                    Some((values, number)) => values.views(*number, rendered),
                    None => rendered,
                };
                html.extend_from_slice(&body[copied..slot.start]);
                html.extend_from_slice(count.to_string().as_bytes());
                copied = slot.end + length + 3;
                continue;
            }
            _ => None,
        };
        if let Some(value) = value {
            html.extend_from_slice(&body[copied..slot.start]);
            html.extend_from_slice(value.as_bytes());
            copied = slot.end;
        }
    }
    html.extend_from_slice(&body[copied..]);
    html
}

/// What replaces the comment form's login fields for a signed-in reader.
fn reader_state(name: &str, traditional: bool) -> String {
    let state = format!(
        "<p class=\"reader-state\">已登录：<strong>{}</strong> · <a href=\"/account\">我的评论</a></p>",
        variant::escape(name)
    );
    if traditional {
        variant::to_traditional(&state)
    } else {
        state
    }
}

/// A page's hash, for its ETag: XXH3, which reads a page some ten times
/// faster than the standard library's SipHash, and gives every instance
/// the same value.
fn hash_of(body: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(body)
}

/// The ETag of a page as this browser gets it: its CSRF token is part of
/// the page when the page has a form.
fn etag(page: &Page, token: Option<&CsrfToken>) -> String {
    let hash = match token.filter(|_| page.has(SlotKind::Csrf)) {
        Some(token) => xxhash_rust::xxh3::xxh3_64_with_seed(token.0.as_bytes(), page.hash),
        None => page.hash,
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
    let tag = etag(page, personal.token.as_ref());
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
    if let Some((values, number)) = &personal.views
        && req.method() == Method::GET
    {
        values.count_view(req.request(), *number);
    }
    if matches_etag(&req, &tag) {
        *head.status_mut() = StatusCode::NOT_MODIFIED;
        headers_for_304(head.headers_mut());
        let response = head.set_body(BoxBody::new(()));
        return ServiceResponse::new(req.into_parts().0, response);
    }
    let html = fill(page, &personal);
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
    let storable = reading && cacheable_path(&path) && req.method() == Method::GET;
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
    use super::*;

    #[test]
    fn every_slot_marker_is_a_comment() {
        let page = Page::new(SLOT_MARKERS.map(|(marker, _)| marker).concat());
        let kinds: Vec<SlotKind> = page.slots.iter().map(|slot| slot.kind).collect();
        assert_eq!(kinds, SLOT_MARKERS.map(|(_, kind)| kind));
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
            ) -> LocalBoxFuture<'a, Option<String>> {
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
            reader: Some("reader<1>".into()),
            traditional: false,
            views: Some((Arc::new(OneMore), 5)),
        };
        let page = Page::new(
            "<input value=\"<!--nd:csrf-->\"><img src=\"/captcha/<!--nd:captcha-->.png\"><!--nd:reader--><input name=\"password\"><!--/nd:reader--><span>阅读：<!--nd:views=41--></span><input value=\"<!--nd:csrf-->\">",
        );
        assert_eq!(
            String::from_utf8(fill(&page, &personal)).unwrap(),
            "<input value=\"abc\"><img src=\"/captcha/9-c-s.png\"><p class=\"reader-state\">已登录：<strong>reader&lt;1&gt;</strong> · <a href=\"/account\">我的评论</a></p><span>阅读：42</span><input value=\"abc\">"
        );
        let anonymous = Personal {
            views: None,
            ..Personal::default()
        };
        assert_eq!(
            String::from_utf8(fill(&page, &anonymous)).unwrap(),
            std::str::from_utf8(&page.body)
                .unwrap()
                .replace("<!--nd:views=41-->", "41"),
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
