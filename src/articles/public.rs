//! The reader's pages: the home page, channel pages and article pages.

use crate::web::reads::ReadPool;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{ArticleListItem, PublishedArticle, SanitizedHtml, db};
use crate::channels::{Crumb, NavChannel};
use crate::comments;
use crate::error::AppError;
use crate::ids::{CommentId, UnitId};
use crate::layout::PublicLayout;
use crate::settings::SiteSettings;
use crate::site::TreeCache;
use crate::state::AppState;
use crate::web::{page, render};

const PAGE_SIZE: i64 = 20;

use super::parts::{self, RECOMMENDED};
use super::{article_url, channel_url};

/// A story in a list, ready to show.
pub struct StoryLink {
    pub url: String,
    pub title: String,
    pub summary: String,
    pub channel_name: String,
    pub channel_url: String,
    pub date: String,
    pub cover: Option<String>,
    pub comments: i32,
}

impl StoryLink {
    pub fn new(item: ArticleListItem, settings: &SiteSettings) -> Self {
        StoryLink {
            cover: item.cover_thumb(),
            comments: item.comment_count,
            url: article_url(item.number),
            date: settings.format_date(item.published_at),
            channel_url: channel_url(&item.channel_slug),
            title: item.title,
            summary: item.summary,
            channel_name: item.channel_name,
        }
    }
}

#[derive(Deserialize)]
pub struct ChannelQuery {
    before: Option<i64>,
}

/// One page of a listing and the link to the next, if there is more.
async fn one_page(
    conn: &mut sqlx::PgConnection,
    listing: &db::Listing,
    before: Option<i64>,
    base_url: &str,
    settings: &SiteSettings,
) -> sqlx::Result<(Vec<StoryLink>, Option<String>)> {
    let items = db::published(conn, listing, before, PAGE_SIZE + 1).await?;
    let next_page = (items.len() as i64 > PAGE_SIZE)
        .then(|| format!("{base_url}?before={}", items[PAGE_SIZE as usize - 1].number));
    let stories = items
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|item| StoryLink::new(item, settings))
        .collect();
    Ok((stories, next_page))
}

#[derive(Template)]
#[template(path = "public/listing.html")]
struct ListingPage {
    layout: PublicLayout,
    kind: &'static str,
    name: String,
    stories: Vec<StoryLink>,
    next_page: Option<String>,
}

async fn listing_page(
    pool: &PgPool,
    trees: &TreeCache,
    kind: &'static str,
    name: String,
    listing: db::Listing,
    before: Option<i64>,
    base_url: &str,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn, trees).await?;
    let (stories, next_page) =
        one_page(&mut conn, &listing, before, base_url, &layout.settings).await?;
    let description = format!("{kind}：{name} - {}", layout.settings.site_name);
    page(&ListingPage {
        layout: layout.titled(format!("{kind}：{name}"), description),
        kind,
        name,
        stories,
        next_page,
    })
}

/// /tags/{name}: published stories with a tag.
pub async fn tag(
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    name: web::Path<String>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let exists: bool = sqlx::query_scalar("select exists (select 1 from tags where name = $1)")
        .bind(&name)
        .fetch_one(&*pool)
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    let listing = db::Listing {
        tag: Some(name.clone()),
        ..db::Listing::default()
    };
    let base = tag_url(&name);
    listing_page(&pool, &trees, "标签", name, listing, query.before, &base).await
}

/// /units/{id}: published stories of a unit and the units below it.
pub async fn unit(
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    id: web::Path<UnitId>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, AppError> {
    let name: String = sqlx::query_scalar("select name from units where id = $1")
        .bind(*id)
        .fetch_optional(&*pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let listing = db::Listing {
        unit: Some(*id),
        ..db::Listing::default()
    };
    listing_page(
        &pool,
        &trees,
        "单位",
        name,
        listing,
        query.before,
        &format!("/units/{id}"),
    )
    .await
}

/// /authors/{id}: published stories crediting an author.
pub async fn author(
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    id: web::Path<Uuid>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, AppError> {
    let name: String = sqlx::query_scalar("select name from authors where id = $1")
        .bind(*id)
        .fetch_optional(&*pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let listing = db::Listing {
        author: Some(*id),
        ..db::Listing::default()
    };
    listing_page(
        &pool,
        &trees,
        "作者",
        name,
        listing,
        query.before,
        &format!("/authors/{id}"),
    )
    .await
}

/// The URL of a tag's page (the name percent-encoded).
pub fn tag_url(name: &str) -> String {
    let encoded = serde_urlencoded::to_string([("", name)]).unwrap_or_default();
    format!(
        "/tags/{}",
        encoded.trim_start_matches('=').replace('+', "%20")
    )
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
    pool: ReadPool,
    tree_cache: web::Data<TreeCache>,
    slug: web::Path<String>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let trees = tree_cache.current(&mut conn).await?;
    let channel = trees
        .channels
        .iter()
        .find(|channel| channel.active && channel.slug == *slug)
        .ok_or(AppError::NotFound)?;
    let layout = PublicLayout::with_trees(&trees);
    let breadcrumb = trees.breadcrumb(channel.id);
    let children = trees.children(channel.id);
    let listing = db::Listing {
        channel: Some(channel.id),
        ..db::Listing::default()
    };
    let (stories, next_page) = one_page(
        &mut conn,
        &listing,
        query.before,
        &channel_url(&channel.slug),
        &layout.settings,
    )
    .await?;
    let top = breadcrumb.first().map(|crumb| crumb.slug.clone());
    let description = format!("{} - {}", channel.name, layout.settings.site_name);
    page(&ChannelPage {
        layout: layout
            .titled(channel.name.clone(), description)
            .in_channel(top),
        name: channel.name.clone(),
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
    /// The name of the story's unit, from the trees.
    unit_name: String,
    /// 作者: the credited authors other than correspondents, with designations.
    byline: Vec<BylinePart>,
    /// 通讯员: the credited correspondents.
    correspondents: Vec<BylinePart>,
    /// The date of the last public correction (更正), when there is one.
    corrected: Option<String>,
    /// The count when the page was rendered; the page cache fills in the
    /// current one.
    views: i64,
    /// Each tag with its page.
    tags: Vec<(String, String)>,
    earlier: Option<parts::TitleLink>,
    later: Option<parts::TitleLink>,
    /// 相关阅读: each link with its date.
    related: Vec<(parts::RelatedLink, String)>,
    recommended: Vec<parts::TitleLink>,
    body: SanitizedHtml,
    breadcrumb: Vec<Crumb>,
    published: String,
    section: comments::Section,
    draft: comments::Draft,
    /// The name of the comment the form replies to.
    replying_to: Option<String>,
    comment_notice: Option<&'static str>,
    allow_anonymous: bool,
}

impl ArticlePage {
    /// The story's own address on this site.
    fn path(&self) -> String {
        article_url(self.article.number)
    }

    /// `path` on the site's public address (设置 · 站点地址), or as it is
    /// when none is set.
    fn absolute(&self, path: impl AsRef<str>) -> String {
        format!(
            "{}{}",
            self.layout.settings.site_url.trim().trim_end_matches('/'),
            path.as_ref()
        )
    }
}

/// The article page's query: a page of comments, the notice after posting,
/// the comment being replied to.
#[derive(Debug, Default, Deserialize)]
pub struct ArticleQuery {
    pub comments_before: Option<CommentId>,
    pub comment: Option<String>,
    pub reply: Option<CommentId>,
}

pub async fn article(
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    number: web::Path<String>,
    query: web::Query<ArticleQuery>,
) -> Result<HttpResponse, AppError> {
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let sources = PageSources {
        pool: &pool,
        primary: pool.primary(),
        trees: &trees,
        key: state.secret.as_bytes(),
    };
    render_article(sources, number, &query, None, StatusCode::OK).await
}

/// What an article page is built from besides the request.
#[derive(Clone, Copy)]
pub struct PageSources<'a> {
    pub pool: &'a PgPool,
    /// The primary, when `pool` is a replica's: page parts are computed
    /// and kept there (a replica cannot keep them).
    pub primary: Option<&'a PgPool>,
    pub trees: &'a TreeCache,
    /// The site's key, which seals bodies that need no sanitising.
    pub key: &'a [u8],
}

/// Renders a published story's page; with `draft`, the comment form comes
/// back filled in with the refusal's reason.
pub async fn render_article(
    sources: PageSources<'_>,
    number: i64,
    query: &ArticleQuery,
    draft: Option<comments::Draft>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut conn = sources.pool.acquire().await?;
    let parts::Shown {
        article,
        structure_version,
        parts,
        body,
    } = parts::shown(&mut conn, sources.primary, number, sources.key)
        .await?
        .ok_or(AppError::NotFound)?;
    let trees = sources.trees.at(&mut conn, structure_version).await?;
    let layout = PublicLayout::with_trees(&trees);
    let breadcrumb = trees.breadcrumb(article.channel_id);
    let top = breadcrumb.first().map(|crumb| crumb.slug.clone());
    let unit_name = trees
        .unit(article.unit_id)
        .map(|unit| unit.name.clone())
        .unwrap_or_default();
    let parts::PageParts {
        credits,
        tags,
        earlier,
        later,
        related,
    } = parts;
    let (correspondents, writers): (Vec<_>, Vec<_>) = credits
        .into_iter()
        .partition(|(_, role, _)| role == "通讯员");
    let correspondents = byline_parts(correspondents, false);
    let tags = tags
        .into_iter()
        .map(|tag| {
            let url = tag_url(&tag);
            (tag, url)
        })
        .collect();
    let recommended = trees
        .recommended
        .iter()
        .filter(|link| link.number != article.number)
        .take(RECOMMENDED)
        .cloned()
        .collect();
    let published = layout.settings.format_minute(article.published_at);
    let views = article.view_count;
    let section = comments::section(
        &mut conn,
        article.id,
        article.number,
        i64::from(article.comment_count),
        query.comments_before,
        &layout.settings,
    )
    .await?;
    drop(conn);
    let mut draft = draft.unwrap_or_default();
    if draft.parent_id.is_empty()
        && let Some(reply) = query.reply
    {
        draft.parent_id = reply.to_string();
    }
    let replying_to = section
        .comments
        .iter()
        .find(|c| c.id.to_string() == draft.parent_id)
        .map(|c| c.name.clone());
    render(
        status,
        &ArticlePage {
            views,
            unit_name,
            tags,
            earlier,
            later,
            related: related
                .into_iter()
                .map(|link| {
                    let date = layout.settings.format_date(link.published_at);
                    (link, date)
                })
                .collect(),
            recommended,
            corrected: article
                .corrected_at
                .filter(|_| !article.correction_note.is_empty())
                .map(|at| layout.settings.format_date(at)),
            byline: byline_parts(writers, true),
            correspondents,
            comment_notice: comments::notice(query.comment.as_deref()),
            allow_anonymous: layout.settings.anonymous_comments,
            layout: layout
                .titled(article.title.clone(), article.summary.clone())
                .in_channel(top),
            body,
            breadcrumb,
            published,
            article,
            section,
            draft,
            replying_to,
        },
    )
}

/// A piece of a public byline: a designation, or a name linking to the
/// author's page.
pub struct BylinePart {
    pub text: String,
    pub href: Option<String>,
}

/// Names with their author pages; with `designations`, each change of
/// designation is written once before its names (本报记者 张三 李四 摄影 王五).
fn byline_parts(credits: Vec<(Uuid, String, String)>, designations: bool) -> Vec<BylinePart> {
    let mut parts = Vec::new();
    let mut last_role = String::new();
    for (id, role, name) in credits {
        if designations && role != last_role && role != "作者" {
            parts.push(BylinePart {
                text: role.clone(),
                href: None,
            });
        }
        last_role = role;
        parts.push(BylinePart {
            text: name,
            href: Some(format!("/authors/{id}")),
        });
    }
    parts
}

/// GET /articles/{number}/qr.svg: the story's address as a QR code, for
/// 分享到微信 (a WeChat reader shares a page by scanning it). The address
/// is the site's public one (设置 · 站点地址); without it, the one the
/// request came to, which no shared cache may keep.
pub async fn share_code(
    req: actix_web::HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    number: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let mut conn = pool.acquire().await?;
    let published: bool = sqlx::query_scalar(
        "select exists (select 1 from articles where number = $1 and status = 'published')",
    )
    .bind(number)
    .fetch_one(&mut *conn)
    .await?;
    if !published {
        return Err(AppError::NotFound);
    }
    let site = trees.current(&mut conn).await?;
    drop(conn);
    let base = site
        .settings
        .site_url
        .trim()
        .trim_end_matches('/')
        .to_owned();
    let (base, cache) = if base.is_empty() {
        let info = req.connection_info();
        (
            format!("{}://{}", info.scheme(), info.host()),
            "private, max-age=3600",
        )
    } else {
        (base, "public, max-age=86400")
    };
    let traditional = actix_web::HttpMessage::extensions(&req)
        .get::<crate::web::variant::Variant>()
        .is_some_and(|variant| *variant == crate::web::variant::Variant::Traditional);
    let prefix = if traditional {
        crate::web::variant::PREFIX
    } else {
        ""
    };
    let address = format!("{base}{prefix}{}", article_url(number));
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", cache))
        .body(share_svg(&address)?))
}

/// The QR code of `address`, as SVG.
pub fn share_svg(address: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(address.as_bytes())
        .map_err(|error| AppError::Internal(anyhow::anyhow!("QR code: {error}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build())
}

#[derive(Template)]
#[template(path = "public/legal.html")]
struct LegalPage {
    layout: PublicLayout,
    privacy: bool,
}

/// GET /agreement and /privacy: the terms a reader accepts at
/// registration, and how the site handles their personal information.
pub async fn legal(
    req: actix_web::HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
) -> Result<HttpResponse, AppError> {
    let privacy = crate::web::variant::plain_path(req.path()) == "/privacy";
    let mut conn = pool.acquire().await?;
    let title = if privacy {
        "隐私政策"
    } else {
        "用户协议"
    };
    let layout = PublicLayout::load(&mut conn, &trees)
        .await?
        .titled(title, format!("读者{title}"));
    page(&LegalPage { layout, privacy })
}
