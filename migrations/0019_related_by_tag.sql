-- 相关阅读 takes, for each tag of a story, other stories with that tag:
-- read from the index alone, without visiting the table.
create index if not exists article_tags_tag_article on article_tags (tag_id, article_id);
drop index if exists article_tags_tag;
