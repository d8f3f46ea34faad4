//! Queries on the channel tree.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Channel, Crumb, NavChannel};

/// Active top-level channels in their sort order.
pub async fn navigation(conn: &mut PgConnection) -> sqlx::Result<Vec<NavChannel>> {
    sqlx::query_as(
        "select name, slug from channels
         where parent_id is null and active
         order by sort_order, name",
    )
    .fetch_all(conn)
    .await
}

pub async fn by_slug(conn: &mut PgConnection, slug: &str) -> sqlx::Result<Option<Channel>> {
    sqlx::query_as("select id, parent_id, name, slug from channels where slug = $1 and active")
        .bind(slug)
        .fetch_optional(conn)
        .await
}

/// The path from the top-level channel down to `channel_id`.
pub async fn breadcrumb(conn: &mut PgConnection, channel_id: Uuid) -> sqlx::Result<Vec<Crumb>> {
    sqlx::query_as(
        "with recursive path as (
             select id, parent_id, name, slug, 0 as depth from channels where id = $1
             union all
             select c.id, c.parent_id, c.name, c.slug, p.depth + 1
             from channels c join path p on c.id = p.parent_id
             where p.depth < 16
         )
         select name, slug from path order by depth desc",
    )
    .bind(channel_id)
    .fetch_all(conn)
    .await
}

/// Active direct children of a channel, for the channel page's sub-navigation.
pub async fn children(conn: &mut PgConnection, parent_id: Uuid) -> sqlx::Result<Vec<NavChannel>> {
    sqlx::query_as(
        "select name, slug from channels
         where parent_id = $1 and active
         order by sort_order, name",
    )
    .bind(parent_id)
    .fetch_all(conn)
    .await
}
