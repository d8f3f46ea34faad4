//! The reader's pages: the home page, channel pages and article pages.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgPool;

use super::{ArticleListItem, PublishedArticle, SanitizedHtml, db};
use crate::channels::{self, Crumb, NavChannel};
use crate::error::AppError;
use crate::settings::SiteSettings;
use crate::web::layout::PublicLayout;
use crate::web::page;

const HOME_STORIES: i64 = 20;
const CHANNEL_PAGE_SIZE: i64 = 20;

/// A story in a list, ready to show.
pub struct StoryLink {
    pub url: String,
    pub title: String,
    pub summary: String,
    pub channel_name: String,
    pub channel_url: String,
    pub date: String,
    pub cover: Option<String>,
}

impl StoryLink {
    fn new(item: ArticleListItem, settings: &SiteSettings) -> Self {
        StoryLink {
            cover: item.cover_thumb(),
            url: article_url(item.number),
            date: settings.format_date(item.published_at),
            channel_url: channel_url(&item.channel_slug),
            title: item.title,
            summary: item.summary,
            channel_name: item.channel_name,
        }
    }
}

pub fn article_url(number: i64) -> String {
    format!("/articles/{number}")
}

pub fn channel_url(slug: &str) -> String {
    format!("/channels/{slug}")
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage {
    layout: PublicLayout,
    stories: Vec<StoryLink>,
}

pub async fn home(pool: web::Data<PgPool>) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn).await?;
    let items = db::latest_published(&mut conn, HOME_STORIES).await?;
    let stories = items
        .into_iter()
        .map(|item| StoryLink::new(item, &layout.settings))
        .collect();
    let description = format!("{}：新闻、企业风采与基层动态", layout.settings.site_name);
    page(&HomePage {
        layout: layout.titled("首页", description),
        stories,
    })
}

#[derive(Deserialize)]
pub struct ChannelQuery {
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "public/channel.html")]
struct ChannelPage {
    layout: PublicLayout,
    name: String,
    breadcrumb: Vec<Crumb>,
    children: Vec<NavChannel>,
    stories: Vec<StoryLink>,
    next_page: Option<String>,
}

pub async fn channel(
    pool: web::Data<PgPool>,
    slug: web::Path<String>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let channel = channels::db::by_slug(&mut conn, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let layout = PublicLayout::load(&mut conn).await?;
    let breadcrumb = channels::db::breadcrumb(&mut conn, channel.id).await?;
    let children = channels::db::children(&mut conn, channel.id).await?;
    let items =
        db::published_in_channel(&mut conn, channel.id, query.before, CHANNEL_PAGE_SIZE + 1)
            .await?;
    let next_page = (items.len() as i64 > CHANNEL_PAGE_SIZE).then(|| {
        format!(
            "{}?before={}",
            channel_url(&channel.slug),
            items[CHANNEL_PAGE_SIZE as usize - 1].number
        )
    });
    let stories = items
        .into_iter()
        .take(CHANNEL_PAGE_SIZE as usize)
        .map(|item| StoryLink::new(item, &layout.settings))
        .collect();
    let top = breadcrumb.first().map(|crumb| crumb.slug.clone());
    let description = format!("{} - {}", channel.name, layout.settings.site_name);
    page(&ChannelPage {
        layout: layout
            .titled(channel.name.clone(), description)
            .in_channel(top),
        name: channel.name,
        breadcrumb,
        children,
        stories,
        next_page,
    })
}

#[derive(Template)]
#[template(path = "public/article.html")]
struct ArticlePage {
    layout: PublicLayout,
    article: PublishedArticle,
    /// 作者: the credited authors other than correspondents, with designations.
    byline: String,
    /// 通讯员: the credited correspondents.
    correspondents: String,
    /// The date of the last public correction (更正), when there is one.
    corrected: Option<String>,
    views: i64,
    tags: Vec<String>,
    earlier: Option<db::TitleLink>,
    later: Option<db::TitleLink>,
    related: Vec<db::TitleLink>,
    recommended: Vec<db::TitleLink>,
    /// The text read aloud by 听新闻.
    spoken: String,
    body: SanitizedHtml,
    breadcrumb: Vec<Crumb>,
    published: String,
}

pub async fn article(
    pool: web::Data<PgPool>,
    number: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let mut conn = pool.acquire().await?;
    let article = db::published_by_number(&mut conn, number)
        .await?
        .ok_or(AppError::NotFound)?;
    let layout = PublicLayout::load(&mut conn).await?;
    let breadcrumb = channels::db::breadcrumb(&mut conn, article.channel_id).await?;
    let top = breadcrumb.first().map(|crumb| crumb.slug.clone());
    let published = layout.settings.format_time(article.published_at);
    let body = article.body();
    let credits = super::store::credits(&mut conn, article.id).await?;
    let (correspondents, writers): (Vec<_>, Vec<_>) = credits
        .into_iter()
        .partition(|credit| credit.role == "通讯员");
    let correspondents = correspondents
        .into_iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(" ");
    let views = db::count_view(&mut conn, article.id).await?;
    let tags = db::tags_of(&mut conn, article.id).await?;
    let (earlier, later) = db::neighbours(
        &mut conn,
        article.channel_id,
        article.published_at,
        article.number,
    )
    .await?;
    let related = db::related(&mut conn, article.id, 6).await?;
    let recommended = db::recommended(&mut conn, article.id, 6).await?;
    let spoken = format!("{}。{}", article.title, body.plain_text());
    page(&ArticlePage {
        views,
        tags,
        earlier,
        later,
        related,
        recommended,
        spoken,
        corrected: article
            .corrected_at
            .filter(|_| !article.correction_note.is_empty())
            .map(|at| layout.settings.format_date(at)),
        byline: super::form::byline(&writers),
        correspondents,
        layout: layout
            .titled(article.title.clone(), article.summary.clone())
            .in_channel(top),
        body,
        breadcrumb,
        published,
        article,
    })
}
