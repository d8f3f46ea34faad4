//! The RSS feed of the newest stories and the sitemap, for readers' feed
//! apps and search engines.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use sqlx::PgPool;

use super::article_url;
use super::db;
use crate::error::AppError;
use crate::settings;

const FEED_ITEMS: i64 = 30;
const SITEMAP_ITEMS: i64 = 5000;

pub struct FeedItem {
    pub title: String,
    pub summary: String,
    pub url: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "public/feed.xml")]
struct Feed {
    site_name: String,
    base: String,
    items: Vec<FeedItem>,
}

#[derive(Template)]
#[template(path = "public/sitemap.xml")]
struct Sitemap {
    base: String,
    items: Vec<FeedItem>,
}

/// The site's public address: the setting, or else what the request says.
fn base(req: &HttpRequest, configured: &str) -> String {
    if configured.is_empty() {
        let scheme = if crate::web::cookies::https(req) {
            "https"
        } else {
            "http"
        };
        let host = crate::web::client::host(req, crate::web::client::proxies(req));
        format!("{scheme}://{host}")
    } else {
        configured.to_owned()
    }
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body)
}

/// GET /feed.xml
pub async fn feed(req: HttpRequest, pool: web::Data<PgPool>) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let site = settings::db::load(&mut conn).await?;
    let items = db::latest_published(&mut conn, FEED_ITEMS)
        .await?
        .into_iter()
        .map(|item| FeedItem {
            url: article_url(item.number),
            date: item.published_at.to_rfc2822(),
            title: item.title,
            summary: item.summary,
        })
        .collect();
    let feed = Feed {
        base: base(&req, &site.site_url),
        site_name: site.site_name,
        items,
    };
    Ok(xml(feed.render()?))
}

/// GET /sitemap.xml
pub async fn sitemap(req: HttpRequest, pool: web::Data<PgPool>) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let site = settings::db::load(&mut conn).await?;
    let items = db::latest_published(&mut conn, SITEMAP_ITEMS)
        .await?
        .into_iter()
        .map(|item| FeedItem {
            url: article_url(item.number),
            date: item.published_at.format("%Y-%m-%d").to_string(),
            title: item.title,
            summary: String::new(),
        })
        .collect();
    let sitemap = Sitemap {
        base: base(&req, &site.site_url),
        items,
    };
    Ok(xml(sitemap.render()?))
}
