-- 推荐阅读, the newest recommended stories, is the same list on every story
-- page. Read with each page, it was a tenth of an uncached page's cost (the
-- recommended stories' rows, and the list decoded on every page). Instances
-- now keep it with the trees (`tree::Trees`), so a change to it moves the
-- structure version (migration 0022) in the same transaction: publishing
-- or withdrawing a recommended story, flagging or unflagging a published
-- one, renaming one or moving its publication time.
create trigger articles_recommended_added after insert on articles
    for each row when (new.status = 'published' and new.is_recommended)
    execute function bump_structure_version();
create trigger articles_recommended_changed after update on articles
    for each row when (
        ((old.status = 'published' and old.is_recommended)
         or (new.status = 'published' and new.is_recommended))
        and (old.status, old.is_recommended, old.title, old.published_at, old.number)
            is distinct from (new.status, new.is_recommended, new.title, new.published_at, new.number))
    execute function bump_structure_version();
create trigger articles_recommended_removed after delete on articles
    for each row when (old.status = 'published' and old.is_recommended)
    execute function bump_structure_version();
