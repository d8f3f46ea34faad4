//! 简 / 繁: every public page also exists in Traditional Chinese under the
//! `/zh-hant` prefix. The page is rendered once, in Simplified Chinese, and
//! converted on the way out by a phrase-level converter built on OpenCC's
//! dictionaries (hanconv, Taiwan standard characters without Taiwan
//! vocabulary); its internal links stay in the variant. Every public page
//! gets the switch link and hreflang alternates. The site's own list of
//! conversions (names and company terms the library converts wrongly) is
//! applied before the library, both ways.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use aho_corasick::{AhoCorasick, MatchKind};
use futures_util::future::LocalBoxFuture;

pub const PREFIX: &str = "/zh-hant";
/// Where the layout asks for the switch link and the alternates.
pub const SWITCH_SLOT: &str = "<!--variant-switch-->";
pub const ALTERNATES_SLOT: &str = "<!--variant-alternates-->";

/// Which script a page is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Simplified,
    Traditional,
}

/// A path without the Traditional prefix.
pub fn plain_path(path: &str) -> &str {
    match path.strip_prefix(PREFIX) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Whether `target` (a path, perhaps with a query) is already a 繁體 one.
fn is_traditional(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    path == PREFIX || path.starts_with(&format!("{PREFIX}/"))
}

/// Paths that have no Traditional twin (the backend, files, probes).
pub fn untouched(path: &str) -> bool {
    [
        "/admin",
        "/api/",
        "/static/",
        "/media/",
        "/healthz",
        "/metrics",
        "/favicon.ico",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

/// Escapes text for an HTML attribute or element.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One direction of the site's conversions: the words to find, longest
/// first where they overlap, and what each becomes.
struct Direction {
    finder: AhoCorasick,
    into: Vec<String>,
}

impl Direction {
    fn new(pairs: impl Iterator<Item = (String, String)>) -> Option<Self> {
        let (from, into): (Vec<String>, Vec<String>) = pairs.unzip();
        if from.is_empty() {
            return None;
        }
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&from)
            .ok()?;
        Some(Direction { finder, into })
    }

    /// `text` with each listed word replaced and the rest converted by
    /// `library`.
    fn convert(&self, text: &str, library: fn(&str) -> String) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        let mut copied = 0;
        for found in self.finder.find_iter(text) {
            out.push_str(&library(&text[copied..found.start()]));
            out.push_str(&self.into[found.pattern().as_usize()]);
            copied = found.end();
        }
        out.push_str(&library(&text[copied..]));
        out
    }
}

/// The site's list of conversions: a Simplified word and its 繁體 form,
/// applied before the library's dictionaries, on pages and feeds (简 → 繁)
/// and on searches typed in 繁體 (繁 → 简).
#[derive(Default)]
pub struct Conversions {
    to_traditional: Option<Direction>,
    to_simplified: Option<Direction>,
}

impl Conversions {
    pub fn new(pairs: &[(String, String)]) -> Self {
        Conversions {
            to_traditional: Direction::new(pairs.iter().cloned()),
            to_simplified: Direction::new(pairs.iter().map(|(s, t)| (t.clone(), s.clone()))),
        }
    }

    /// Simplified text in 繁體 (Taiwan standard characters).
    pub fn s2t(&self, text: &str) -> String {
        match &self.to_traditional {
            Some(direction) => direction.convert(text, |part| hanconv::s2tw(part)),
            None => hanconv::s2tw(text),
        }
    }

    /// 繁體 text in Simplified.
    pub fn t2s(&self, text: &str) -> String {
        match &self.to_simplified {
            Some(direction) => direction.convert(text, |part| hanconv::t2s(part)),
            None => hanconv::t2s(text),
        }
    }
}

/// Where the middleware finds the site's current conversions, registered
/// as `web::Data<dyn ConversionSource>` by the route table.
pub trait ConversionSource: Send + Sync + 'static {
    fn current<'a>(&'a self, req: &'a HttpRequest) -> LocalBoxFuture<'a, Arc<Conversions>>;
}

/// The conversions a request is served with (none without a source).
async fn conversions_for(req: &HttpRequest) -> Arc<Conversions> {
    match req.app_data::<web::Data<dyn ConversionSource>>() {
        Some(source) => source.current(req).await,
        None => Arc::default(),
    }
}

/// Marks a part of a page that stays as written in the Traditional twin
/// (filing numbers are registered in Simplified characters, to the letter).
pub const KEEP_START: &str = "<!--keep-->";
pub const KEEP_END: &str = "<!--/keep-->";

/// Converts a rendered Simplified page into its Traditional twin.
pub fn to_traditional(html: &str, conversions: &Conversions) -> String {
    let mut converted = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while let Some(start) = rest.find(KEEP_START) {
        converted.push_str(&conversions.s2t(&rest[..start]));
        let kept = &rest[start..];
        let end = kept
            .find(KEEP_END)
            .map_or(kept.len(), |end| end + KEEP_END.len());
        converted.push_str(&kept[..end]);
        rest = &kept[end..];
    }
    converted.push_str(&conversions.s2t(rest));
    let converted = converted.replacen("lang=\"zh-CN\"", "lang=\"zh-Hant\"", 1);
    let linked = converted
        .replace("href=\"/", &format!("href=\"{PREFIX}/"))
        .replace("action=\"/search", &format!("action=\"{PREFIX}/search"));
    ["static/", "media/", "admin", "favicon.ico"]
        .iter()
        .fold(linked, |html, keep| {
            html.replace(
                &format!("href=\"{PREFIX}/{keep}"),
                &format!("href=\"/{keep}"),
            )
        })
}

/// Fills the layout's slots with the switch link and the alternates.
fn fill_slots(html: &[u8], plain_path: &str, variant: Variant) -> Vec<u8> {
    let simplified = escape(plain_path);
    let traditional = escape(&format!("{PREFIX}{plain_path}"));
    let switch = match variant {
        Variant::Simplified => format!(
            "<a class=\"variant-switch\" href=\"{traditional}\" hreflang=\"zh-Hant\" lang=\"zh-Hant\">繁體</a>"
        ),
        Variant::Traditional => format!(
            "<a class=\"variant-switch\" href=\"{simplified}\" hreflang=\"zh-CN\" lang=\"zh-CN\">简体</a>"
        ),
    };
    let alternates = format!(
        "<link rel=\"alternate\" hreflang=\"zh-CN\" href=\"{simplified}\">\
         <link rel=\"alternate\" hreflang=\"zh-Hant\" href=\"{traditional}\">"
    );
    super::replace_first(
        html,
        &[(SWITCH_SLOT, &switch), (ALTERNATES_SLOT, &alternates)],
    )
}

/// The middleware: serves `/zh-hant/...` from the Simplified route and
/// converts the page; fills the switch slots of every public page.
pub async fn variants(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_owned();
    if untouched(&path) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let variant = if path == PREFIX || path.starts_with(&format!("{PREFIX}/")) {
        Variant::Traditional
    } else {
        Variant::Simplified
    };
    let plain_path = match variant {
        Variant::Traditional => match &path[PREFIX.len()..] {
            "" => "/".to_owned(),
            rest => rest.to_owned(),
        },
        Variant::Simplified => path.clone(),
    };
    if variant == Variant::Traditional {
        // Only public pages have a Traditional twin: the backend, files,
        // probes and metrics are not served under the prefix, so no guard
        // keyed on their paths can be walked around through it.
        if untouched(&plain_path) || plain_path.starts_with(PREFIX) {
            return Err(crate::error::AppError::NotFound.into());
        }
        let query = req.query_string().to_owned();
        let target = if query.is_empty() {
            plain_path.clone()
        } else {
            format!("{plain_path}?{query}")
        };
        if let Ok(uri) = target.parse::<Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
        req.extensions_mut().insert(variant);
    }
    let mut response = next.call(req).await?;
    if variant == Variant::Traditional {
        // A redirect within the public site stays in 繁體 (a login asked
        // for by /zh-hant/account, and the way back after it).
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .filter(|to| to.starts_with('/') && !to.starts_with("//"))
            .filter(|to| !untouched(to) && !is_traditional(to))
            .map(|to| format!("{PREFIX}{to}"));
        if let Some(to) = location.and_then(|to| HeaderValue::from_str(&to).ok()) {
            response.headers_mut().insert(LOCATION, to);
        }
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if variant == Variant::Traditional && content_type.starts_with("application/xml") {
        // The feed: its text converted; its links were written for 繁體.
        let conversions = conversions_for(response.request()).await;
        let (request, response) = response.into_parts();
        let (mut head, body) = response.into_parts();
        let xml = conversions.s2t(&super::body_text(body).await?);
        head.headers_mut().remove(CONTENT_LENGTH);
        let response = head.set_body(BoxBody::new(xml));
        return Ok(ServiceResponse::new(request, response));
    }
    if !content_type.starts_with("text/html") {
        return Ok(response.map_into_boxed_body());
    }
    let conversions = match variant {
        Variant::Traditional => Some(conversions_for(response.request()).await),
        Variant::Simplified => None,
    };
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    // Slots are filled after conversion: their links name both variants.
    let html = match (variant, conversions) {
        (Variant::Traditional, Some(conversions)) => {
            let html = to_traditional(&super::body_text(body).await?, &conversions);
            fill_slots(html.as_bytes(), &plain_path, variant)
        }
        _ => fill_slots(&super::body_bytes(body).await?, &plain_path, variant),
    };
    head.headers_mut().remove(CONTENT_LENGTH);
    head.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let response = head.set_body(BoxBody::new(html));
    Ok(ServiceResponse::new(request, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_phrase_traps_convert_correctly() {
        let converted = to_traditional(
            "国家干部的头发，皇后养了一只猫，电网发展",
            &Conversions::default(),
        );
        assert_eq!(converted, "國家幹部的頭髮，皇后養了一隻貓，電網發展");
    }

    #[test]
    fn the_sites_own_conversions_come_before_the_librarys_both_ways() {
        let conversions = Conversions::new(&[
            ("台区".to_owned(), "台區".to_owned()),
            ("台区经理".to_owned(), "台區經理".to_owned()),
            ("于明".to_owned(), "于明".to_owned()),
        ]);
        // The library writes the surname 于 as 於, and 台 as 臺.
        assert_eq!(hanconv::s2tw("于明来访台区"), "於明來訪臺區");
        assert_eq!(conversions.s2t("于明来访台区经理"), "于明來訪台區經理");
        assert_eq!(conversions.t2s("于明來訪台區經理"), "于明来访台区经理");
        assert_eq!(Conversions::default().s2t("电网"), "電網");
    }

    #[test]
    fn internal_links_stay_in_the_variant_but_files_do_not() {
        let html = r#"<a href="/channels/yaowen">要闻</a><link href="/static/x/css/site.css"><img src="/media/a.jpg"><a href="/admin">后台</a>"#;
        let converted = to_traditional(html, &Conversions::default());
        assert!(
            converted.contains(r#"href="/zh-hant/channels/yaowen""#),
            "{converted}"
        );
        assert!(converted.contains(r#"href="/static/x/css/site.css""#));
        assert!(converted.contains(r#"href="/admin""#));
    }
}
