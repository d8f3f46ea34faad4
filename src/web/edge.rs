//! The first look at every request, before any guard or handler: the path
//! every later layer sees is the one the router will serve, and text that
//! PostgreSQL cannot store (a NUL byte) or that no form can mean (other
//! control characters; broken UTF-8 in a path) is refused here, once, with
//! a 400.
//!
//! The router matches on the percent-decoded path (`/%61dmin` is served as
//! `/admin`), while `HttpRequest::path()` is the raw one. A guard that
//! compares the raw path with `/metrics` or `/admin` would be fooled, so the
//! request's URI is rewritten to the decoded form first.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, STRICT_TRANSPORT_SECURITY};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage};

use super::cookies::Https;
use crate::error::AppError;

/// Whether `text` holds a character no field of ours may carry: NUL and
/// the other C0 controls but tab, line feed and carriage return, and DEL.
pub fn has_forbidden_characters(text: &str) -> bool {
    text.chars()
        .any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}')
}

/// Whether an url-encoded string (a query string or a form body) decodes to
/// pairs free of forbidden characters (broken UTF-8 decodes to U+FFFD, as
/// the form extractors read it).
pub fn clean_urlencoded(encoded: &[u8]) -> bool {
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded) {
        Ok(pairs) => pairs
            .iter()
            .all(|(key, value)| !has_forbidden_characters(key) && !has_forbidden_characters(value)),
        Err(_) => false,
    }
}

/// The path percent-decoded: `None` when it is not UTF-8 or holds a
/// forbidden character (`%00` included).
pub fn decoded_path(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!has_forbidden_characters(&text)).then_some(text)
}

/// `raw` with the percent-escapes of ASCII letters, digits and `-._~`
/// decoded (the characters routes and guards are spelled with); every
/// other escape is kept as it came.
pub fn unreserved_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(byte));
        match decoded {
            Some(byte) => {
                out.push(byte as char);
                i += 3;
            }
            None => {
                // Safe: `raw` is a URI path, ASCII only.
                out.push(bytes[i] as char);
                i += 1;
            }
        }
    }
    out
}

/// The middleware.
pub async fn screen(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let https = super::client::is_https(req.request(), super::client::proxies(req.request()));
    req.extensions_mut().insert(Https(https));
    if decoded_path(req.path()).is_none() {
        tracing::info!("refused a path with forbidden characters");
        return Err(AppError::ForbiddenCharacters.into());
    }
    let query = req.query_string().to_owned();
    if !query.is_empty() && !clean_urlencoded(query.as_bytes()) {
        tracing::info!("refused a query with forbidden characters");
        return Err(AppError::ForbiddenCharacters.into());
    }
    // The router decodes `%61dmin` to `admin`; every later layer must see
    // the letters it routes by.
    let routed = unreserved_decoded(req.path());
    if routed != req.path() {
        let target = if query.is_empty() {
            routed
        } else {
            format!("{routed}?{query}")
        };
        match target.parse::<Uri>() {
            Ok(uri) => {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
            Err(_) => return Err(AppError::NotFound.into()),
        }
    }
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if form {
        // Read whole (within the form size limit) and put back for the
        // CSRF check and the handler.
        let body = match req.extract::<Bytes>().await {
            Ok(body) => body,
            Err(_) => return Err(AppError::BadRequest.into()),
        };
        if !clean_urlencoded(&body) {
            tracing::info!("refused a form with forbidden characters");
            return Err(AppError::ForbiddenCharacters.into());
        }
        req.set_payload(Payload::from(body));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if https {
        // Browsers that saw the site over https keep to https for a year.
        response.headers_mut().insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_are_forbidden_but_line_breaks_are_not() {
        assert!(has_forbidden_characters("ad\0min"));
        assert!(has_forbidden_characters("a\u{1b}b"));
        assert!(has_forbidden_characters("a\u{7f}"));
        assert!(!has_forbidden_characters("第一段\r\n第二段\t"));
        assert!(!has_forbidden_characters("电网 ✓"));
    }

    #[test]
    fn encoded_text_is_checked_after_decoding() {
        assert!(!clean_urlencoded(b"username=ad%00min"));
        assert!(!clean_urlencoded(b"q=x&channel=abc%00"));
        // Broken UTF-8 in a form decodes to replacement characters, which
        // any column can store.
        assert!(clean_urlencoded(b"q=%ff%fe"));
        assert!(clean_urlencoded(b"q=%E7%94%B5%E7%BD%91&page=2"));
        assert!(clean_urlencoded(b"body=a%0D%0Ab"));
    }

    #[test]
    fn letters_spelled_as_escapes_are_decoded_and_the_rest_kept() {
        assert_eq!(unreserved_decoded("/%61dmin/%75sers"), "/admin/users");
        assert_eq!(unreserved_decoded("/%6Detrics"), "/metrics");
        assert_eq!(
            unreserved_decoded("/tags/%E7%94%B5%2F%20x"),
            "/tags/%E7%94%B5%2F%20x"
        );
        assert_eq!(unreserved_decoded("/a%2"), "/a%2");
    }

    #[test]
    fn paths_decode_and_refuse_nul() {
        assert_eq!(decoded_path("/tags/%E7%94%B5").as_deref(), Some("/tags/电"));
        assert_eq!(decoded_path("/%6detrics").as_deref(), Some("/metrics"));
        assert_eq!(decoded_path("/tags/%00"), None);
        assert_eq!(decoded_path("/tags/%C0"), None);
        assert_eq!(decoded_path("/a%2"), Some("/a%2".into()));
    }
}
