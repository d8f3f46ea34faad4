//! Queries on the unit tree.

use crate::ids::UnitId;
use sqlx::PgConnection;

use super::UnitNode;

// The tree is read by a recursive query whose columns the macros cannot
// prove non-null, so it stays checked at run time (by the tests); the
// plain queries below are checked at compile time.

/// Every unit in tree order (siblings by sort order, then name); with
/// `counts`, the number of users, articles and child units of each (one
/// pass over the stories, for the units page; pickers go without).
pub async fn tree(conn: &mut PgConnection, counts: bool) -> sqlx::Result<Vec<UnitNode>> {
    sqlx::query_as(
        "with recursive walk as (
             select id, parent_id, name, active, version, 0 as depth,
                    array[to_char(sort_order, 'S0000000000') || name] as path
             from units where parent_id is null
             union all
             select u.id, u.parent_id, u.name, u.active, u.version, w.depth + 1,
                    w.path || (to_char(u.sort_order, 'S0000000000') || u.name)
             from units u join walk w on u.parent_id = w.id
         )
         select w.id, w.parent_id, w.name, w.depth, w.active, w.version,
                case when $1 then (select count(*) from users where unit_id = w.id) else 0 end
                    as user_count,
                coalesce(a.n, 0) as article_count,
                coalesce(k.n, 0) as child_count
         from walk w
         left join (select unit_id, count(*) as n from articles where $1 group by unit_id) a
                on a.unit_id = w.id
         left join (select parent_id, count(*) as n from units group by parent_id) k
                on k.parent_id = w.id
         order by w.path",
    )
    .bind(counts)
    .fetch_all(conn)
    .await
}

/// The root unit (国家电网 in the demo).
pub async fn root(conn: &mut PgConnection) -> sqlx::Result<Option<UnitId>> {
    sqlx::query_scalar!("select id from units where parent_id is null")
        .fetch_optional(conn)
        .await
        .map(|id| id.map(UnitId))
}

/// An active unit by exact name (for the command line).
pub async fn by_name(conn: &mut PgConnection, name: &str) -> sqlx::Result<Vec<UnitId>> {
    sqlx::query_scalar!("select id from units where name = $1 and active", name)
        .fetch_all(conn)
        .await
        .map(|ids| ids.into_iter().map(UnitId).collect())
}

pub async fn is_active(conn: &mut PgConnection, id: UnitId) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar!("select active from units where id = $1", id as UnitId)
            .fetch_optional(conn)
            .await?
            .unwrap_or(false),
    )
}
