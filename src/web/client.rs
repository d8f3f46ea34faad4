//! The client's address, for throttling and the audit log.

use actix_web::HttpRequest;

/// The peer's IP address; behind a trusted reverse proxy (NEWSDESK_TRUST_PROXY)
/// the last address the proxy appended to X-Forwarded-For, which a client
/// cannot forge.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
        && let Some(last) = forwarded
            .rsplit(',')
            .map(str::trim)
            .find(|part| !part.is_empty())
        && last.parse::<std::net::IpAddr>().is_ok()
    {
        return last.to_owned();
    }
    req.peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_default()
}
