//! Web plumbing shared by every slice and knowing none: rendering, cookies,
//! CSRF, the client address, the page cache, versioned static assets,
//! request ids and health checks.

pub mod assets;
pub mod cache;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod edge;
pub mod elder;
pub mod head;
pub mod health;
pub mod reads;
pub mod redirect;
pub mod telemetry;
pub mod variant;

use std::sync::Arc;

use actix_web::body::{MessageBody, to_bytes};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse};
use askama::Template;

use crate::error::AppError;

/// Renders a page template with the given status.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Renders a page template with 200 OK.
pub fn page(page: &impl Template) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, page)
}

/// A response's body, read whole by the middlewares that fill in or
/// convert pages.
pub async fn body_bytes(body: impl MessageBody) -> Result<Bytes, Error> {
    to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("body"))
}

/// A response's body as text. Pages are UTF-8, so the lossy conversion (a
/// slower pass) is only the fallback.
pub async fn body_text(body: impl MessageBody) -> Result<Arc<str>, Error> {
    let bytes = body_bytes(body).await?;
    Ok(match std::str::from_utf8(&bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(&bytes).into(),
    })
}

/// `html` with the first occurrence of each marker replaced by its value,
/// copied once. The markers are ASCII, so UTF-8 text stays UTF-8 and need
/// not be checked again.
pub fn replace_first(html: &[u8], replacements: &[(&str, &str)]) -> Vec<u8> {
    let mut found: Vec<(usize, usize, &str)> = replacements
        .iter()
        .filter_map(|&(marker, value)| {
            memchr::memmem::find(html, marker.as_bytes()).map(|at| (at, at + marker.len(), value))
        })
        .collect();
    found.sort_unstable_by_key(|&(start, _, _)| start);
    let extra: usize = found.iter().map(|(_, _, value)| value.len()).sum();
    let mut out = Vec::with_capacity(html.len() + extra);
    let mut copied = 0;
    for (start, end, value) in found {
        if start < copied {
            continue;
        }
        out.extend_from_slice(&html[copied..start]);
        out.extend_from_slice(value.as_bytes());
        copied = end;
    }
    out.extend_from_slice(&html[copied..]);
    out
}
