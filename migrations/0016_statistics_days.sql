-- Daily statistics (稿件统计): what each day contributed, per unit, channel
-- and correspondent (stats_days) and per credited author (stats_author_days),
-- recomputed by SQL from the review events, readings and comments whenever
-- a day is asked for and is not known to be current. Nothing is counted by
-- hand: a day's rows are always a query's result.
--
-- A day is current when it was built for the site's time zone and no change
-- touched it since. Every change a day's figures depend on writes a marker
-- (day, transaction) to stats_dirty; a rebuild removes only the markers its
-- own snapshot saw, so a change committed while a day is being rebuilt leaves
-- its marker and the day is built again on the next read.

create table stats_days (
    day         date not null,
    unit_id     uuid not null,
    channel_id  uuid not null,
    writer_id   uuid not null,
    -- Stories first submitted that day (a resubmission is the same story).
    submitted   integer not null,
    -- Stories first published that day.
    published   integer not null,
    returned    integer not null,
    rejected    integer not null,
    -- Of those first published that day, the ones in the 头条 slot.
    headlines   integer not null,
    views       bigint not null,
    -- Approved comments written that day.
    comments    integer not null,
    -- Stories that began waiting for review that day, less those that
    -- stopped waiting: the backlog's change over the day.
    waiting     integer not null
);

create index stats_days_day on stats_days (day);

create table stats_author_days (
    day         date not null,
    author_id   uuid not null,
    unit_id     uuid not null,
    channel_id  uuid not null,
    submitted   integer not null,
    published   integer not null,
    returned    integer not null,
    rejected    integer not null,
    headlines   integer not null,
    views       bigint not null,
    comments    integer not null
);

create index stats_author_days_day on stats_author_days (day);

-- How long stories waited, for the workflow's medians and percentiles:
-- stage 0 is a story's first publication, waited from its first submission;
-- stage k a decision at review stage k, waited from the event before it.
-- Dated by the publication or decision.
create table stats_waits (
    day         date not null,
    unit_id     uuid not null,
    channel_id  uuid not null,
    stage       smallint not null,
    hours       double precision not null
);

create index stats_waits_day on stats_waits (day);

create table stats_built_days (
    day   date primary key,
    -- The time zone the day was cut in; another zone means not built.
    zone  text not null
);

create table stats_dirty (
    day  date not null,
    xid  xid8 not null,
    primary key (day, xid)
);

create function stats_zone() returns text
language sql stable as $$
    select coalesce((select value from settings where key = 'time_zone'), 'Asia/Shanghai')
$$;

-- Marks the days a story's figures fall on: its events, readings and
-- approved comments.
create function stats_touch_article(story uuid) returns void
language sql as $$
    insert into stats_dirty (day, xid)
    select day, pg_current_xact_id() from (
        select (at at time zone stats_zone())::date as day from review_events where article_id = story
        union select day from article_views where article_id = story
        union select (created_at at time zone stats_zone())::date from comments
              where article_id = story and status = 'approved'
    ) days
    on conflict do nothing
$$;

create function stats_article_changed() returns trigger
language plpgsql as $$
begin
    perform stats_touch_article(old.id);
    return null;
end
$$;

create trigger articles_stats after update of unit_id, channel_id, created_by, is_headline on articles
    for each row
    when (old.unit_id is distinct from new.unit_id or old.channel_id is distinct from new.channel_id
          or old.created_by is distinct from new.created_by or old.is_headline is distinct from new.is_headline)
    execute function stats_article_changed();

-- Before the delete, while the story's events and comments still exist.
create function stats_article_deleted() returns trigger
language plpgsql as $$
begin
    perform stats_touch_article(old.id);
    return old;
end
$$;

create trigger articles_stats_delete before delete on articles
    for each row execute function stats_article_deleted();

create function stats_credit_changed() returns trigger
language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        perform stats_touch_article(old.article_id);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        perform stats_touch_article(new.article_id);
    end if;
    return null;
end
$$;

create trigger article_authors_stats after insert or update or delete on article_authors
    for each row execute function stats_credit_changed();

create function stats_event_added() returns trigger
language plpgsql as $$
begin
    insert into stats_dirty (day, xid)
    select distinct (at at time zone stats_zone())::date, pg_current_xact_id() from added
    on conflict do nothing;
    return null;
end
$$;

create trigger review_events_stats after insert on review_events
    referencing new table as added
    for each statement execute function stats_event_added();

create function stats_readings_added() returns trigger
language plpgsql as $$
begin
    insert into stats_dirty (day, xid)
    select distinct day, pg_current_xact_id() from added
    on conflict do nothing;
    return null;
end
$$;

create trigger article_views_stats_insert after insert on article_views
    referencing new table as added
    for each statement execute function stats_readings_added();
create trigger article_views_stats_update after update on article_views
    referencing new table as added
    for each statement execute function stats_readings_added();

create function stats_comment_changed() returns trigger
language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.status = 'approved' then
        insert into stats_dirty (day, xid)
        values ((old.created_at at time zone stats_zone())::date, pg_current_xact_id())
        on conflict do nothing;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.status = 'approved' then
        insert into stats_dirty (day, xid)
        values ((new.created_at at time zone stats_zone())::date, pg_current_xact_id())
        on conflict do nothing;
    end if;
    return null;
end
$$;

create trigger comments_stats after insert or update of status or delete on comments
    for each row execute function stats_comment_changed();
