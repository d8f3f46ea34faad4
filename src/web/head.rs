//! `HEAD` answered as `GET` without a body (RFC 9110 §9.3.2): the routes
//! are declared for GET, so a HEAD request is routed as one; the HTTP
//! layer, which saw the HEAD, sends the head and the length but no body.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};

/// Marks a request that came as HEAD.
#[derive(Debug, Clone, Copy)]
struct CameAsHead;

/// Whether the request came as HEAD (it is routed as GET): nobody read the
/// page, so it counts no view.
pub fn came_as_head(req: &HttpRequest) -> bool {
    req.extensions().get::<CameAsHead>().is_some()
}

pub async fn as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(CameAsHead);
    }
    next.call(req).await
}
