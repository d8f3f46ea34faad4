-- A channel's stories are listed, and its 上一篇 / 下一篇 found, newest
-- first with the story's number breaking ties; the index broke ties by id,
-- so each of those reads sorted its rows again. The index now follows the
-- order the pages use.
create index articles_channel_order on articles (channel_id, published_at desc, number desc)
    where status = 'published';
drop index articles_channel_published;
