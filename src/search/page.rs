//! The search page (/search): filters by channel and date, newest first or
//! by relevance, keyset pages for newest first.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Piece, query_words_cut, snippet};
use crate::articles::article_url;
use crate::error::{AppError, FormError};
use crate::ids::{ArticleId, ChannelId, UnitId};
use crate::layout::PublicLayout;

/// Results on one page.
const PAGE_SIZE: i64 = 20;

/// One result as the page lists it.
pub struct Result {
    pub url: String,
    pub title: String,
    pub date: String,
    pub snippet: Vec<Piece>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Newest first: the number of the last story of the previous page.
    #[serde(default)]
    before: String,
    /// `relevance`, or newest first.
    #[serde(default)]
    order: String,
    /// Relevance order: the page (1 to 15).
    #[serde(default)]
    page: String,
    /// A channel (with its sub-channels), by slug.
    #[serde(default)]
    channel: String,
    /// A unit (with the units below it).
    #[serde(default)]
    unit: String,
    /// Published on or after / on or before these days (site time zone).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Relevance ranks at most this many matches, the newest ones: stories
/// with the searched words in the title first, then in the summary (read
/// from the rows themselves, not from the stored text or its vector).
const RANKED: i64 = 300;
/// Up to this many matches are counted exactly; beyond, the count is the
/// planner's estimate.
const COUNTED: i64 = 5000;
/// Archives larger than this are searched by the planner's estimates.
const LARGE_ARCHIVE: i64 = 100_000;

/// The filters of a search, checked.
struct Filters {
    channel: Option<ChannelId>,
    unit: Option<UnitId>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// The conditions every search query shares: $1 the tsquery, $2 channel,
/// $3 unit, $4 from, $5 to.
const MATCHES: &str = "a.status = 'published' and a.search_vector @@ to_tsquery('simple', $1)
       and ($2::uuid is null or a.channel_id in (
            with recursive t as (select id from channels where id = $2
                                 union all select c.id from channels c join t on c.parent_id = t.id)
            select id from t))
       and ($3::uuid is null or a.unit_id in (
            with recursive t as (select id from units where id = $3
                                 union all select u.id from units u join t on u.parent_id = t.id)
            select id from t))
       and ($4::timestamptz is null or a.published_at >= $4)
       and ($5::timestamptz is null or a.published_at < $5)";

/// The arguments $1 to $5 of [`MATCHES`]; a query adds its own after them.
fn matching(tsquery: &str, filters: &Filters) -> sqlx::postgres::PgArguments {
    use sqlx::Arguments;
    let mut arguments = sqlx::postgres::PgArguments::default();
    let added = arguments
        .add(tsquery)
        .and_then(|()| arguments.add(filters.channel))
        .and_then(|()| arguments.add(filters.unit))
        .and_then(|()| arguments.add(filters.from))
        .and_then(|()| arguments.add(filters.to));
    debug_assert!(added.is_ok(), "text, uuids and times always encode");
    arguments
}

/// How many stories match: exact up to `COUNTED`, else estimated.
enum Count {
    Exact(i64),
    About(i64),
}

async fn count(conn: &mut PgConnection, tsquery: &str, filters: &Filters) -> sqlx::Result<Count> {
    // On a large archive, trust the planner's estimate for frequent words
    // rather than counting them; a small one is counted exactly (its
    // statistics may be missing, and counting it is cheap).
    let stories: i64 = sqlx::query_scalar(
        "select greatest(reltuples, 0)::bigint from pg_class where oid = 'articles'::regclass",
    )
    .fetch_one(&mut *conn)
    .await?;
    let large = stories > LARGE_ARCHIVE;
    let mut estimate = 0;
    if large {
        let plan: serde_json::Value = sqlx::query_scalar_with(
            &format!("explain (format json) select 1 from articles a where {MATCHES}"),
            matching(tsquery, filters),
        )
        .fetch_one(&mut *conn)
        .await?;
        estimate = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
        // Frequent words have their own statistics and exact estimates; a
        // word without them gets a default guess near COUNTED whatever its
        // real frequency, so only estimates well above it are trusted.
        if estimate > COUNTED * 4 {
            return Ok(Count::About(estimate));
        }
        // Few matches: the word index finds them all at once.
        sqlx::query!("set local enable_indexscan = off")
            .execute(&mut *conn)
            .await?;
    }
    let exact: i64 = sqlx::query_scalar_with(
        &format!(
            "select count(*) from (select 1 from articles a where {MATCHES} limit {}) m",
            COUNTED + 1
        ),
        matching(tsquery, filters),
    )
    .fetch_one(&mut *conn)
    .await?;
    if large {
        sqlx::query!("set local enable_indexscan = on")
            .execute(&mut *conn)
            .await?;
    }
    Ok(if exact > COUNTED {
        Count::About(estimate.max(exact))
    } else {
        Count::Exact(exact)
    })
}

/// A hit with its key, for putting a ranked page back in order.
#[derive(sqlx::FromRow)]
struct RankedHit {
    id: ArticleId,
    #[sqlx(flatten)]
    hit: Hit,
}

#[derive(sqlx::FromRow)]
struct Hit {
    number: i64,
    title: String,
    body_text: String,
    published_at: DateTime<Utc>,
}

/// A choice in one of the filter lists.
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "public/search.html")]
struct SearchPage {
    layout: PublicLayout,
    query: String,
    searched: bool,
    relevance: bool,
    channel: String,
    unit: String,
    from: String,
    to: String,
    channels: Vec<Choice>,
    units: Vec<Choice>,
    /// 找到 N 条 / 找到约 N 条.
    found: String,
    results: Vec<Result>,
    next_page: Option<String>,
    /// Said when the query was longer than is searched.
    cut: Option<String>,
    error: Option<FormError>,
}

/// Channels (indented by depth) and the top two levels of units, for the
/// filter lists.
async fn choices(conn: &mut PgConnection) -> sqlx::Result<(Vec<Choice>, Vec<Choice>)> {
    let channels: Vec<(String, String, i32)> = sqlx::query_as(
        "with recursive t as (
             select id, slug, name, 0 as depth, array[sort_order] as path from channels
             where parent_id is null and active
             union all
             select c.id, c.slug, c.name, t.depth + 1, t.path || c.sort_order from channels c
             join t on c.parent_id = t.id where c.active
         )
         select slug, name, depth from t order by path",
    )
    .fetch_all(&mut *conn)
    .await?;
    let units: Vec<(Uuid, String, i32)> = sqlx::query_as(
        "select u.id, u.name, case when u.parent_id is null then 0 else 1 end
         from units u left join units p on p.id = u.parent_id
         where u.active and (u.parent_id is null or p.parent_id is null)
         order by u.parent_id nulls first, u.sort_order, u.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let indent = |depth: i32| "　".repeat(depth.max(0) as usize);
    Ok((
        channels
            .into_iter()
            .map(|(slug, name, depth)| Choice {
                value: slug,
                label: format!("{}{name}", indent(depth)),
            })
            .collect(),
        units
            .into_iter()
            .map(|(id, name, depth)| Choice {
                value: id.to_string(),
                label: format!("{}{name}", indent(depth)),
            })
            .collect(),
    ))
}

/// A day typed in a date field, as the start of that day in the site's
/// time zone (`next_day` for the end of a range).
fn day_start(typed: &str, zone: chrono_tz::Tz, next_day: bool) -> Option<Option<DateTime<Utc>>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Some(None);
    }
    let day = chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d").ok()?;
    let day = if next_day { day.succ_opt()? } else { day };
    let start = day.and_hms_opt(0, 0, 0)?;
    Some(Some(
        start
            .and_local_timezone(zone)
            .earliest()?
            .with_timezone(&Utc),
    ))
}

/// GET /search?q=: newest first (keyset pages) or by relevance among the
/// newest matches, with channel, unit and date filters.
pub async fn search(
    pool: web::Data<PgPool>,
    trees: web::Data<crate::site::TreeCache>,
    query: web::Query<SearchQuery>,
) -> std::result::Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let typed = query.q.trim().chars().take(100).collect::<String>();
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let (terms, too_many_words) = query_words_cut(&typed, &site.conversions);
    // A query longer than is searched says so, rather than silently
    // leaving words out.
    let cut = (query.q.trim().chars().count() > 100 || too_many_words).then(|| {
        format!(
            "关键词较长，只按前 100 个字中的前 {} 个词搜索。",
            super::MAX_QUERY_WORDS
        )
    });
    let relevance = query.order == "relevance";
    let layout = PublicLayout::with_trees(&site);
    let (channels, units) = choices(&mut conn).await?;
    let zone = layout.settings.time_zone;
    let mut error = None;
    let channel = match query.channel.trim() {
        "" => None,
        slug => {
            let id: Option<ChannelId> =
                sqlx::query_scalar("select id from channels where slug = $1")
                    .bind(slug)
                    .fetch_optional(&mut *conn)
                    .await?;
            if id.is_none() {
                error = Some("没有这个栏目。".to_owned());
            }
            id
        }
    };
    let unit = match query.unit.trim() {
        "" => None,
        id => {
            let parsed = id.parse::<UnitId>().ok();
            if parsed.is_none() {
                error = Some("没有这个单位。".to_owned());
            }
            parsed
        }
    };
    let (from, to) = match (
        day_start(&query.from, zone, false),
        day_start(&query.to, zone, true),
    ) {
        (Some(Some(from)), Some(Some(to))) if from >= to => {
            error = Some("结束日期早于开始日期，请重新选择。".to_owned());
            (None, None)
        }
        (Some(from), Some(to)) => (from, to),
        _ => {
            error = Some("日期格式应为 年-月-日，例如 2026-01-31。".to_owned());
            (None, None)
        }
    };
    let before = match query.before.trim() {
        "" => None,
        number => {
            let parsed = number.parse::<i64>().ok().filter(|number| *number > 0);
            if parsed.is_none() {
                error = Some("页码无效，请从第一页重新查看。".to_owned());
            }
            parsed
        }
    };
    let last_page = (RANKED / PAGE_SIZE) as u32;
    let page_asked = match query.page.trim() {
        "" => 1,
        page => match page.parse::<u32>() {
            Ok(page) if (1..=last_page).contains(&page) => page,
            _ => {
                error = Some(format!("页码应为 1 至 {last_page} 之间的整数。"));
                1
            }
        },
    };
    let filters = Filters {
        channel,
        unit,
        from,
        to,
    };
    let mut results = Vec::new();
    let mut next_page = None;
    let mut found = String::new();
    if !terms.is_empty() && error.is_none() {
        let tsquery = crate::search::tsquery(&terms, &typed, &site.conversions);
        // The keyset bound of a next page, read before the plan settings.
        let bound: Option<(DateTime<Utc>, i64)> = match before {
            Some(before) => {
                sqlx::query_as("select published_at, number from articles where number = $1")
                    .bind(before)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None,
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query!("set local jit = off")
            .execute(&mut *tx)
            .await?;
        let total = count(&mut tx, &tsquery, &filters).await?;
        let rare = matches!(total, Count::Exact(_));
        found = match total {
            Count::Exact(n) => format!("找到 {n} 条结果"),
            Count::About(n) => format!("找到约 {n} 条结果"),
        };
        // Few matches: fetch them by the word index, not by walking the
        // date index; many: walk the date index, never the whole table.
        let setting = if rare {
            "set local enable_indexscan = off"
        } else {
            "set local enable_seqscan = off"
        };
        sqlx::query(setting).execute(&mut *tx).await?;
        let page = i64::from(page_asked);
        let hits: Vec<Hit> = if relevance {
            let ranked: Vec<(ArticleId,)> = sqlx::query_as_with(
                &format!(
                    "select c.id from (select a.id, a.number, a.title, a.summary, a.published_at
                                   from articles a where {MATCHES}
                                   order by a.published_at desc limit {RANKED}) c
                 order by (select count(*) from unnest($8::text[]) w
                           where position(w in lower(c.title)) > 0) * 3
                        + (select count(*) from unnest($8::text[]) w
                           where position(w in lower(c.summary)) > 0) desc,
                          c.published_at desc, c.number desc
                 offset $6 limit $7"
                ),
                matching(&tsquery, &filters),
            )
            .bind((page - 1) * PAGE_SIZE)
            .bind(PAGE_SIZE + 1)
            .bind(&terms)
            .fetch_all(&mut *tx)
            .await?;
            // The page's stories, by their keys, in the ranked order.
            sqlx::query!("set local enable_indexscan = on")
                .execute(&mut *tx)
                .await?;
            let ids: Vec<ArticleId> = ranked.into_iter().map(|(id,)| id).collect();
            let mut rows: Vec<(ArticleId, Hit)> = sqlx::query_as::<_, RankedHit>(
                "select id, number, title, body_text, published_at from articles where id = any($1)",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|row| (row.id, row.hit))
            .collect();
            rows.sort_by_key(|(id, _)| ids.iter().position(|wanted| wanted == id));
            rows.into_iter().map(|(_, hit)| hit).collect()
        } else {
            sqlx::query_as_with(
                &format!(
                    "select a.number, a.title, a.body_text, a.published_at from articles a
                 where {MATCHES}
                   and ($6::timestamptz is null or (a.published_at, a.number) < ($6, $7))
                 order by a.published_at desc, a.number desc limit $8"
                ),
                matching(&tsquery, &filters),
            )
            .bind(bound.map(|(at, _)| at))
            .bind(bound.map(|(_, number)| number))
            .bind(PAGE_SIZE + 1)
            .fetch_all(&mut *tx)
            .await?
        };
        tx.commit().await?;
        if hits.len() as i64 > PAGE_SIZE {
            let mut params = vec![
                ("q", typed.clone()),
                ("channel", query.channel.trim().to_owned()),
                ("unit", query.unit.trim().to_owned()),
                ("from", query.from.trim().to_owned()),
                ("to", query.to.trim().to_owned()),
            ];
            if relevance {
                params.push(("order", "relevance".into()));
                params.push(("page", (page + 1).to_string()));
            } else {
                params.push(("before", hits[PAGE_SIZE as usize - 1].number.to_string()));
            }
            params.retain(|(_, value)| !value.is_empty());
            next_page = Some(format!(
                "/search?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            ));
        }
        results = hits
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(|hit| Result {
                url: article_url(hit.number),
                date: layout.settings.format_date(hit.published_at),
                snippet: snippet(&hit.body_text, &terms),
                title: hit.title,
            })
            .collect();
    }
    let description = format!("在{}搜索稿件", layout.settings.site_name);
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    crate::web::render(
        status,
        &SearchPage {
            layout: layout.titled(format!("搜索：{typed}"), description),
            searched: !terms.is_empty() && error.is_none(),
            query: typed,
            relevance,
            channel: query.channel.trim().to_owned(),
            unit: query.unit.trim().to_owned(),
            from: query.from.trim().to_owned(),
            to: query.to.trim().to_owned(),
            channels,
            units,
            found,
            results,
            next_page,
            cut,
            error: error.map(FormError::from),
        },
    )
}
