//! Structured logs: one span per request carrying a request id (also sent
//! back as `X-Request-Id`), the route pattern and the path without its query
//! string (query strings may carry tokens), closed by one line with the status
//! and the time taken.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use subtle::ConstantTimeEq;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::AppError;

/// Installs the global subscriber; later calls (as in tests) are ignored.
pub fn init(filter: &str, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter(filter))
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The filter `spec` names (tracing's env-filter syntax), less one warning.
/// The metrics middleware warns on every request answered from the page
/// cache on a route with parameters (`/articles/{number}`): routing, which
/// fills the parameters in, did not run. It then labels the request with the
/// route's pattern, which is the right label; the warning told an operator
/// nothing, once per cached page (80,000 lines a second under load).
fn log_filter(spec: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    match "actix_web_prom=error".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
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
            // A guard's refusal (404, 400, 403) is an answer, not a failure.
            Err(error) => {
                let status = error.as_response_error().status_code().as_u16();
                if status >= 500 {
                    tracing::error!(status, %error, "request failed");
                } else {
                    tracing::info!(status, %error, "request refused");
                }
            }
        }
    }
}

/// Where the Prometheus figures are served.
pub const METRICS_PATH: &str = "/metrics";

/// Who may read the figures: a scraper on this machine, or one presenting
/// NEWSDESK_METRICS_TOKEN as a bearer token. Behind a trusted reverse proxy
/// the client is the one the proxy names, so the proxy, itself on this
/// machine, does not open them to everyone. Others get the 404 page.
/// The bearer token that lets a scraper elsewhere read /metrics (the app
/// registers it as `web::Data<MetricsToken>`).
#[derive(Debug, Clone, Default)]
pub struct MetricsToken(pub Option<String>);

pub async fn metrics_access(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if request.path() == METRICS_PATH && !may_read_metrics(&request) {
        return Err(AppError::NotFound.into());
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

fn may_read_metrics(request: &ServiceRequest) -> bool {
    let client =
        super::client::client_ip(request.request(), super::client::proxies(request.request()));
    let local = client
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback());
    let presented = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let expected = request
        .app_data::<web::Data<MetricsToken>>()
        .and_then(|token| token.0.clone());
    let token = match (&expected, presented) {
        (Some(expected), Some(presented)) => {
            bool::from(expected.as_bytes().ct_eq(presented.trim().as_bytes()))
        }
        _ => false,
    };
    local || token
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_metrics_middlewares_warning_on_cached_pages_is_left_out() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter("warn"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "actix_web_prom", "Cannot build mixed cardinality pattern");
            tracing::error!(target: "actix_web_prom", "cannot register a metric");
            tracing::warn!(target: "newsdesk", "slow statement");
        });
        let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(!written.contains("mixed cardinality"), "{written}");
        assert!(written.contains("cannot register a metric"), "{written}");
        assert!(written.contains("slow statement"), "{written}");
    }
}
