-- Readings per story and day (in the site's time zone), written in batches
-- by each instance; the most-read lists (点击排行) sum them over a period.
create table article_views (
    article_id  uuid not null references articles (id) on delete cascade,
    day         date not null,
    views       bigint not null check (views > 0),
    primary key (article_id, day)
);

create index article_views_day on article_views (day) include (article_id, views);

-- Every change that a public page may show is announced on the channel
-- `newsdesk_pages`, whoever makes it (a request, the scheduler, a command):
-- every instance then drops the pages it has rendered.
create function announce_public_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('newsdesk_pages', '');
    return null;
end
$$;

-- Stories: only changes that touch a published story, and not the view
-- count, which pages fill in at serving time.
create function announce_article_change() returns trigger
language plpgsql as $$
begin
    if (tg_op = 'INSERT' and new.status = 'published')
       or (tg_op = 'DELETE' and old.status = 'published')
       or (tg_op = 'UPDATE'
           and (old.status = 'published' or new.status = 'published')
           and (to_jsonb(old) - 'view_count') is distinct from (to_jsonb(new) - 'view_count'))
    then
        perform pg_notify('newsdesk_pages', '');
    end if;
    return null;
end
$$;

create trigger articles_announce after insert or update or delete on articles
    for each row execute function announce_article_change();

create trigger settings_announce after insert or update or delete on settings
    for each statement execute function announce_public_change();
create trigger units_announce after insert or update or delete on units
    for each statement execute function announce_public_change();
create trigger channels_announce after insert or update or delete on channels
    for each statement execute function announce_public_change();
create trigger authors_announce after insert or update or delete on authors
    for each statement execute function announce_public_change();
create trigger tags_announce after insert or update or delete on tags
    for each statement execute function announce_public_change();

-- Tags and credits: only those of published stories (drafts change often).
create function announce_credit_change() returns trigger
language plpgsql as $$
declare
    story uuid;
begin
    if tg_op = 'DELETE' then
        story := old.article_id;
    else
        story := new.article_id;
    end if;
    if exists (select 1 from articles where id = story and status = 'published') then
        perform pg_notify('newsdesk_pages', '');
    end if;
    return null;
end
$$;

create trigger article_tags_announce after insert or update or delete on article_tags
    for each row execute function announce_credit_change();
create trigger article_authors_announce after insert or update or delete on article_authors
    for each row execute function announce_credit_change();
create trigger topics_announce after insert or update or delete on topics
    for each statement execute function announce_public_change();
create trigger topic_articles_announce after insert or update or delete on topic_articles
    for each statement execute function announce_public_change();
create trigger media_announce after update or delete on media
    for each statement execute function announce_public_change();
