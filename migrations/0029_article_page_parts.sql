-- What a story's page shows from other rows is kept with the story: its
-- credits and tags, 上一篇 / 下一篇, the ranked 相关阅读 list, each linked
-- story with its title, and the seal of a body that sanitising leaves as it
-- is (see `articles::body`). The page then reads two rows instead of some
-- twenty, and skips sanitising a sealed body. 推荐阅读 is the same for every
-- story and is read as it is now.
--
-- A kept row is used while it was computed after the story's last change
-- and within the day; the triggers below drop it at once when anything it
-- holds changes elsewhere, and the next page computes it again. The day
-- bounds what a row computed while such a change was being made can miss.
-- It replaces the kept 相关阅读 lists of migration 0025; they are computed
-- again at start-up.
create table article_page_parts (
    article_id      uuid primary key references articles (id) on delete cascade,
    -- (author id, designation, name) of each credit, in order.
    credit_ids      uuid[] not null,
    credit_roles    text[] not null,
    credit_names    text[] not null,
    tags            text[] not null,
    earlier         bigint,
    earlier_title   text,
    later           bigint,
    later_title     text,
    -- 相关阅读: numbers and titles, in the order shown.
    related         bigint[] not null,
    related_titles  text[] not null,
    -- Every story number the row names, to find the rows a story is in.
    links           bigint[] not null,
    -- HMAC of the body as it was when it needed no sanitising, or null.
    body_seal       bytea,
    computed_at     timestamptz not null
);

-- Updated with each row rather than through a pending list, which one
-- page's write would otherwise have to merge now and then.
create index article_page_parts_links on article_page_parts using gin (links)
    with (fastupdate = off);

-- Publications near a story on its tags change its 相关阅读 candidates
-- (migration 0027); a change to a story's own tags changes its row.
create or replace function article_tags_drop_related() returns trigger
language plpgsql as $$
declare
    changed article_tags := case when tg_op = 'DELETE' then old else new end;
    pivot timestamptz := changed.published_at;
begin
    delete from article_page_parts where article_id = changed.article_id;
    if tg_op = 'UPDATE' then
        if new.published_at is not distinct from old.published_at then
            return null;
        end if;
        pivot := coalesce(new.published_at, old.published_at);
    end if;
    if pivot is null then
        return null;
    end if;
    delete from article_page_parts r
    where r.article_id in (
        (select t.article_id from article_tags t
         where t.tag_id = changed.tag_id and t.published_at is not null
           and t.published_at <= pivot and t.article_id <> changed.article_id
         order by t.published_at desc, t.article_id desc limit 50)
        union all
        (select t.article_id from article_tags t
         where t.tag_id = changed.tag_id and t.published_at is not null
           and t.published_at >= pivot and t.article_id <> changed.article_id
         order by t.published_at, t.article_id limit 50));
    return null;
end
$$;

drop trigger article_tags_drop_related_added on article_tags;
drop trigger article_tags_drop_related_moved on article_tags;
drop trigger article_tags_drop_related_removed on article_tags;
create trigger article_tags_drop_parts
    after insert or update or delete on article_tags
    for each row execute function article_tags_drop_related();

drop table article_related;

create function article_authors_drop_parts() returns trigger
language plpgsql as $$
begin
    delete from article_page_parts
    where article_id = case when tg_op = 'DELETE' then old.article_id else new.article_id end;
    return null;
end
$$;

create trigger article_authors_drop_parts
    after insert or update or delete on article_authors
    for each row execute function article_authors_drop_parts();

-- A renamed author or tag: every story naming it.
create function authors_drop_parts() returns trigger
language plpgsql as $$
begin
    delete from article_page_parts p
    using article_authors aa
    where aa.author_id = new.id and p.article_id = aa.article_id;
    return null;
end
$$;

create trigger authors_drop_parts after update of name on authors
    for each row when (old.name is distinct from new.name)
    execute function authors_drop_parts();

create function tags_drop_parts() returns trigger
language plpgsql as $$
begin
    delete from article_page_parts p
    using article_tags t
    where t.tag_id = new.id and p.article_id = t.article_id;
    return null;
end
$$;

create trigger tags_drop_parts after update of name on tags
    for each row when (old.name is distinct from new.name)
    execute function tags_drop_parts();

-- A story published, withdrawn, re-timed, moved or retitled: the rows that
-- name it (as a neighbour or in 相关阅读), and its new neighbours in its
-- channel, whose 上一篇 or 下一篇 it now is.
create function articles_drop_parts() returns trigger
language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        delete from article_page_parts where links @> array[old.number];
    end if;
    if tg_op <> 'DELETE' and new.status = 'published' then
        delete from article_page_parts where article_id in (
            (select id from articles
             where channel_id = new.channel_id and status = 'published'
               and (published_at, number) < (new.published_at, new.number)
             order by published_at desc, number desc limit 1)
            union all
            (select id from articles
             where channel_id = new.channel_id and status = 'published'
               and (published_at, number) > (new.published_at, new.number)
             order by published_at, number limit 1));
    end if;
    return null;
end
$$;

create trigger articles_drop_parts_added after insert on articles
    for each row when (new.status = 'published')
    execute function articles_drop_parts();
create trigger articles_drop_parts_changed
    after update of status, published_at, channel_id, title on articles
    for each row when ((old.status = 'published' or new.status = 'published')
        and (old.status, old.published_at, old.channel_id, old.title)
            is distinct from (new.status, new.published_at, new.channel_id, new.title))
    execute function articles_drop_parts();
create trigger articles_drop_parts_removed after delete on articles
    for each row when (old.status = 'published')
    execute function articles_drop_parts();
