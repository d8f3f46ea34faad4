//! The search page (/search): filters by channel and date, newest first or
//! by relevance, keyset pages for newest first.

use crate::web::reads::ReadPool;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use super::{Count, Piece, query_words_cut, snippet};
use crate::articles::article_url;
use crate::error::{AppError, FormError};
use crate::ids::{ArticleId, ChannelId, UnitId};
use crate::layout::PublicLayout;
use crate::tree::subtree_range;

/// Results on one page.
const PAGE_SIZE: i64 = 20;

/// One result as the page lists it.
pub struct Result {
    pub url: String,
    pub title: String,
    pub date: String,
    pub snippet: Vec<Piece>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The words to search for.
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
    /// Published on or after this day (YYYY-MM-DD, the site's time zone).
    #[serde(default)]
    from: String,
    /// Published on or before this day.
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

/// The filters of a search, checked: a channel or a unit stands for its
/// whole subtree, read from the trees in memory.
#[derive(Default)]
struct Filters {
    channel: Option<Vec<ChannelId>>,
    unit: Option<Vec<UnitId>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// The conditions every search query of `search_index a` (migration 0044:
/// published stories only) shares: $1 the tsquery, $2 the
/// channels, $3 the units, $4 from, $5 to. Planned for each search's own
/// values (`force_custom_plan`), the filters left out fold away.
const MATCHES: &str = "a.search_vector @@ to_tsquery('simple', $1)
       and ($2::uuid[] is null or a.channel_id = any($2))
       and ($3::uuid[] is null or a.unit_id = any($3))
       and ($4::timestamptz is null or a.published_at >= $4)
       and ($5::timestamptz is null or a.published_at < $5)";

/// The arguments $1 to $5 of [`MATCHES`]; a query adds its own after them.
fn matching(tsquery: &str, filters: &Filters) -> sqlx::postgres::PgArguments {
    use sqlx::Arguments;
    let mut arguments = sqlx::postgres::PgArguments::default();
    let added = arguments
        .add(tsquery)
        .and_then(|()| arguments.add(filters.channel.as_deref()))
        .and_then(|()| arguments.add(filters.unit.as_deref()))
        .and_then(|()| arguments.add(filters.from))
        .and_then(|()| arguments.add(filters.to));
    debug_assert!(added.is_ok(), "text, uuids and times always encode");
    arguments
}

/// What is known of a search before its stories are read: how many match
/// (`count`), and the span of the archive it looks through.
struct Survey {
    /// Counted on a small archive; on a large one the count comes from the
    /// stories read (`Count` of the search's window).
    count: Option<Count>,
    /// The matches expected: the count, or the planner's estimate.
    expected: i64,
    /// The stories of the archive (the planner's figure).
    stories: i64,
    /// The oldest and newest publication times of the archive.
    oldest: Option<DateTime<Utc>>,
    newest: Option<DateTime<Utc>>,
}

async fn survey(conn: &mut PgConnection, tsquery: &str, filters: &Filters) -> sqlx::Result<Survey> {
    // On a large archive, trust the planner's estimate for frequent words
    // rather than counting them; a small one is counted exactly (its
    // statistics may be missing, and counting it is cheap). The span's
    // ends are the ends of the date index.
    let (stories, oldest, newest): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "select (select greatest(reltuples, 0)::bigint from pg_class
                     where oid = 'search_index'::regclass),
                    (select min(published_at) from search_index),
                    (select max(published_at) from search_index)",
        )
        .fetch_one(&mut *conn)
        .await?;
    // From here on, matches are found by the word index (with the date
    // index for a window): never by reading the table, nor by walking the
    // date index story by story. (The span's ends above are read from the
    // ends of the date index.)
    sqlx::raw_sql("set local enable_seqscan = off; set local enable_indexscan = off")
        .execute(&mut *conn)
        .await?;
    let large = stories > LARGE_ARCHIVE;
    let mut estimate = 0;
    if large {
        let plan: serde_json::Value = sqlx::query_scalar_with(
            &format!("explain (format json) select 1 from search_index a where {MATCHES}"),
            matching(tsquery, filters),
        )
        .fetch_one(&mut *conn)
        .await?;
        estimate = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
        // Not counted: counting reads a story per match. The search counts
        // what it reads, and the estimate only sizes its window.
        return Ok(Survey {
            count: None,
            expected: estimate,
            stories,
            oldest,
            newest,
        });
    }
    // Counted from the word index alone: the bitmap of its matches, no
    // story read where the visibility map vouches for the page.
    let exact: i64 = sqlx::query_scalar_with(
        &format!(
            "select count(*) from (select 1 from search_index a where {MATCHES} limit {}) m",
            COUNTED + 1
        ),
        matching(tsquery, filters),
    )
    .fetch_one(&mut *conn)
    .await?;
    let count = if exact > COUNTED {
        Count::About(estimate.max(exact))
    } else {
        Count::Exact(exact)
    };
    Ok(Survey {
        expected: estimate.max(exact),
        count: Some(count),
        stories,
        oldest,
        newest,
    })
}

/// Searches expected to match this many stories or fewer read them all:
/// the count is then exact, and reading them is cheap.
const UNWINDOWED: i64 = 1000;

/// How many matches the search's range (`filters`' dates within the
/// archive) holds, from the `matched` of them in its window [`since`,
/// `upper`): to two significant figures, as the estimate it is.
fn extrapolated(
    survey: &Survey,
    filters: &Filters,
    matched: i64,
    since: DateTime<Utc>,
    upper: Option<DateTime<Utc>>,
) -> i64 {
    let (Some(oldest), Some(newest)) = (survey.oldest, survey.newest) else {
        return matched;
    };
    let newest = newest + chrono::Duration::seconds(1);
    let clamp = |at: Option<DateTime<Utc>>, default: DateTime<Utc>| {
        at.map_or(default, |at| at.clamp(oldest, newest))
    };
    let range = (clamp(filters.to, newest) - clamp(filters.from, oldest)).num_milliseconds();
    let window = (clamp(upper, newest) - since).num_milliseconds();
    let estimate = (matched as f64 * range.max(1) as f64 / window.max(1) as f64)
        .min(survey.stories.max(matched) as f64);
    super::rounded(estimate)
}

/// How many times more matches than wanted a window is sized for.
const WINDOW_MARGIN: f64 = 2.0;
/// How many stories a window may span per match of the search.
const WINDOW_READS: f64 = 10.0;

/// The start of the window of time a search reads its newest `wanted`
/// matches from, on its `tries`-th try (each four times as wide as the
/// one before), or `None` for no window: all matches are read.
///
/// Matching stories are read from the word index, and each match costs a
/// read of its story to be put in date order; a frequent word has
/// hundreds of thousands. So a search with many matches reads only the
/// stories published in the latest stretch of its range (`upper` back to
/// the window's start) that should hold `WINDOW_MARGIN` times the matches
/// it shows, the word index and the date index intersected before any
/// story is read. If the window holds fewer, it is widened fourfold, until it
/// spans the whole range: the newest matches are always the newest of all.
fn window_start(
    survey: &Survey,
    lower: Option<DateTime<Utc>>,
    upper: Option<DateTime<Utc>>,
    wanted: i64,
    tries: u32,
) -> Option<DateTime<Utc>> {
    let lower = lower.max(survey.oldest)?;
    let newest = survey.newest? + chrono::Duration::seconds(1);
    let upper = upper.map_or(newest, |upper| upper.min(newest));
    let share =
        wanted as f64 * WINDOW_MARGIN * 4f64.powi(tries as i32) / survey.expected.max(1) as f64;
    // A window costs a read of the date index for each story it spans,
    // about a tenth of a story's read: past ten stories spanned per match
    // it is dearer than reading every match.
    let spanned = share * survey.stories as f64;
    if share >= 1.0
        || survey.expected <= UNWINDOWED
        || spanned > WINDOW_READS * survey.expected as f64
        || upper <= lower
    {
        return None;
    }
    let span = (upper - lower).num_milliseconds() as f64;
    let start = upper - chrono::Duration::milliseconds((span * share) as i64);
    (start > lower).then_some(start)
}

/// A hit with its key, for putting a page back in order.
#[derive(sqlx::FromRow)]
struct RankedHit {
    id: ArticleId,
    #[sqlx(flatten)]
    hit: Hit,
}

/// A story a search found.
#[derive(sqlx::FromRow)]
pub struct Hit {
    pub number: i64,
    pub title: String,
    pub body_text: String,
    pub published_at: DateTime<Utc>,
}

/// A search answered by the database alone (the index not current): the
/// page's stories in order, one more than a page when another follows,
/// and what the page says of their count.
async fn scan(
    conn: &mut PgConnection,
    tsquery: &str,
    terms: &[String],
    filters: &Filters,
    bound: Option<(DateTime<Utc>, i64)>,
    relevance: bool,
    page: i64,
) -> sqlx::Result<(Vec<Hit>, Count)> {
    let mut tx = sqlx::Connection::begin_with(
        &mut *conn,
        "begin; set local jit = off; set local plan_cache_mode = force_custom_plan",
    )
    .await?;
    let survey = survey(&mut tx, tsquery, filters).await?;
    let upper = match bound {
        Some((at, _)) => Some(filters.to.map_or(at, |to| to.min(at))),
        None => filters.to,
    };
    // What the search read: its matches in the window (all of them
    // without one), and the window's start.
    let matched: i64;
    let read_since: Option<DateTime<Utc>>;
    // The page's stories as keys, in order (one more than a page, to
    // know whether another follows).
    let ids: Vec<ArticleId> = if relevance {
        // The newest RANKED matches, ranked: the window must hold them.
        let mut tries = 0;
        let ranked: Vec<(ArticleId, i64)> = loop {
            let since = window_start(&survey, filters.from, upper, RANKED, tries);
            let ranked: Vec<(ArticleId, i64)> = sqlx::query_as_with(
                &format!(
                    "select c.id, c.matched from (
                         select a.article_id as id, a.number, a.title, a.summary,
                                a.published_at, count(*) over () as matched
                         from search_index a where {MATCHES}
                           and ($7::timestamptz is null or a.published_at >= $7)
                         order by a.published_at desc, a.number desc limit {RANKED}) c
                     order by (select count(*) from unnest($6::text[]) w
                               where position(w in lower(c.title)) > 0) * 3
                            + (select count(*) from unnest($6::text[]) w
                               where position(w in lower(c.summary)) > 0) desc,
                              c.published_at desc, c.number desc"
                ),
                matching(tsquery, filters),
            )
            .bind(terms)
            .bind(since)
            .fetch_all(&mut *tx)
            .await?;
            if since.is_none() || ranked.len() as i64 >= RANKED {
                read_since = since;
                break ranked;
            }
            tries += 1;
        };
        matched = ranked.first().map_or(0, |(_, matched)| *matched);
        ranked
            .into_iter()
            .map(|(id, _)| id)
            .skip(((page - 1) * PAGE_SIZE) as usize)
            .take(PAGE_SIZE as usize + 1)
            .collect()
    } else {
        let mut tries = 0;
        let newest: Vec<(ArticleId, i64)> = loop {
            let since = window_start(&survey, filters.from, upper, PAGE_SIZE + 1, tries);
            // In a window, the keyset bounds what is read; without
            // one every match is read anyway, and counted, and the
            // keyset picks the page from them.
            let newest: Vec<(ArticleId, i64)> = sqlx::query_as_with(
                &format!(
                    "select m.article_id, m.matched from (
                         select a.article_id, a.number, a.published_at,
                                count(*) over () as matched
                         from search_index a
                         where {MATCHES}
                           and ($9::timestamptz is null or a.published_at >= $9)
                           and ($6::timestamptz is null or $9::timestamptz is null
                                or (a.published_at, a.number) < ($6, $7))) m
                     where $6::timestamptz is null or $9::timestamptz is not null
                           or (m.published_at, m.number) < ($6, $7)
                     order by m.published_at desc, m.number desc limit $8"
                ),
                matching(tsquery, filters),
            )
            .bind(bound.map(|(at, _)| at))
            .bind(bound.map(|(_, number)| number))
            .bind(PAGE_SIZE + 1)
            .bind(since)
            .fetch_all(&mut *tx)
            .await?;
            if since.is_none() || newest.len() as i64 > PAGE_SIZE {
                read_since = since;
                break newest;
            }
            tries += 1;
        };
        matched = newest.first().map_or(0, |(_, matched)| *matched);
        newest.into_iter().map(|(id, _)| id).collect()
    };
    // The page's stories themselves, by their keys, in that order.
    sqlx::query!("set local enable_indexscan = on")
        .execute(&mut *tx)
        .await?;
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
    let hits: Vec<Hit> = rows.into_iter().map(|(_, hit)| hit).collect();
    let count = match (survey.count, read_since) {
        (Some(count), _) => count,
        (None, None) => Count::Exact(matched),
        (None, Some(since)) => Count::About(extrapolated(&survey, filters, matched, since, upper)),
    };
    tx.commit().await?;
    Ok((hits, count))
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
/// filter lists, in tree order from the trees in memory: active ones under
/// active parents.
fn choices(site: &crate::site::Trees) -> (Vec<Choice>, Vec<Choice>) {
    fn visible<'a, T>(
        nodes: &'a [T],
        depth: impl Fn(&T) -> i32 + 'a,
        active: impl Fn(&T) -> bool + 'a,
    ) -> impl Iterator<Item = &'a T> + 'a {
        // Below an inactive node everything is hidden, as the node is.
        let mut hidden_below: Option<i32> = None;
        nodes.iter().filter(move |node| {
            let d = depth(node);
            if hidden_below.is_some_and(|h| d > h) {
                return false;
            }
            hidden_below = (!active(node)).then_some(d);
            active(node)
        })
    }
    let indent = |depth: i32| "　".repeat(depth.max(0) as usize);
    let channels = visible(&site.channels, |c| c.depth, |c| c.active)
        .map(|c| Choice {
            value: c.slug.clone(),
            label: format!("{}{}", indent(c.depth), c.name),
        })
        .collect();
    let units = visible(&site.units, |u| u.depth, |u| u.active)
        .filter(|u| u.depth <= 1)
        .map(|u| Choice {
            value: u.id.to_string(),
            label: format!("{}{}", indent(u.depth), u.name),
        })
        .collect();
    (channels, units)
}

/// A day typed in a date field, as the start of that day in the site's
/// time zone (`next_day` for the end of a range).
pub fn day_start(
    typed: &str,
    zone: chrono_tz::Tz,
    next_day: bool,
) -> Option<Option<DateTime<Utc>>> {
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

/// A search as asked, checked against the site: what the page and the
/// API look for.
#[derive(Default)]
pub struct Asked {
    /// The query as searched (at most 100 characters).
    pub typed: String,
    terms: Vec<String>,
    /// Said when the query was longer than is searched.
    pub cut: Option<String>,
    pub relevance: bool,
    filters: Filters,
    /// Newest first: the number of the last story of the previous page.
    before: Option<i64>,
    /// Relevance order: the page.
    pub page: u32,
    /// The filters as typed, for the next page's address.
    pub channel: String,
    pub unit: String,
    pub from: String,
    pub to: String,
}

impl Asked {
    /// Whether there is anything to search for.
    pub fn searched(&self) -> bool {
        !self.terms.is_empty()
    }

    /// The query of the page after the one found, when there is one.
    pub fn next_query(&self, found: &Found) -> Option<String> {
        let last = found.hits.get(PAGE_SIZE as usize - 1)?;
        if found.hits.len() as i64 <= PAGE_SIZE {
            return None;
        }
        let mut params = vec![
            ("q", self.typed.clone()),
            ("channel", self.channel.clone()),
            ("unit", self.unit.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ];
        if self.relevance {
            params.push(("order", "relevance".into()));
            params.push(("page", (self.page + 1).to_string()));
        } else {
            params.push(("before", last.number.to_string()));
        }
        params.retain(|(_, value)| !value.is_empty());
        Some(serde_urlencoded::to_string(&params).unwrap_or_default())
    }

    /// A found story's snippet: the passage of its body around the words.
    pub fn snippet(&self, hit: &Hit) -> Vec<Piece> {
        snippet(&hit.body_text, &self.terms)
    }
}

/// Reads a search from its query against the site's trees; with a message
/// for the reader when a filter or a page cannot be read (and the search
/// is then not made).
pub fn ask(query: &SearchQuery, site: &crate::site::Trees) -> (Asked, Option<String>) {
    let typed = query.q.trim().chars().take(100).collect::<String>();
    let (terms, too_many_words) = query_words_cut(&typed, &site.conversions);
    // A query longer than is searched says so, rather than silently
    // leaving words out.
    let cut = (query.q.trim().chars().count() > 100 || too_many_words).then(|| {
        format!(
            "关键词较长，只按前 100 个字中的前 {} 个词搜索。",
            super::MAX_QUERY_WORDS
        )
    });
    let zone = site.settings.time_zone;
    let mut error = None;
    let channel = match query.channel.trim() {
        "" => None,
        slug => match site.channels.iter().find(|c| c.slug == slug) {
            Some(channel) => Some(
                site.channels[subtree_range(&site.channels, channel.id)]
                    .iter()
                    .map(|c| c.id)
                    .collect(),
            ),
            None => {
                error = Some("没有这个栏目。".to_owned());
                None
            }
        },
    };
    let unit = match query.unit.trim() {
        "" => None,
        id => {
            let range = id
                .parse::<UnitId>()
                .map(|id| subtree_range(&site.units, id))
                .unwrap_or(0..0);
            if range.is_empty() {
                error = Some("没有这个单位。".to_owned());
                None
            } else {
                Some(site.units[range].iter().map(|u| u.id).collect())
            }
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
    let page = match query.page.trim() {
        "" => 1,
        page => match page.parse::<u32>() {
            Ok(page) if (1..=last_page).contains(&page) => page,
            _ => {
                error = Some(format!("页码应为 1 至 {last_page} 之间的整数。"));
                1
            }
        },
    };
    let asked = Asked {
        typed,
        terms,
        cut,
        relevance: query.order == "relevance",
        filters: Filters {
            channel,
            unit,
            from,
            to,
        },
        before,
        page,
        channel: query.channel.trim().to_owned(),
        unit: query.unit.trim().to_owned(),
        from: query.from.trim().to_owned(),
        to: query.to.trim().to_owned(),
    };
    (asked, error)
}

/// What a search found: a page of stories in order (one more when another
/// page follows) and how many match.
pub struct Found {
    pub hits: Vec<Hit>,
    pub count: Count,
}

impl Found {
    /// The page's stories, without the one that only tells of a next page.
    pub fn page(&self) -> &[Hit] {
        &self.hits[..self.hits.len().min(PAGE_SIZE as usize)]
    }
}

/// Makes a search: from the index when it has every change, else from the
/// database.
pub async fn find(
    conn: &mut PgConnection,
    site: &crate::site::Trees,
    engine: &super::engine::Shared,
    asked: &Asked,
) -> std::result::Result<Found, AppError> {
    let (terms, typed, filters) = (&asked.terms, &asked.typed, &asked.filters);
    let tsquery = crate::search::tsquery(terms, typed, &site.conversions);
    // The keyset bound of a next page, read before the plan settings.
    let bound: Option<(DateTime<Utc>, i64)> = match asked.before {
        Some(before) => {
            sqlx::query_as("select published_at, number from articles where number = $1")
                .bind(before)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let page = i64::from(asked.page);
    let indexed = match engine {
        Some(engine) if engine.is_current(&mut *conn).await? => Some(engine),
        _ => None,
    };
    if let Some(engine) = indexed {
        let whole = super::whole_run(terms, typed, &site.conversions);
        let (numbers, count) = engine
            .search(&super::engine::Search {
                words: terms,
                whole: whole.as_deref(),
                channels: filters.channel.as_deref(),
                units: filters.unit.as_deref(),
                from: filters.from,
                to: filters.to,
                before: bound,
                relevance: asked.relevance,
                offset: if asked.relevance {
                    ((page - 1) * PAGE_SIZE) as usize
                } else {
                    0
                },
                limit: PAGE_SIZE as usize + 1,
            })
            .map_err(AppError::Internal)?;
        engine.searches.with_label_values(&["index"]).inc();
        let mut hits: Vec<Hit> = sqlx::query_as(
            "select number, title, body_text, published_at from articles
             where number = any($1) and status = 'published'",
        )
        .bind(&numbers)
        .fetch_all(&mut *conn)
        .await?;
        hits.sort_by_key(|hit| numbers.iter().position(|number| *number == hit.number));
        return Ok(Found { hits, count });
    }
    if let Some(engine) = engine {
        engine.searches.with_label_values(&["database"]).inc();
    }
    let (hits, count) = scan(conn, &tsquery, terms, filters, bound, asked.relevance, page).await?;
    Ok(Found { hits, count })
}

/// GET /search?q=: newest first (keyset pages) or by relevance among the
/// newest matches, with channel, unit and date filters.
pub async fn search(
    pool: ReadPool,
    trees: web::Data<crate::site::TreeCache>,
    engine: web::Data<super::engine::Shared>,
    query: web::Query<SearchQuery>,
) -> std::result::Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut conn = pool.acquire().await?;
    let site = trees.current(&mut conn).await?;
    let (asked, error) = ask(&query, &site);
    let layout = PublicLayout::with_trees(&site);
    let (channels, units) = choices(&site);
    let mut results = Vec::new();
    let mut next_page = None;
    let mut found = String::new();
    if asked.searched() && error.is_none() {
        let answer = find(&mut conn, &site, engine.get_ref(), &asked).await?;
        found = answer.count.said();
        next_page = asked
            .next_query(&answer)
            .map(|query| format!("/search?{query}"));
        results = answer
            .page()
            .iter()
            .map(|hit| Result {
                url: article_url(hit.number),
                date: layout.settings.format_date(hit.published_at),
                snippet: asked.snippet(hit),
                title: hit.title.clone(),
            })
            .collect();
    }
    let description = format!("在{}搜索稿件", layout.settings.site_name);
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let typed = asked.typed.clone();
    crate::web::render(
        status,
        &SearchPage {
            layout: layout.titled(format!("搜索：{typed}"), description),
            searched: asked.searched() && error.is_none(),
            query: typed,
            relevance: asked.relevance,
            channel: asked.channel,
            unit: asked.unit,
            from: asked.from,
            to: asked.to,
            channels,
            units,
            found,
            results,
            next_page,
            cut: asked.cut,
            error: error.map(FormError::from),
        },
    )
}
