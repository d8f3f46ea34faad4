//! The public JSON API under `/api/v1`, for the network's other systems
//! (the app, the WeChat account's tools, the group's portal): published
//! stories, the channel and unit trees, search.
//!
//! Only what a reader of the site may see is ever returned: the queries
//! are the public pages' own (`status = 'published'`, active channels and
//! units in the trees). Every answer carries an ETag and answers
//! `If-None-Match` with 304, and `Cache-Control: no-cache` as the public
//! pages do (a corrected story is never served stale from a client's
//! cache); lists page by an opaque cursor. Browsers of the configured
//! origins may read it (CORS), and each client is limited to a number of
//! requests a minute per node. The OpenAPI 3.1 document is generated from
//! the handlers and types below (`docs`).

pub mod docs;
mod stories;

use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// Where the API lives.
pub const BASE: &str = "/api/v1";

/// The answer to a request the API cannot serve, in JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for the developer on the other end (in Chinese, as
    /// the site speaks).
    pub error: String,
}

/// An API error: a status and a message, sent as [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(ErrorBody {
                error: self.message.clone(),
            })
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let status = error.status_code();
        match &error {
            AppError::Internal(cause) => tracing::error!(error = ?cause, "API request failed"),
            AppError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            _ => {}
        }
        let message = match status {
            StatusCode::NOT_FOUND => "没有这个资源。",
            StatusCode::SERVICE_UNAVAILABLE => "数据库暂时不可用，请稍后再试。",
            StatusCode::TOO_MANY_REQUESTS => "服务器繁忙，请稍后再试。",
            _ if status.is_client_error() => "请求无效。",
            _ => "服务器内部错误。",
        };
        ApiError {
            status,
            message: message.to_owned(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

/// `value` as JSON with its ETag, or 304 when the client holds it.
pub fn json<T: Serialize>(req: &HttpRequest, value: &T) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|error| ApiError::from(AppError::Internal(error.into())))?;
    let tag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
    let held = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == tag
        });
    let mut response = if held {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept-Encoding, Origin"));
    Ok(if held {
        response.finish()
    } else {
        response.content_type("application/json").body(body)
    })
}

/// The site's public address, for absolute links: the configured one, or
/// what the request says.
fn base_url(req: &HttpRequest, site: &crate::settings::SiteSettings) -> String {
    crate::articles::feeds::base(req, &site.site_url)
}

/// The per-client limit of the API, shared by this node's workers.
pub struct Limiter {
    limiter: Option<governor::DefaultKeyedRateLimiter<String>>,
    per_minute: u32,
}

impl Limiter {
    /// `per_minute` requests a minute per client, in bursts of as many;
    /// `0` for none.
    pub fn new(per_minute: u32) -> Arc<Self> {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| governor::RateLimiter::keyed(governor::Quota::per_minute(n)));
        let limiter = Arc::new(Limiter {
            limiter,
            per_minute,
        });
        // Forget clients whose allowance is full again, so that memory is
        // bounded by the clients of the last minute.
        let kept = Arc::downgrade(&limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limiter) = kept.upgrade() else { break };
                if let Some(keyed) = &limiter.limiter {
                    keyed.retain_recent();
                    keyed.shrink_to_fit();
                }
            }
        });
        limiter
    }

    /// Whether `client` may make one more request now; when not, in how
    /// many seconds it may.
    fn check(&self, client: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&client.to_owned()).map_err(|refused| {
            let now = governor::clock::Clock::now(limiter.clock());
            refused.wait_time_from(now).as_secs().max(1)
        })
    }
}

/// The address a client is counted under (IPv6 by its /64), as logins are.
fn client_key(req: &HttpRequest) -> String {
    crate::auth::throttle::client_network(&crate::web::client::client_ip(
        req,
        crate::web::client::proxies(req),
    ))
}

/// Refuses a client past its allowance with 429 and `Retry-After`.
async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limiter = req.app_data::<web::Data<Limiter>>().cloned();
    if let Some(limiter) = limiter
        && req.method() != actix_web::http::Method::OPTIONS
    {
        let client = client_key(req.request());
        if let Err(wait) = limiter.check(&client) {
            let mut response = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: format!(
                    "请求过于频繁：每个客户端每分钟最多 {} 次，请 {wait} 秒后再试。",
                    limiter.per_minute
                ),
            }
            .error_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(req.into_response(response));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Who may read the API from a browser.
#[derive(Clone, Debug)]
pub enum Origins {
    Any,
    Listed(Vec<String>),
}

impl Origins {
    /// From the configured list: `*` for any; each other entry must be an
    /// origin (`https://app.example.com`, no path).
    pub fn parse(listed: &[String]) -> anyhow::Result<Self> {
        let listed: Vec<&str> = listed
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .collect();
        if listed.contains(&"*") {
            return Ok(Origins::Any);
        }
        let origins = listed
            .into_iter()
            .map(|origin| {
                let url = url::Url::parse(origin).ok().filter(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.host_str().is_some()
                        && url.path() == "/"
                        && url.query().is_none()
                        && !origin.ends_with('/')
                });
                url.map(|_| origin.to_owned()).ok_or_else(|| {
                    anyhow::anyhow!(
                        "NEWSDESK_API_ORIGINS: {origin} is not an origin such as https://app.example.com"
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Origins::Listed(origins))
    }

    fn cors(&self) -> actix_cors::Cors {
        let cors = actix_cors::Cors::default()
            .allowed_methods(["GET", "HEAD"])
            .allowed_headers([header::ACCEPT, header::IF_NONE_MATCH])
            .expose_headers([header::ETAG, header::RETRY_AFTER])
            .max_age(86_400);
        match self {
            Origins::Any => cors.allow_any_origin().send_wildcard(),
            Origins::Listed(origins) => origins
                .iter()
                .fold(cors, |cors, origin| cors.allowed_origin(origin)),
        }
    }
}

/// The API's routes, with CORS and the per-client limit around them.
pub fn routes(cfg: &mut web::ServiceConfig, origins: &Origins) {
    cfg.service(
        web::scope(BASE)
            .wrap(from_fn(limit))
            .wrap(origins.cors())
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|_, _| ApiError::bad_request("查询参数无效。").into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::not_found("没有这个资源。").into()),
            )
            .route("/stories", web::get().to(stories::list))
            .route("/stories/{number}", web::get().to(stories::one))
            .route("/channels", web::get().to(stories::channels))
            .route("/units", web::get().to(stories::units))
            .route("/search", web::get().to(stories::search))
            .route("/openapi.json", web::get().to(docs::document))
            .route("", web::get().to(docs::reference))
            .route("/", web::get().to(docs::reference))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::not_found("没有这个接口。"))
            })),
    );
}
