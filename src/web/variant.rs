//! 简 / 繁: every public page also exists in Traditional Chinese under the
//! `/zh-hant` prefix. The page is rendered once, in Simplified Chinese, and
//! converted on the way out by a phrase-level converter built on OpenCC's
//! dictionaries (hanconv, Taiwan standard characters without Taiwan
//! vocabulary); its internal links stay in the variant. Every public page
//! gets the switch link and hreflang alternates.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

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

/// Converts a rendered Simplified page into its Traditional twin.
pub fn to_traditional(html: &str) -> String {
    let converted = hanconv::s2tw(html).replacen("lang=\"zh-CN\"", "lang=\"zh-Hant\"", 1);
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
        let (request, response) = response.into_parts();
        let (mut head, body) = response.into_parts();
        let xml = hanconv::s2tw(&super::body_text(body).await?);
        head.headers_mut().remove(CONTENT_LENGTH);
        let response = head.set_body(BoxBody::new(xml));
        return Ok(ServiceResponse::new(request, response));
    }
    if !content_type.starts_with("text/html") {
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    // Slots are filled after conversion: their links name both variants.
    let html = match variant {
        Variant::Traditional => {
            let html = to_traditional(&super::body_text(body).await?);
            fill_slots(html.as_bytes(), &plain_path, variant)
        }
        Variant::Simplified => fill_slots(&super::body_bytes(body).await?, &plain_path, variant),
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
        let converted = to_traditional("国家干部的头发，皇后养了一只猫，电网发展");
        assert_eq!(converted, "國家幹部的頭髮，皇后養了一隻貓，電網發展");
    }

    #[test]
    fn internal_links_stay_in_the_variant_but_files_do_not() {
        let html = r#"<a href="/channels/yaowen">要闻</a><link href="/static/x/css/site.css"><img src="/media/a.jpg"><a href="/admin">后台</a>"#;
        let converted = to_traditional(html);
        assert!(
            converted.contains(r#"href="/zh-hant/channels/yaowen""#),
            "{converted}"
        );
        assert!(converted.contains(r#"href="/static/x/css/site.css""#));
        assert!(converted.contains(r#"href="/admin""#));
    }
}
