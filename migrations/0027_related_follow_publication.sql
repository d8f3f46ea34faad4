-- A kept 相关阅读 list (migration 0025) draws its candidates from the 50
-- stories published just before and just after the story on each of its
-- tags. When a story is published or withdrawn, its publication time moves,
-- or a published story gains or loses a tag, it enters or leaves exactly
-- those windows of the tag's neighbours: their kept lists are dropped at
-- once, and computed again by the next page that shows them. So lists need
-- no hourly refresh; a daily one remains for the candidates found by title
-- words.
create function article_tags_drop_related() returns trigger
language plpgsql as $$
declare
    changed article_tags := case when tg_op = 'DELETE' then old else new end;
    pivot timestamptz := changed.published_at;
begin
    if tg_op = 'UPDATE' then
        pivot := coalesce(new.published_at, old.published_at);
    end if;
    delete from article_related r
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

create trigger article_tags_drop_related_added
    after insert on article_tags
    for each row when (new.published_at is not null)
    execute function article_tags_drop_related();
create trigger article_tags_drop_related_moved
    after update of published_at on article_tags
    for each row when (new.published_at is distinct from old.published_at)
    execute function article_tags_drop_related();
create trigger article_tags_drop_related_removed
    after delete on article_tags
    for each row when (old.published_at is not null)
    execute function article_tags_drop_related();
