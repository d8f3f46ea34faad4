-- Readings no longer mark their day for a rebuild. Every flush of the view
-- counters (every few seconds) marked today, and the rebuild read the whole
-- day again: every event, reading and comment of it. A flush now adds what
-- it counted to the built days' rows in place, the rows of the stories it
-- counted and nothing else; a day not built yet takes the readings when it
-- is built.
--
-- A flush holds the statistics lock shared until it commits, and a rebuild
-- holds it alone (`stats::days::refresh`): a rebuild reads every flush
-- committed before it took the lock, and a flush that waited for it adds
-- its readings to what the rebuild wrote, so none is counted twice or lost.

create unique index stats_days_key on stats_days (day, unit_id, channel_id, writer_id);
create unique index stats_author_days_key on stats_author_days (day, author_id, unit_id, channel_id);
drop index stats_days_day;
drop index stats_author_days_day;

-- Adds the readings counted (story, day, views added: three arrays in step)
-- to the built days' rows of the story's unit, channel and writer, and of
-- each credited author; rows in key order, so that flushes running together
-- do not deadlock.
create function stats_add_readings(stories uuid[], days date[], added bigint[]) returns void
language sql as $$
    select pg_advisory_xact_lock_shared(hashtext('newsdesk_stats_days'));
    with counted as (
        select c.article_id, c.day, c.views, a.unit_id, a.channel_id, a.created_by
        from unnest(stories, days, added) as c(article_id, day, views)
        join stats_built_days b on b.day = c.day and b.zone = stats_zone()
        join articles a on a.id = c.article_id
        where c.views <> 0
    ), by_writer as (
        insert into stats_days as s (day, unit_id, channel_id, writer_id, submitted, published,
                                     returned, rejected, headlines, views, comments, waiting)
        select day, unit_id, channel_id, created_by, 0, 0, 0, 0, 0, sum(views), 0, 0
        from counted
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
        on conflict (day, unit_id, channel_id, writer_id)
        do update set views = s.views + excluded.views
    )
    insert into stats_author_days as s (day, author_id, unit_id, channel_id, submitted,
                                        published, returned, rejected, headlines, views, comments)
    select c.day, w.author_id, c.unit_id, c.channel_id, 0, 0, 0, 0, 0, sum(c.views), 0
    from counted c
    join (select distinct article_id, author_id from article_authors
          where article_id = any(stories)) w on w.article_id = c.article_id
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (day, author_id, unit_id, channel_id)
    do update set views = s.views + excluded.views;
$$;

-- For readings inserted (`added`) and readings added to (`removed` before,
-- `added` after).
create or replace function stats_readings_added() returns trigger
language plpgsql as $$
declare
    stories uuid[];
    days date[];
    counted bigint[];
begin
    if tg_op = 'INSERT' then
        select array_agg(article_id), array_agg(day), array_agg(views)
        into stories, days, counted from added;
    else
        select array_agg(n.article_id), array_agg(n.day), array_agg(n.views - o.views)
        into stories, days, counted
        from added n join removed o using (article_id, day);
    end if;
    if stories is not null then
        perform stats_add_readings(stories, days, counted);
    end if;
    return null;
end
$$;

drop trigger article_views_stats_update on article_views;
create trigger article_views_stats_update after update on article_views
    referencing old table as removed new table as added
    for each statement execute function stats_readings_added();
