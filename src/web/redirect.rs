//! Where the site may send a browser after a form: only its own pages.

use actix_web::HttpResponse;
use actix_web::http::header::LOCATION;

/// A 303 to `location`, the answer to a form that did what it asked.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

/// The origin `next` is resolved against; never sent anywhere.
const BASE: &str = "http://newsdesk.invalid/";

/// `next` as a path on this site, normalised the way a browser reads a
/// `Location` (tabs and line breaks dropped, `\` taken for `/`, dot
/// segments resolved), or `None` when a browser would leave the site with
/// it (`//evil.com`, `/\t/evil.com`, `https://…`, `javascript:…`).
pub fn local_path(next: &str) -> Option<String> {
    if !next.starts_with('/') && !next.starts_with('\\') {
        return None;
    }
    let base = url::Url::parse(BASE).ok()?;
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut path = resolved.path().to_owned();
    if let Some(query) = resolved.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = resolved.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pages_pass_normalised() {
        assert_eq!(local_path("/account").as_deref(), Some("/account"));
        assert_eq!(
            local_path("/articles/12?x=1#comments").as_deref(),
            Some("/articles/12?x=1#comments")
        );
        assert_eq!(local_path("/a/../admin").as_deref(), Some("/admin"));
        assert_eq!(local_path("/\tadmin").as_deref(), Some("/admin"));
    }

    #[test]
    fn anything_a_browser_takes_off_site_is_refused() {
        for next in [
            "//evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/\r\n/evil.com",
            "\\\\evil.com",
            "/\\evil.com",
            "\\/evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "evil.com",
            "",
            "/%09/evil.com/..",
        ] {
            let kept = local_path(next);
            assert!(
                kept.as_deref()
                    .is_none_or(|path| path.starts_with('/') && !path.starts_with("//")),
                "{next:?} gave {kept:?}"
            );
        }
        assert_eq!(local_path("/\t/evil.com"), None);
        assert_eq!(local_path("/\\evil.com"), None);
        assert_eq!(local_path("https://evil.com"), None);
    }
}
