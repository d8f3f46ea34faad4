//! Queries on articles.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{ArticleListItem, PublishedArticle};

const LIST_COLUMNS: &str = "a.number, a.title, a.summary, c.name as channel_name, c.slug as channel_slug,
     a.published_at, m.id as cover_id, m.original_ext as cover_original_ext, m.derived_ext as cover_derived_ext";

/// The newest published stories across the site.
pub async fn latest_published(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<ArticleListItem>> {
    sqlx::query_as(&format!(
        "select {LIST_COLUMNS}
         from articles a join channels c on c.id = a.channel_id
         left join media m on m.id = a.cover_media_id
         where a.status = 'published'
         order by a.published_at desc, a.number desc
         limit $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Published stories of a channel and all its sub-channels, newest first,
/// one page at a time: `before` is the number of the last story of the
/// previous page (keyset pagination stays stable while stories are published).
pub async fn published_in_channel(
    conn: &mut PgConnection,
    channel_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<ArticleListItem>> {
    sqlx::query_as(&format!(
        "with recursive tree as (
             select id from channels where id = $1
             union all
             select c.id from channels c join tree t on c.parent_id = t.id
         )
         select {LIST_COLUMNS}
         from articles a join channels c on c.id = a.channel_id
         left join media m on m.id = a.cover_media_id
         where a.status = 'published' and a.channel_id in (select id from tree)
           and ($2::bigint is null or (a.published_at, a.number) <
                (select published_at, number from articles where number = $2))
         order by a.published_at desc, a.number desc
         limit $3"
    ))
    .bind(channel_id)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn published_by_number(
    conn: &mut PgConnection,
    number: i64,
) -> sqlx::Result<Option<PublishedArticle>> {
    sqlx::query_as(
        "select a.id, a.number, a.channel_id, a.title, a.kicker, a.subtitle, a.summary, a.body_html,
                a.source, u.name as unit_name,
                a.published_at, a.view_count, a.correction_note, a.corrected_at
         from articles a join units u on u.id = a.unit_id
         where a.number = $1 and a.status = 'published'",
    )
    .bind(number)
    .fetch_optional(conn)
    .await
}
