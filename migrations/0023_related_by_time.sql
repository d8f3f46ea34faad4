-- 相关阅读 takes up to 100 candidates per shared tag. They were the first
-- 100 stories of the tag in the order of the index (by story id): the same
-- stories, old or new, for every story carrying a popular tag. They are now
-- the stories published nearest in time to the story shown, before and
-- after it, which needs the publication time beside the tag. It is kept by
-- the triggers below (null while the story is not published).
alter table article_tags add column published_at timestamptz;

update article_tags t set published_at = a.published_at
from articles a
where a.id = t.article_id and a.status = 'published';

create index article_tags_published on article_tags (tag_id, published_at, article_id)
    where published_at is not null;

create function article_tags_take_published_at() returns trigger
language plpgsql as $$
begin
    select case when a.status = 'published' then a.published_at end
    into new.published_at
    from articles a where a.id = new.article_id;
    return new;
end
$$;

create trigger article_tags_published_at
    before insert on article_tags
    for each row execute function article_tags_take_published_at();

create function articles_give_tags_published_at() returns trigger
language plpgsql as $$
begin
    update article_tags
    set published_at = case when new.status = 'published' then new.published_at end
    where article_id = new.id;
    return null;
end
$$;

create trigger articles_tags_published_at
    after update of status, published_at on articles
    for each row
    when (old.status is distinct from new.status or old.published_at is distinct from new.published_at)
    execute function articles_give_tags_published_at();
