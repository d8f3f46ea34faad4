//! Structured logs: one span per request carrying a request id (also sent
//! back as `X-Request-Id`), the route pattern and the path without its query
//! string (query strings may carry tokens), closed by one line with the status
//! and the time taken.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; later calls (as in tests) are ignored.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

struct RequestStart(Instant);

pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request
            .extensions_mut()
            .insert(RequestStart(Instant::now()));
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            %request_id,
            method = %request.method(),
            path = %request.path(),
            route = request.match_pattern().unwrap_or_default(),
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                let elapsed_ms = response
                    .request()
                    .extensions()
                    .get::<RequestStart>()
                    .map(|start| start.0.elapsed().as_secs_f64() * 1000.0)
                    .unwrap_or_default();
                let status = response.status().as_u16();
                if status >= 500 {
                    tracing::warn!(status, elapsed_ms, "request finished");
                } else {
                    tracing::info!(status, elapsed_ms, "request finished");
                }
            }
            Err(error) => tracing::error!(%error, "request failed"),
        }
    }
}

/// Copies the request id into the response's `X-Request-Id` header.
pub async fn request_id_header(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = request.extensions().get::<RequestId>().copied();
    let mut response = next.call(request).await?;
    if let Some(id) = request_id
        && let Ok(value) = HeaderValue::from_str(&id.to_string())
    {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
