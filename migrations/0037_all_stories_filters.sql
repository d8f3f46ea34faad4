-- 全部稿件's filters at a million stories: a state in the default order
-- (drafts, returned, rejected stories: few, and found without walking all
-- the others), and a date range on a story's date (its publication, else
-- its creation).
create index articles_status_updated on articles (status, updated_at desc, id desc);
create index articles_story_date on articles ((coalesce(published_at, created_at)));
-- An expression index has statistics of its own only once analysed;
-- without them a month of stories is guessed at a third of its size.
analyze articles;
