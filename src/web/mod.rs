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

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
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
