//! The RSS feed of the newest stories and the sitemap, for readers' feed
//! apps and search engines.

use crate::web::reads::ReadPool;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

use super::article_url;
use super::db;
use crate::error::AppError;
use crate::settings;
use crate::site::TreeCache;
use crate::web::variant::{PREFIX, Variant};

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
    /// `/zh-hant` for the 繁體 feed, whose links lead to 繁體 pages.
    prefix: &'static str,
    language: &'static str,
    items: Vec<FeedItem>,
}

/// One page of the sitemap, listed in both scripts.
pub struct SitemapEntry {
    /// The Simplified path (`/articles/12`); the 繁體 one adds the prefix.
    pub path: String,
    /// W3C datetime in the site's zone, with its offset.
    pub lastmod: Option<String>,
}

#[derive(Template)]
#[template(path = "public/sitemap.xml")]
struct Sitemap {
    base: String,
    hant: &'static str,
    /// Each page is listed under both: Simplified, then 繁體.
    prefixes: [&'static str; 2],
    entries: Vec<SitemapEntry>,
}

/// The site's public address: the setting, or else what the request says.
pub fn base(req: &HttpRequest, configured: &str) -> String {
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
pub async fn feed(req: HttpRequest, pool: ReadPool) -> Result<HttpResponse, AppError> {
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
    let traditional = req.extensions().get::<Variant>() == Some(&Variant::Traditional);
    let feed = Feed {
        prefix: if traditional { PREFIX } else { "" },
        language: if traditional { "zh-Hant" } else { "zh-CN" },
        base: base(&req, &site.site_url),
        site_name: site.site_name,
        items,
    };
    Ok(xml(feed.render()?))
}

/// GET /sitemap.xml: the home page, every active channel and the newest
/// published stories, each in Simplified and 繁體 with the other named as
/// its alternate (`xhtml:link hreflang`), dated in the site's zone.
pub async fn sitemap(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let trees = trees.current(&mut conn).await?;
    let zone = trees.settings.time_zone;
    let mut entries = vec![SitemapEntry {
        path: "/".into(),
        lastmod: None,
    }];
    entries.extend(
        trees
            .channels
            .iter()
            .filter(|channel| channel.active)
            .map(|channel| SitemapEntry {
                path: super::channel_url(&channel.slug),
                lastmod: None,
            }),
    );
    entries.extend(
        db::latest_published(&mut conn, SITEMAP_ITEMS)
            .await?
            .into_iter()
            .map(|item| SitemapEntry {
                path: article_url(item.number),
                lastmod: Some(
                    item.published_at
                        .with_timezone(&zone)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                ),
            }),
    );
    let sitemap = Sitemap {
        base: base(&req, &trees.settings.site_url),
        hant: crate::web::variant::PREFIX,
        prefixes: ["", crate::web::variant::PREFIX],
        entries,
    };
    Ok(xml(sitemap.render()?))
}

/// GET /robots.txt: crawlers keep out of the backend and the reader's own
/// pages, and are told where the sitemap is.
pub async fn robots(
    req: HttpRequest,
    trees: web::Data<TreeCache>,
    pool: ReadPool,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let trees = trees.current(&mut conn).await?;
    let base = base(&req, &trees.settings.site_url);
    let hant = crate::web::variant::PREFIX;
    let mut body = String::from("User-agent: *\n");
    for path in ["/admin/", "/account", "/login", "/register", "/logout"] {
        body.push_str(&format!("Disallow: {path}\nDisallow: {hant}{path}\n"));
    }
    body.push_str(&format!("\nSitemap: {base}/sitemap.xml\n"));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body))
}
