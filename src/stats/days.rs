//! The daily statistics (migration 0016): each day's contributions per unit,
//! channel and correspondent, and per credited author, rebuilt by one SQL
//! statement from the review events, readings and comments whenever a day
//! that is read is not current.

use chrono::NaiveDate;
use sqlx::{Acquire, PgConnection};

/// Days in [first, last] that are not built for `zone` or were touched
/// since they were built.
const STALE: &str = "
    select d::date from generate_series($1::date, $2::date, interval '1 day') d
    where not exists (select 1 from stats_built_days b where b.day = d::date and b.zone = $3)
       or exists (select 1 from stats_dirty x where x.day = d::date)";

/// Rebuilds the days $1 in one statement, so that the figures, the days
/// marked built and the markers removed all come from one snapshot: a
/// change committed meanwhile keeps its marker. A day's rows are written
/// over where their keys remain (the statement's deletes and inserts run in
/// no set order) and deleted where not. Readings are not marked: a flush
/// adds them to the built days in place (migration 0051), serialised with
/// rebuilds by the statistics lock.
const REBUILD: &str = "
    with days as (
        select unnest($1::date[]) as d
    ), bounds as (
        select array_agg(d) as days,
               min(d)::timestamp at time zone $2 as lo,
               (max(d) + 1)::timestamp at time zone $2 as hi
        from days
    ), events as (
        select e.article_id, (e.at at time zone $2)::date as day,
               count(*) filter (where e.action = 'submit' and not exists (
                   select 1 from review_events f where f.article_id = e.article_id
                     and f.action = 'submit' and (f.at, f.id) < (e.at, e.id))) as submitted,
               count(*) filter (where e.to_status = 'published' and not exists (
                   select 1 from review_events f where f.article_id = e.article_id
                     and f.to_status = 'published' and (f.at, f.id) < (e.at, e.id))) as published,
               count(*) filter (where e.action = 'return') as returned,
               count(*) filter (where e.action = 'reject') as rejected,
               count(*) filter (where e.to_status in ('submitted', 'in_review')
                                  and e.from_status not in ('submitted', 'in_review'))
             - count(*) filter (where e.from_status in ('submitted', 'in_review')
                                  and e.to_status not in ('submitted', 'in_review')) as waiting
        from review_events e, bounds b
        where e.at >= b.lo and e.at < b.hi
        group by 1, 2
    ), waits as (
        select (e.at at time zone $2)::date as day, e.article_id, e.stage + 1 as stage,
               extract(epoch from e.at - before.at)::float8 / 3600 as hours
        from review_events e cross join bounds b
        cross join lateral (
            select f.at from review_events f
            where f.article_id = e.article_id and (f.at, f.id) < (e.at, e.id)
            order by f.at desc, f.id desc limit 1
        ) before
        where e.at >= b.lo and e.at < b.hi and e.stage is not null
          and e.action in ('pass', 'return', 'reject')
        union all
        select (e.at at time zone $2)::date, e.article_id, 0,
               extract(epoch from e.at - (select min(s.at) from review_events s
                                          where s.article_id = e.article_id and s.action = 'submit'))::float8
               / 3600
        from review_events e, bounds b
        where e.at >= b.lo and e.at < b.hi and e.to_status = 'published'
          and not exists (select 1 from review_events f where f.article_id = e.article_id
                            and f.to_status = 'published' and (f.at, f.id) < (e.at, e.id))
          and exists (select 1 from review_events s where s.article_id = e.article_id and s.action = 'submit')
    ), readings as (
        select v.article_id, v.day, v.views from article_views v where v.day in (select d from days)
    ), approved as (
        select c.article_id, (c.created_at at time zone $2)::date as day, count(*) as comments
        from comments c, bounds b
        where c.status = 'approved' and c.created_at >= b.lo and c.created_at < b.hi
        group by 1, 2
    ), stories as (
        select p.article_id, p.day, a.unit_id, a.channel_id, a.created_by,
               coalesce(p.submitted, 0) as submitted, coalesce(p.published, 0) as published,
               coalesce(p.returned, 0) as returned, coalesce(p.rejected, 0) as rejected,
               case when a.is_headline then coalesce(p.published, 0) else 0 end as headlines,
               coalesce(p.views, 0) as views, coalesce(p.comments, 0) as comments,
               coalesce(p.waiting, 0) as waiting
        from (select * from events full join readings using (article_id, day)
                       full join approved using (article_id, day)) p
        join articles a on a.id = p.article_id
        where p.day in (select d from days)
    ), old_days as (
        delete from stats_days where day in (select d from days)
    ), old_waits as (
        delete from stats_waits where day in (select d from days)
    ), by_wait as (
        insert into stats_waits (day, unit_id, channel_id, stage, hours)
        select w.day, a.unit_id, a.channel_id, w.stage, w.hours
        from waits w join articles a on a.id = w.article_id
        where w.day in (select d from days)
    ), old_author_days as (
        delete from stats_author_days where day in (select d from days)
    ), by_writer as (
        insert into stats_days (day, unit_id, channel_id, writer_id, submitted, published,
                                returned, rejected, headlines, views, comments, waiting)
        select day, unit_id, channel_id, created_by, sum(submitted), sum(published),
               sum(returned), sum(rejected), sum(headlines), sum(views), sum(comments), sum(waiting)
        from stories group by day, unit_id, channel_id, created_by
        on conflict (day, unit_id, channel_id, writer_id) do update set
            submitted = excluded.submitted, published = excluded.published,
            returned = excluded.returned, rejected = excluded.rejected,
            headlines = excluded.headlines, views = excluded.views,
            comments = excluded.comments, waiting = excluded.waiting
    ), by_author as (
        insert into stats_author_days (day, author_id, unit_id, channel_id, submitted, published,
                                       returned, rejected, headlines, views, comments)
        select s.day, c.author_id, s.unit_id, s.channel_id, sum(submitted), sum(published),
               sum(returned), sum(rejected), sum(headlines), sum(views), sum(comments)
        from stories s
        join (select distinct article_id, author_id from article_authors
              where article_id in (select article_id from stories)) c on c.article_id = s.article_id
        group by s.day, c.author_id, s.unit_id, s.channel_id
        on conflict (day, author_id, unit_id, channel_id) do update set
            submitted = excluded.submitted, published = excluded.published,
            returned = excluded.returned, rejected = excluded.rejected,
            headlines = excluded.headlines, views = excluded.views,
            comments = excluded.comments
    ), built as (
        insert into stats_built_days (day, zone) select d, $2 from days
        on conflict (day) do update set zone = excluded.zone
    )
    delete from stats_dirty where day in (select d from days)";

/// Makes every day in [first, last] current for `zone`; returns how many
/// days were rebuilt. Rebuilds are serialised, so two never write the same
/// day; readers of current days do not wait.
pub async fn refresh(
    conn: &mut PgConnection,
    first: NaiveDate,
    last: NaiveDate,
    zone: &str,
) -> sqlx::Result<usize> {
    if last < first {
        return Ok(0);
    }
    if stale_days(conn, first, last, zone).await?.is_empty() {
        return Ok(0);
    }
    let mut tx = conn.begin().await?;
    sqlx::query!("select pg_advisory_xact_lock(hashtext('newsdesk_stats_days'))")
        .execute(&mut *tx)
        .await?;
    // Again under the lock: another rebuild may just have made them current.
    let stale = stale_days(&mut tx, first, last, zone).await?;
    if stale.is_empty() {
        return Ok(0);
    }
    sqlx::query(REBUILD)
        .bind(&stale)
        .bind(zone)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(stale.len())
}

async fn stale_days(
    conn: &mut PgConnection,
    first: NaiveDate,
    last: NaiveDate,
    zone: &str,
) -> sqlx::Result<Vec<NaiveDate>> {
    sqlx::query_scalar(STALE)
        .bind(first)
        .bind(last)
        .bind(zone)
        .fetch_all(conn)
        .await
}

/// Makes every day from the first review event to today current, a year at a time (after a bulk load
/// that bypassed the triggers, or to warm a fresh installation).
pub async fn refresh_all(conn: &mut PgConnection, zone: &str) -> sqlx::Result<usize> {
    let span: (Option<NaiveDate>, Option<NaiveDate>) = sqlx::query_as(
        "select (min(at) at time zone $1)::date, (now() at time zone $1)::date from review_events",
    )
    .bind(zone)
    .fetch_one(&mut *conn)
    .await?;
    let (Some(mut first), Some(end)) = span else {
        return Ok(0);
    };
    let mut rebuilt = 0;
    while first <= end {
        let last = first
            .checked_add_days(chrono::Days::new(365))
            .unwrap_or(end)
            .min(end);
        rebuilt += refresh(conn, first, last, zone).await?;
        first = last.succ_opt().unwrap_or(end);
        if last == end {
            break;
        }
    }
    Ok(rebuilt)
}

/// Keeps the days current in the background: at start-up (after an upgrade
/// every past day is built once), then every `every`, so that statistics
/// pages only rebuild what changed in the last minutes.
pub async fn run_builder(pool: sqlx::PgPool, every: std::time::Duration) {
    loop {
        let built = async {
            let mut conn = pool.acquire().await?;
            let zone = crate::settings::db::load(&mut conn).await?.time_zone;
            anyhow::Ok(refresh_all(&mut conn, zone.name()).await?)
        }
        .await;
        match built {
            Ok(0) => {}
            Ok(days) => tracing::info!(days, "rebuilt statistics days"),
            Err(error) => tracing::warn!(%error, "could not rebuild statistics days"),
        }
        tokio::time::sleep(every).await;
    }
}
