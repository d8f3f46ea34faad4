-- 图片新闻 on the home page: the newest published stories with a cover
-- photo, read from their own index so that an archive of stories without
-- photos is not walked to find them.
create index articles_with_photos on articles (published_at desc)
    where status = 'published' and cover_media_id is not null;
