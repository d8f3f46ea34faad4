//! The client behind a request: its address, for throttling and the audit
//! log, and whether it reached the site over https. Forwarded headers are
//! believed only from the reverse proxies named in NEWSDESK_TRUSTED_PROXIES:
//! anyone else can write them.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

fn trusted(proxies: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    proxies.iter().any(|net| net.contains(&ip))
}

fn peer(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|addr| addr.ip().to_canonical())
}

/// The client's IP address: the peer's, or, when the peer is a trusted
/// proxy, the nearest address in X-Forwarded-For that is not one of ours
/// (each proxy appends the address it was reached from, so entries left
/// of the first untrusted one may be forged).
pub fn client_ip(req: &HttpRequest, proxies: &[IpNet]) -> String {
    let Some(peer) = peer(req) else {
        return String::new();
    };
    if !trusted(proxies, peer) {
        return peer.to_string();
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in forwarded.iter().rev() {
        let Ok(hop) = hop.parse::<IpAddr>() else {
            break;
        };
        nearest = hop.to_canonical();
        if !trusted(proxies, nearest) {
            break;
        }
    }
    nearest.to_string()
}

/// Whether the browser reached the site over https: the connection itself,
/// or the X-Forwarded-Proto of a trusted proxy.
pub fn is_https(req: &HttpRequest, proxies: &[IpNet]) -> bool {
    if req.uri().scheme_str() == Some("https") {
        return true;
    }
    peer(req).is_some_and(|peer| trusted(proxies, peer))
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The host the browser asked for: the Host header, or a trusted proxy's
/// X-Forwarded-Host (believed from no one else, so that nobody can make
/// the site write links or compare origins with a host of their choosing).
pub fn host(req: &HttpRequest, proxies: &[IpNet]) -> String {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.rsplit(',').next().unwrap_or(value).trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    if peer(req).is_some_and(|peer| trusted(proxies, peer))
        && let Some(forwarded) = header("x-forwarded-host")
    {
        return forwarded;
    }
    header("host")
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// The reverse proxies whose forwarded headers are believed (the app
/// registers them as `web::Data<TrustedProxies>`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

/// The proxies the app was configured to trust.
pub fn proxies(req: &HttpRequest) -> &[IpNet] {
    req.app_data::<actix_web::web::Data<TrustedProxies>>()
        .map_or(&[], |proxies| proxies.0.as_slice())
}
