//! The lists of published stories: the newest, a channel's pages and the
//! home page's blocks. The parts of a story's own page are in `parts`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ids::{ArticleId, ChannelId, UnitId};

use super::ArticleListItem;

const LIST_COLUMNS: &str = "a.number, a.title, a.summary, c.name as channel_name, c.slug as channel_slug,
     a.published_at, a.comment_count, m.id as cover_id, m.original_ext as cover_original_ext, m.derived_ext as cover_derived_ext";

/// The newest published stories across the site.
pub async fn latest_published(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<ArticleListItem>> {
    // The limit is written into the statement: as a parameter, its plan
    // could not be kept (planned for an unknown limit, reading the index
    // to its end looked dearer than planning again), and each call was
    // planned anew.
    sqlx::query_as(&format!(
        "select {LIST_COLUMNS}
         from articles a join channels c on c.id = a.channel_id
         left join media m on m.id = a.cover_media_id
         where a.status = 'published'
         order by a.published_at desc, a.number desc
         limit {limit}"
    ))
    .fetch_all(conn)
    .await
}

/// Which published stories a list shows; every set field must hold.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// A channel and all its sub-channels.
    pub channel: Option<ChannelId>,
    /// A unit and all the units below it.
    pub unit: Option<UnitId>,
    pub tag: Option<String>,
    /// Stories crediting this author.
    pub author: Option<Uuid>,
    /// Stories of this special topic (专题).
    pub topic: Option<Uuid>,
    /// Published at or after `from`, before `to`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Published stories of a listing, newest first, one page at a time:
/// `before` is the number of the last story of the previous page (keyset
/// pagination stays stable while stories are published).
pub async fn published(
    conn: &mut PgConnection,
    listing: &Listing,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<ArticleListItem>> {
    sqlx::query_as(&format!(
        "with recursive channel_tree as (
             select id from channels where id = $1
             union all
             select c.id from channels c join channel_tree t on c.parent_id = t.id
         ), unit_tree as (
             select id from units where id = $2
             union all
             select u.id from units u join unit_tree t on u.parent_id = t.id
         )
         select {LIST_COLUMNS}
         from articles a join channels c on c.id = a.channel_id
         left join media m on m.id = a.cover_media_id
         where a.status = 'published'
           and ($1::uuid is null or a.channel_id in (select id from channel_tree))
           and ($2::uuid is null or a.unit_id in (select id from unit_tree))
           and ($3::text is null or exists (select 1 from article_tags at join tags t on t.id = at.tag_id
                                           where at.article_id = a.id and t.name = $3))
           and ($4::uuid is null or exists (select 1 from article_authors aa
                                           where aa.article_id = a.id and aa.author_id = $4))
           and ($5::bigint is null or (a.published_at, a.number) <
                (select published_at, number from articles where number = $5))
           and ($7::uuid is null or exists (select 1 from topic_articles ta
                                           where ta.article_id = a.id and ta.topic_id = $7))
           and ($8::timestamptz is null or a.published_at >= $8)
           and ($9::timestamptz is null or a.published_at < $9)
         order by a.published_at desc, a.number desc
         limit $6"
    ))
    .bind(listing.channel)
    .bind(listing.unit)
    .bind(&listing.tag)
    .bind(listing.author)
    .bind(before)
    .bind(limit)
    .bind(listing.topic)
    .bind(listing.from)
    .bind(listing.to)
    .fetch_all(conn)
    .await
}

/// A story in one of the home page's blocks.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlockItem {
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub published_at: DateTime<Utc>,
    pub view_count: i64,
    pub cover_id: Option<Uuid>,
    pub cover_original_ext: Option<String>,
    pub cover_derived_ext: Option<String>,
    /// The top-level channel, for the per-channel blocks.
    pub top_slug: Option<String>,
}

const BLOCK_COLUMNS: &str = "a.number, a.title, a.summary, a.published_at,
     coalesce((select t.views from article_totals t where t.article_id = a.id), 0) as view_count,
     m.id as cover_id, m.original_ext as cover_original_ext, m.derived_ext as cover_derived_ext";

/// The newest stories flagged `flag` (is_headline or is_recommended).
pub async fn flagged(
    conn: &mut PgConnection,
    headline: bool,
    limit: i64,
) -> sqlx::Result<Vec<BlockItem>> {
    sqlx::query_as(&format!(
        "select {BLOCK_COLUMNS}, null::text as top_slug
         from articles a left join media m on m.id = a.cover_media_id
         where a.status = 'published' and (case when $1 then a.is_headline else a.is_recommended end)
         order by a.published_at desc limit $2"
    ))
    .bind(headline)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The newest published stories with a cover photo (图片新闻).
pub async fn with_photos(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<BlockItem>> {
    sqlx::query_as(&format!(
        "select {BLOCK_COLUMNS}, null::text as top_slug
         from articles a join media m on m.id = a.cover_media_id
         where a.status = 'published' and a.cover_media_id is not null
         order by a.published_at desc limit $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The latest `per` stories of each active top-level channel (its
/// sub-channels included), in one query: for each top-level channel the
/// newest stories are read in date order until `per` are found, however
/// many stories the site holds.
pub async fn latest_by_top_channel(
    conn: &mut PgConnection,
    per: i64,
) -> sqlx::Result<Vec<BlockItem>> {
    sqlx::query_as(&format!(
        "with recursive tree as (
             select id, id as top_id from channels where parent_id is null and active
             union all
             select c.id, t.top_id from channels c join tree t on c.parent_id = t.id where c.active
         ), tops as (
             select top_id, array_agg(id) as ids from tree group by top_id
         )
         select {BLOCK_COLUMNS}, top.slug as top_slug
         from tops join channels top on top.id = tops.top_id
         cross join lateral (
             select * from articles a
             where a.status = 'published' and a.channel_id = any(tops.ids)
             order by a.published_at desc, a.number desc limit $1
         ) a
         left join media m on m.id = a.cover_media_id
         order by top.slug, a.published_at desc"
    ))
    .bind(per)
    .fetch_all(conn)
    .await
}

/// The most-read stories of today, the last 7 days and the last 30 days
/// (days in the site's time zone, `today` included), by the readings
/// counted on those days, in one pass over the month's counts: for each
/// period, up to `2 * limit` (story id, readings) pairs, most read first.
/// `ranked_items` reads the stories.
pub async fn most_read(
    conn: &mut PgConnection,
    today: chrono::NaiveDate,
    limit: i64,
) -> sqlx::Result<[Vec<(ArticleId, i64)>; 3]> {
    let rows: Vec<(i32, ArticleId, i64)> = sqlx::query_as(
        "with month as (
             select article_id,
                    sum(views) filter (where day = $1)::bigint as day_views,
                    sum(views) filter (where day > $1 - 7)::bigint as week_views,
                    sum(views)::bigint as month_views
             from article_views where day > $1 - 30 group by article_id
         ), ranked as (
             select 0 as period, article_id, day_views as views from month
             where day_views > 0 order by day_views desc limit $2 * 2
         ), week as (
             select 1 as period, article_id, week_views as views from month
             where week_views > 0 order by week_views desc limit $2 * 2
         ), whole as (
             select 2 as period, article_id, month_views as views from month
             order by month_views desc limit $2 * 2
         )
         select period, article_id, views
         from (select * from ranked union all select * from week union all select * from whole) r
         order by period, views desc",
    )
    .bind(today)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut periods: [Vec<(ArticleId, i64)>; 3] = Default::default();
    for (period, id, views) in rows {
        periods[period as usize].push((id, views));
    }
    Ok(periods)
}

/// The published stories of each period of `most_read`, in its order, up
/// to `limit` each; each story shows its readings in the period.
pub async fn ranked_items(
    conn: &mut PgConnection,
    periods: &[Vec<(ArticleId, i64)>; 3],
    limit: usize,
) -> sqlx::Result<[Vec<BlockItem>; 3]> {
    #[derive(sqlx::FromRow)]
    struct Ranked {
        period: i32,
        #[sqlx(flatten)]
        item: BlockItem,
    }
    let mut ids = Vec::new();
    let mut numbers = Vec::new();
    let mut views = Vec::new();
    for (period, ranked) in periods.iter().enumerate() {
        for (id, count) in ranked {
            ids.push(*id);
            numbers.push(period as i32);
            views.push(*count);
        }
    }
    let rows: Vec<Ranked> = sqlx::query_as(
        "select r.period, a.number, a.title, a.summary, a.published_at, r.views as view_count,
                m.id as cover_id, m.original_ext as cover_original_ext,
                m.derived_ext as cover_derived_ext, null::text as top_slug
         from unnest($1::uuid[], $2::int[], $3::bigint[]) with ordinality
              r(article_id, period, views, position)
         join articles a on a.id = r.article_id and a.status = 'published'
         left join media m on m.id = a.cover_media_id
         order by r.position",
    )
    .bind(ids)
    .bind(numbers)
    .bind(views)
    .fetch_all(conn)
    .await?;
    let mut items: [Vec<BlockItem>; 3] = Default::default();
    for row in rows {
        let list = &mut items[row.period as usize];
        if list.len() < limit {
            list.push(row.item);
        }
    }
    Ok(items)
}
