-- Kept page parts (migration 0029) were used for a day at most, and every
-- story read after that computed them again. At 1,000,000 stories, reads
-- spread over the archive then computed nearly every page's parts: 455
-- pages a second against 7,500 with kept parts. The day bounded two things;
-- each now has its own answer.
--
-- 1. A row computed while a change it depends on was being made could miss
--    that change: the change's trigger ran before the row was written. Now
--    a change takes the lock below alone, from its first row that may
--    change what parts are made of until it commits, after the parts being
--    computed under the shared lock are kept, so that its triggers find
--    them; parts computed while a change holds it are shown, not kept
--    (`articles::db::compute_parts`).
--
-- 2. 相关阅读 takes the newest stories sharing the title's words when the
--    tags bring too few, and nothing announces a story published later
--    with those words. Only such rows still last a day.

alter table article_page_parts add column follows_words boolean not null default true;

create function page_parts_changing() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(hashtext('newsdesk_page_parts'));
    if tg_op = 'DELETE' then
        return old;
    end if;
    return new;
end
$$;

-- On the rows whose change drops parts (as the triggers of migration 0029
-- select them), before the change: a statement that changes none, like the
-- scheduler's every 15 seconds, takes no lock. The row is already locked
-- then; a page keeping that story's parts checks it, and gives up keeping
-- them after its lock timeout rather than deadlocking.
create trigger articles_parts_added before insert on articles
    for each row when (new.status = 'published')
    execute function page_parts_changing();
create trigger articles_parts_changed
    before update of status, published_at, channel_id, title on articles
    for each row when ((old.status = 'published' or new.status = 'published')
        and (old.status, old.published_at, old.channel_id, old.title)
            is distinct from (new.status, new.published_at, new.channel_id, new.title))
    execute function page_parts_changing();
create trigger articles_parts_removed before delete on articles
    for each row when (old.status = 'published')
    execute function page_parts_changing();
create trigger article_tags_parts_changing
    before insert or update or delete on article_tags
    for each row execute function page_parts_changing();
create trigger article_authors_parts_changing
    before insert or update or delete on article_authors
    for each row execute function page_parts_changing();
create trigger authors_parts_changing before update of name on authors
    for each row when (old.name is distinct from new.name)
    execute function page_parts_changing();
create trigger tags_parts_changing before update of name on tags
    for each row when (old.name is distinct from new.name)
    execute function page_parts_changing();
