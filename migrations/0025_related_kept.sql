-- 相关阅读 is ranked from the stories sharing a story's tags or title words
-- (see `articles::db::related`), which costs more than the rest of the
-- page's reads together. The list shown is kept here and used while it is
-- fresh: computed after the story's last change and within the hour (so
-- stories published since find their way into it). Titles and states are
-- read with the list, so a renamed or withdrawn story shows as it is now.
create table article_related (
    article_id   uuid primary key references articles (id) on delete cascade,
    -- The stories' numbers, in the order shown.
    related      bigint[] not null,
    computed_at  timestamptz not null
);
