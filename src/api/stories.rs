//! The API's resources: published stories, one story, the channel and
//! unit trees, search.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ApiError, base_url, json};
use crate::articles::{ArticleListItem, article_url, channel_url, db, parts};
use crate::search::page::{SearchQuery, ask, day_start, find};
use crate::site::TreeCache;
use crate::state::AppState;
use crate::web::reads::ReadPool;

/// Stories on one page of a list unless asked otherwise, and at most.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// A channel as a story names it.
#[derive(Serialize, ToSchema)]
pub struct ChannelRef {
    pub slug: String,
    pub name: String,
    /// The channel's page.
    pub url: String,
}

/// A unit as a story names it.
#[derive(Serialize, ToSchema)]
pub struct UnitRef {
    pub id: Uuid,
    pub name: String,
    pub url: String,
}

/// A published story in a list.
#[derive(Serialize, ToSchema)]
pub struct StorySummary {
    /// The story's number, as in its address.
    pub number: i64,
    /// The story's page.
    pub url: String,
    pub title: String,
    pub summary: String,
    pub channel: ChannelRef,
    pub published_at: DateTime<Utc>,
    /// Approved comments.
    pub comment_count: i32,
    /// The cover photo's thumbnail, when the story has one.
    pub cover_thumbnail: Option<String>,
}

/// A page of published stories, newest first.
#[derive(Serialize, ToSchema)]
pub struct StoryList {
    pub items: Vec<StorySummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A person credited with a story (署名).
#[derive(Serialize, ToSchema)]
pub struct Credit {
    pub author_id: Uuid,
    pub name: String,
    /// As the byline says it: 记者, 通讯员, 摄影 …
    pub role: String,
    /// The author's page.
    pub url: String,
}

/// A photo in a story's body.
#[derive(Serialize, ToSchema)]
pub struct Photo {
    pub url: String,
    /// Its text alternative.
    pub alt: String,
    /// Its caption, as text; empty without one.
    pub caption: String,
}

/// A story's cover photo.
#[derive(Serialize, ToSchema)]
pub struct Cover {
    /// 1200 pixels wide at most.
    pub display: String,
    /// 320 pixels wide at most.
    pub thumbnail: String,
}

/// Another story a story's page links to.
#[derive(Serialize, ToSchema)]
pub struct StoryLink {
    pub number: i64,
    pub url: String,
    pub title: String,
}

/// A published story, whole.
#[derive(Serialize, ToSchema)]
pub struct Story {
    pub number: i64,
    pub url: String,
    /// 引题.
    pub kicker: String,
    pub title: String,
    /// 副题.
    pub subtitle: String,
    pub summary: String,
    /// The body as the story's page shows it (sanitised HTML; photos are
    /// site-relative `/media/…` paths).
    pub body_html: String,
    /// 来源.
    pub source: String,
    pub channel: ChannelRef,
    pub unit: UnitRef,
    pub published_at: DateTime<Utc>,
    /// When a correction (更正) was last published, and its note.
    pub corrected_at: Option<DateTime<Utc>>,
    pub correction_note: String,
    /// 责任编辑.
    pub responsible_editors: String,
    pub credits: Vec<Credit>,
    pub tags: Vec<String>,
    /// 相关阅读: published stories on the same subject, as the page lists them.
    pub related: Vec<StoryLink>,
    pub photos: Vec<Photo>,
    pub cover: Option<Cover>,
    pub comment_count: i32,
}

/// A channel and the channels below it.
#[derive(Serialize, ToSchema)]
pub struct ChannelNode {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub url: String,
    #[schema(no_recursion)]
    pub children: Vec<ChannelNode>,
}

/// A unit and the units below it.
#[derive(Serialize, ToSchema)]
pub struct UnitNode {
    pub id: Uuid,
    pub name: String,
    /// The page of the unit's published stories.
    pub url: String,
    #[schema(no_recursion)]
    pub children: Vec<UnitNode>,
}

/// A run of a search result's snippet; `matched` runs are the words
/// searched for.
#[derive(Serialize, ToSchema)]
pub struct SnippetRun {
    pub text: String,
    pub matched: bool,
}

/// A story a search found.
#[derive(Serialize, ToSchema)]
pub struct SearchHit {
    pub number: i64,
    pub url: String,
    pub title: String,
    pub published_at: DateTime<Utc>,
    /// The passage of the body around the words.
    pub snippet: Vec<SnippetRun>,
}

/// A page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    /// The query as searched (at most 100 characters).
    pub query: String,
    /// How many stories match: counted, or estimated (`estimated`) when
    /// counting them all would cost more than the search.
    pub count: i64,
    pub estimated: bool,
    /// As the site says it (找到约 12 万条结果).
    pub said: String,
    pub items: Vec<SearchHit>,
    /// The address of the next page, when there is one.
    pub next: Option<String>,
}

/// The filters and page of a story list.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A channel by slug, with its sub-channels.
    #[serde(default)]
    channel: String,
    /// A tag.
    #[serde(default)]
    tag: String,
    /// A unit by id, with the units below it.
    #[serde(default)]
    unit: String,
    /// A credited author by id.
    #[serde(default)]
    author: String,
    /// A special topic (专题) by slug.
    #[serde(default)]
    topic: String,
    /// Published on or after this day (YYYY-MM-DD, the site's time zone).
    #[serde(default)]
    from: String,
    /// Published on or before this day.
    #[serde(default)]
    to: String,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: String,
    /// Stories on the page, 1 to 100 (20 unless given).
    #[serde(default)]
    limit: String,
}

fn channel_ref(slug: &str, name: &str, base: &str) -> ChannelRef {
    ChannelRef {
        slug: slug.to_owned(),
        name: name.to_owned(),
        url: format!("{base}{}", channel_url(slug)),
    }
}

fn summary(item: ArticleListItem, base: &str) -> StorySummary {
    StorySummary {
        url: format!("{base}{}", article_url(item.number)),
        cover_thumbnail: item.cover_thumb().map(|path| format!("{base}{path}")),
        channel: channel_ref(&item.channel_slug, &item.channel_name, base),
        number: item.number,
        title: item.title,
        summary: item.summary,
        published_at: item.published_at,
        comment_count: item.comment_count,
    }
}

/// The cursor of the page after the story numbered `number`: opaque to
/// clients, which must not build it.
fn cursor_after(number: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("n{number}"))
}

fn read_cursor(cursor: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix('n')?
        .parse()
        .ok()
        .filter(|number| *number > 0)
}

fn uuid_param(value: &str, what: &str) -> Result<Option<Uuid>, ApiError> {
    match value.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{what}应为 UUID。"))),
    }
}

/// Published stories, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/stories",
    tag = "stories",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of published stories", body = StoryList),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 400, description = "A filter or the cursor cannot be read", body = super::ErrorBody),
        (status = 429, description = "Too many requests from this client", body = super::ErrorBody),
    )
)]
pub async fn list(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let zone = site.settings.time_zone;
    let mut listing = db::Listing::default();
    if !query.channel.trim().is_empty() {
        let channel = site
            .channels
            .iter()
            .find(|c| c.slug == query.channel.trim())
            .ok_or_else(|| ApiError::bad_request("没有这个栏目。"))?;
        listing.channel = Some(channel.id);
    }
    if let Some(unit) = uuid_param(&query.unit, "unit ")? {
        let unit = site
            .unit(unit.into())
            .ok_or_else(|| ApiError::bad_request("没有这个单位。"))?;
        listing.unit = Some(unit.id);
    }
    listing.author = uuid_param(&query.author, "author ")?;
    listing.tag = Some(query.tag.trim().to_owned()).filter(|tag| !tag.is_empty());
    if !query.topic.trim().is_empty() {
        let topic = crate::topics::by_slug(&mut conn, query.topic.trim())
            .await?
            .filter(|topic| topic.active)
            .ok_or_else(|| ApiError::bad_request("没有这个专题。"))?;
        listing.topic = Some(topic.id);
    }
    let day = |typed: &str, next_day| {
        day_start(typed, zone, next_day)
            .ok_or_else(|| ApiError::bad_request("日期格式应为 年-月-日，例如 2026-01-31。"))
    };
    listing.from = day(&query.from, false)?;
    listing.to = day(&query.to, true)?;
    if let (Some(from), Some(to)) = (listing.from, listing.to)
        && from >= to
    {
        return Err(ApiError::bad_request("结束日期早于开始日期。"));
    }
    let before = match query.cursor.trim() {
        "" => None,
        cursor => Some(
            read_cursor(cursor)
                .ok_or_else(|| ApiError::bad_request("游标无效，请从第一页重新读取。"))?,
        ),
    };
    let limit = match query.limit.trim() {
        "" => DEFAULT_LIMIT,
        limit => limit
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit 应为 1 至 {MAX_LIMIT} 之间的整数。"))
            })?,
    };
    let mut items = db::published(&mut conn, &listing, before, limit + 1).await?;
    let next_cursor = (items.len() as i64 > limit).then(|| {
        items.truncate(limit as usize);
        cursor_after(items[items.len() - 1].number)
    });
    let base = base_url(&req, &site.settings);
    let items = items.into_iter().map(|item| summary(item, &base)).collect();
    json(&req, &StoryList { items, next_cursor })
}

/// One published story, with its body, credits, tags and photos.
#[utoipa::path(
    get,
    path = "/api/v1/stories/{number}",
    tag = "stories",
    params(("number" = i64, Path, description = "The story's number, as in its address")),
    responses(
        (status = 200, description = "The story", body = Story),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 404, description = "No published story has this number", body = super::ErrorBody),
        (status = 429, description = "Too many requests from this client", body = super::ErrorBody),
    )
)]
pub async fn one(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let missing = || ApiError::not_found("没有这篇稿件。");
    let number: i64 = number.parse().map_err(|_| missing())?;
    let mut conn = pool.acquire().await?;
    let parts::Shown {
        article,
        structure_version,
        parts,
        body,
    } = parts::shown(&mut conn, pool.primary(), number, state.secret.as_bytes())
        .await?
        .ok_or_else(missing)?;
    let site = trees.at(&mut conn, structure_version).await?;
    let base = base_url(&req, &site.settings);
    let channel = site
        .channel(article.channel_id)
        .map(|c| channel_ref(&c.slug, &c.name, &base))
        .ok_or_else(missing)?;
    let unit = site
        .unit(article.unit_id)
        .map(|u| UnitRef {
            id: u.id.into(),
            name: u.name.clone(),
            url: format!("{base}/units/{}", u.id),
        })
        .ok_or_else(missing)?;
    let absolute = |path: String| {
        if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            path
        }
    };
    let cover = match (
        article.cover_id,
        article.cover_derived_ext.as_deref(),
        article.cover_original_ext.as_deref(),
    ) {
        (Some(id), Some(derived), Some(original)) => {
            let size = |size| absolute(crate::media::url(id, size, derived, original));
            Some(Cover {
                display: size(crate::media::Size::Display),
                thumbnail: size(crate::media::Size::Thumb),
            })
        }
        _ => None,
    };
    let story = Story {
        url: format!("{base}{}", article_url(article.number)),
        number: article.number,
        kicker: article.kicker,
        title: article.title,
        subtitle: article.subtitle,
        summary: article.summary,
        photos: body
            .photos()
            .into_iter()
            .map(|photo| Photo {
                url: absolute(photo.src),
                alt: photo.alt,
                caption: photo.caption,
            })
            .collect(),
        body_html: body.as_str().to_owned(),
        source: article.source,
        channel,
        unit,
        published_at: article.published_at,
        corrected_at: article.corrected_at,
        correction_note: article.correction_note,
        responsible_editors: article.responsible_editors,
        credits: parts
            .credits
            .into_iter()
            .map(|(author_id, role, name)| Credit {
                url: format!("{base}/authors/{author_id}"),
                author_id,
                name,
                role,
            })
            .collect(),
        tags: parts.tags,
        related: parts
            .related
            .into_iter()
            .map(|link| StoryLink {
                url: format!("{base}{}", article_url(link.number)),
                number: link.number,
                title: link.title,
            })
            .collect(),
        cover,
        comment_count: article.comment_count,
    };
    json(&req, &story)
}

/// Builds the nested tree of the nodes shown to readers (active ones
/// under active parents) from nodes in tree order with their depths.
fn nest<N, T>(
    nodes: &[N],
    depth: impl Fn(&N) -> i32,
    active: impl Fn(&N) -> bool,
    make: impl Fn(&N) -> T,
    children: impl Fn(&mut T) -> &mut Vec<T>,
) -> Vec<T> {
    // The path from the root to the last node placed, with its depth.
    let mut path: Vec<(i32, T)> = Vec::new();
    let mut roots = Vec::new();
    let mut hidden_below: Option<i32> = None;
    let close = |path: &mut Vec<(i32, T)>, roots: &mut Vec<T>, down_to: i32| {
        while path.last().is_some_and(|(d, _)| *d >= down_to) {
            let (_, node) = path.pop().expect("checked");
            match path.last_mut() {
                Some((_, parent)) => children(parent).push(node),
                None => roots.push(node),
            }
        }
    };
    for node in nodes {
        let d = depth(node);
        if hidden_below.is_some_and(|h| d > h) {
            continue;
        }
        hidden_below = None;
        if !active(node) {
            hidden_below = Some(d);
            continue;
        }
        close(&mut path, &mut roots, d);
        path.push((d, make(node)));
    }
    close(&mut path, &mut roots, i32::MIN);
    roots
}

/// The channel tree as readers see it.
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    tag = "structure",
    responses(
        (status = 200, description = "The active channels, nested", body = Vec<ChannelNode>),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
    )
)]
pub async fn channels(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let base = base_url(&req, &site.settings);
    let tree = nest(
        &site.channels,
        |c| c.depth,
        |c| c.active,
        |c| ChannelNode {
            id: c.id.into(),
            slug: c.slug.clone(),
            name: c.name.clone(),
            url: format!("{base}{}", channel_url(&c.slug)),
            children: Vec::new(),
        },
        |node| &mut node.children,
    );
    json(&req, &tree)
}

/// The unit tree as readers see it.
#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "structure",
    responses(
        (status = 200, description = "The active units, nested", body = Vec<UnitNode>),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
    )
)]
pub async fn units(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let base = base_url(&req, &site.settings);
    let tree = nest(
        &site.units,
        |u| u.depth,
        |u| u.active,
        |u| UnitNode {
            id: u.id.into(),
            name: u.name.clone(),
            url: format!("{base}/units/{}", u.id),
            children: Vec::new(),
        },
        |node| &mut node.children,
    );
    json(&req, &tree)
}

/// Searches the published stories, as the site's search page does.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of results", body = SearchResults),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 400, description = "No words to search for, or a filter or page that cannot be read", body = super::ErrorBody),
        (status = 429, description = "Too many requests from this client", body = super::ErrorBody),
    )
)]
pub async fn search(
    req: HttpRequest,
    pool: ReadPool,
    trees: web::Data<TreeCache>,
    engine: web::Data<crate::search::engine::Shared>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let (asked, error) = ask(&query, &site);
    if let Some(error) = error {
        return Err(ApiError::bad_request(error));
    }
    if !asked.searched() {
        return Err(ApiError::bad_request("请输入要搜索的关键词（参数 q）。"));
    }
    let found = find(&mut conn, &site, engine.get_ref(), &asked).await?;
    let base = base_url(&req, &site.settings);
    let (count, estimated) = match found.count {
        crate::search::Count::Exact(n) => (n, false),
        crate::search::Count::About(n) => (n, true),
    };
    let results = SearchResults {
        said: found.count.said(),
        next: asked
            .next_query(&found)
            .map(|query| format!("{base}{}/search?{query}", super::BASE)),
        items: found
            .page()
            .iter()
            .map(|hit| SearchHit {
                number: hit.number,
                url: format!("{base}{}", article_url(hit.number)),
                title: hit.title.clone(),
                published_at: hit.published_at,
                snippet: asked
                    .snippet(hit)
                    .into_iter()
                    .map(|piece| SnippetRun {
                        text: piece.text,
                        matched: piece.hit,
                    })
                    .collect(),
            })
            .collect(),
        query: asked.typed,
        count,
        estimated,
    };
    json(&req, &results)
}
