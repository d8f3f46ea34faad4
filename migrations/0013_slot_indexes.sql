-- The headline and recommended slots are read on every home and article
-- page; without these the newest flagged stories are found by walking all
-- published stories.
create index articles_headlines on articles (published_at desc) where status = 'published' and is_headline;
create index articles_recommended on articles (published_at desc) where status = 'published' and is_recommended;
