//! The addresses of the sites a newsroom moved from (WordPress permalinks,
//! DedeCMS `/plus/view.php?aid=…`, PHPCMS `index.php?m=content&c=index&a=show…`),
//! kept by the importers and answered with 301 to the new pages, so that
//! links and search engines follow.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use sqlx::PgPool;

/// The key an old address is kept under: its path percent-decoded, without
/// a trailing slash, and its query's parameters decoded and in order
/// (`/plus/view.php?aid=12`). Two spellings of one address have one key.
pub fn key(path: &str, query: &str) -> String {
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .filter(|(name, _)| !name.is_empty())
        .collect();
    if pairs.is_empty() {
        return path.to_owned();
    }
    pairs.sort();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

/// The key of an absolute or site-relative old URL
/// (`https://old.example.com/2024/01/slug/`).
pub fn key_of_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url)
        .or_else(|_| url::Url::parse("http://old.invalid/")?.join(url))
        .ok()?;
    Some(key(parsed.path(), parsed.query().unwrap_or("")))
}

/// Where an old address leads now.
pub async fn target(conn: &mut sqlx::PgConnection, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select to_path from legacy_redirects where from_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// Whether a request may be an old address: every GET the site answers
/// 404, and the home page with a query (WordPress's `/?p=123`).
fn home_with_query(req: &ServiceRequest) -> bool {
    matches!(req.path(), "/" | "/index.php") && !req.query_string().is_empty()
}

async fn redirect_of(req: &actix_web::HttpRequest) -> Option<HttpResponse> {
    let pool = req.app_data::<web::Data<PgPool>>()?;
    let mut conn = pool.acquire().await.ok()?;
    let key = key(req.path(), req.query_string());
    let to = target(&mut conn, &key).await.ok()??;
    Some(
        HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, to))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .finish(),
    )
}

/// The middleware: an old address kept by an import is answered 301.
pub async fn redirect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if home_with_query(&req)
        && let Some(moved) = redirect_of(req.request()).await
    {
        return Ok(req.into_response(moved));
    }
    let response = next.call(req).await?;
    if response.status() != StatusCode::NOT_FOUND {
        return Ok(response.map_into_boxed_body());
    }
    match redirect_of(response.request()).await {
        Some(moved) => {
            let (req, _) = response.into_parts();
            Ok(ServiceResponse::new(req, moved))
        }
        None => Ok(response.map_into_boxed_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_have_one_key() {
        assert_eq!(key("/2024/01/dian-wang/", ""), "/2024/01/dian-wang");
        assert_eq!(key("/2024/01/dian-wang", ""), "/2024/01/dian-wang");
        assert_eq!(key("/", "p=123"), "/?p=123");
        assert_eq!(
            key("/index.php", "id=7&m=content&a=show&c=index&catid=3"),
            key("/index.php", "m=content&c=index&a=show&catid=3&id=7")
        );
        assert_eq!(
            key("/%E6%96%B0%E9%97%BB/%E7%A8%BF%E4%BB%B6/", ""),
            "/新闻/稿件"
        );
        assert_eq!(
            key_of_url("https://old.example.com/plus/view.php?aid=12").unwrap(),
            "/plus/view.php?aid=12"
        );
        assert_eq!(
            key_of_url("/a/news/20240101/12.html").unwrap(),
            "/a/news/20240101/12.html"
        );
        assert_eq!(key("/", ""), "/");
    }
}
