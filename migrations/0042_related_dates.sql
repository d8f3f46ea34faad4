-- 相关阅读 shows each story's date: the kept page parts (migration 0029)
-- keep the dates beside the numbers and titles. Parts kept before have
-- none and are computed again when their page is next rendered.
alter table article_page_parts add column related_dates timestamptz[];
