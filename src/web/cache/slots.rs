//! The parts of a page filled in for each request: where a rendered page's
//! slots are, the values a request gives them, and the filling.

use std::sync::{Arc, LazyLock};

use actix_web::dev::ServiceRequest;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, web};
use futures_util::future::LocalBoxFuture;

use super::{article_number, hash_of};
use crate::web::csrf::CsrfToken;
use crate::web::variant;

/// The slot for the browser's CSRF token.
pub const CSRF_SLOT: &str = "<!--nd:csrf-->";
/// The slot for a fresh captcha id.
pub const CAPTCHA_SLOT: &str = "<!--nd:captcha-->";
/// Around the comment form's login fields, replaced for a signed-in reader.
pub(super) const READER_START: &str = "<!--nd:reader-->";
pub(super) const READER_END: &str = "<!--/nd:reader-->";
/// The class of the page's body that turns 长者模式 on.
pub const ELDER_SLOT: &str = "<!--nd:elder-->";
/// Around a form's captcha, taken out for a reader in good standing.
pub const CHALLENGE_START: &str = "<!--nd:challenge-->";
pub const CHALLENGE_END: &str = "<!--/nd:challenge-->";
/// The slot for an article's view count: `<!--nd:views=N-->`, where N is the
/// count when the page was rendered.
pub(super) const VIEWS_SLOT: &str = "<!--nd:views=";

/// The per-request values of the slots that belong to a slice, registered
/// as `web::Data<dyn SlotValues>`.
pub trait SlotValues: Send + Sync + 'static {
    /// A fresh captcha id, for a page with the captcha slot.
    fn captcha(&self) -> String;
    /// The reader signed in on this browser, for a page with the reader
    /// slot.
    fn reader<'a>(
        &'a self,
        req: &'a actix_web::HttpRequest,
    ) -> LocalBoxFuture<'a, Option<SignedIn>>;
    /// The view count to show for story `number`, whose page was rendered
    /// with `rendered`.
    fn views(&self, number: i64, rendered: i64) -> i64;
    /// Counts one reading of story `number` by this request (not a bot's).
    fn count_view(&self, req: &actix_web::HttpRequest, number: i64);
}

/// The reader signed in on a browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub name: String,
    /// In good standing: their forms ask no captcha.
    pub trusted: bool,
}

/// A rendered page: its body, the hash of the body (for the ETag), and
/// where its per-request slots are, found once when it is rendered.
#[derive(Clone)]
pub(super) struct Page {
    /// UTF-8, as rendered; worked on as bytes, since slots are ASCII.
    pub(super) body: Bytes,
    pub(super) hash: u64,
    pub(super) slots: Arc<[Slot]>,
}

impl Page {
    pub(super) fn new(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        Page {
            hash: hash_of(&body),
            slots: slots_of(&body).into(),
            body,
        }
    }

    pub(super) fn has(&self, kind: SlotKind) -> bool {
        self.slots.iter().any(|slot| slot.kind == kind)
    }
}

/// The kinds of slot, in the order of `SLOT_MARKERS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SlotKind {
    Csrf,
    Captcha,
    ReaderStart,
    ReaderEnd,
    ChallengeStart,
    ChallengeEnd,
    Elder,
    Views,
}

pub(super) const SLOT_MARKERS: [(&str, SlotKind); 8] = [
    (CSRF_SLOT, SlotKind::Csrf),
    (CAPTCHA_SLOT, SlotKind::Captcha),
    (READER_START, SlotKind::ReaderStart),
    (READER_END, SlotKind::ReaderEnd),
    (CHALLENGE_START, SlotKind::ChallengeStart),
    (CHALLENGE_END, SlotKind::ChallengeEnd),
    (ELDER_SLOT, SlotKind::Elder),
    (VIEWS_SLOT, SlotKind::Views),
];

/// A slot's marker in a page.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) kind: SlotKind,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Every slot marker of `body`, in order. Markers are HTML comments, which
/// are rare in a page: the search looks for comments (a SIMD substring
/// search) rather than for every `<` where a marker could start.
pub(super) fn slots_of(body: &[u8]) -> Vec<Slot> {
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

/// What differs per request in a page.
#[derive(Default)]
pub(super) struct Personal {
    pub(super) token: Option<CsrfToken>,
    pub(super) captcha: Option<String>,
    /// The signed-in reader, where the page has the reader slot.
    pub(super) reader: Option<SignedIn>,
    pub(super) traditional: bool,
    /// The browser chose 长者模式.
    pub(super) elder: bool,
    pub(super) views: Option<(Arc<dyn SlotValues>, i64)>,
}

/// Gathers the per-request values a page's slots need (a database query
/// only for a page with the reader slot and a browser with a reader
/// session).
pub(super) async fn personal(req: &ServiceRequest, page: &Page) -> Personal {
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
        elder: page.has(SlotKind::Elder) && crate::web::elder::chosen(req.request()),
        views,
    }
}

/// Fills the per-request slots of a page, copying it once: every CSRF and
/// captcha slot, the first reader region, every captcha region of a
/// trusted reader and the first view count. A slot without a value stays
/// as it is.
pub(super) fn fill(page: &Page, personal: &Personal) -> Vec<u8> {
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
            SlotKind::Elder => Some(if personal.elder { "elder" } else { "" }.to_owned()),
            SlotKind::ReaderStart if !reader_done => {
                reader_done = true;
                let end = slots
                    .clone()
                    .find(|next| next.kind == SlotKind::ReaderEnd)
                    .map(|next| next.end);
                if let (Some(reader), Some(end)) = (&personal.reader, end) {
                    html.extend_from_slice(&body[copied..slot.start]);
                    html.extend_from_slice(
                        reader_state(&reader.name, personal.traditional).as_bytes(),
                    );
                    copied = end;
                }
                continue;
            }
            SlotKind::ChallengeStart => {
                let end = slots
                    .clone()
                    .find(|next| next.kind == SlotKind::ChallengeEnd)
                    .map(|next| next.end);
                let trusted = personal
                    .reader
                    .as_ref()
                    .is_some_and(|reader| reader.trusted);
                if let (true, Some(end)) = (trusted, end) {
                    html.extend_from_slice(&body[copied..slot.start]);
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
pub(super) fn reader_state(name: &str, traditional: bool) -> String {
    let state = format!(
        "<p class=\"reader-state\">已登录：<strong>{}</strong> · <a href=\"/account\">我的评论</a></p>",
        variant::escape(name)
    );
    if traditional {
        variant::to_traditional(&state, &variant::Conversions::default())
    } else {
        state
    }
}
