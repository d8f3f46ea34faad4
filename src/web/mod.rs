//! Web plumbing shared by every slice: rendering pages, the layout data of
//! public pages, versioned static assets, request ids and health checks.

pub mod assets;
pub mod cache;
pub mod client;
pub mod csrf;
pub mod health;
pub mod layout;
pub mod telemetry;
pub mod variant;

use std::sync::Arc;

use actix_web::body::{MessageBody, to_bytes};
use actix_web::http::StatusCode;
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

/// A response's body as text, read whole by the middlewares that fill in or
/// convert pages. Pages are UTF-8, so the lossy conversion (a slower pass)
/// is only the fallback.
pub async fn body_text(body: impl MessageBody) -> Result<Arc<str>, Error> {
    let bytes = to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("body"))?;
    Ok(match std::str::from_utf8(&bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(&bytes).into(),
    })
}
