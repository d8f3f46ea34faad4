-- 全部稿件 reads every story in the order asked for, a page at a time:
-- newest update first (the default) and newest publication first, each
-- with the id breaking ties, without sorting a million stories per page.
create index articles_updated on articles (updated_at desc, id desc);
create index articles_published_any on articles (published_at desc nulls last, id desc);
