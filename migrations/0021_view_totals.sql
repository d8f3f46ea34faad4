-- Readings are written every few seconds for thousands of stories. Kept in
-- the stories' own rows, each write made a new version of a wide row and
-- of every index on it (at 1,000,000 stories, 15 s for 7,000 stories), and
-- moved the story's updated_at. A narrow table of totals takes them now.
create table article_totals (
    article_id  uuid primary key references articles (id) on delete cascade,
    views       bigint not null default 0 check (views >= 0)
);

insert into article_totals (article_id, views)
select id, view_count from articles where view_count > 0;

alter table articles drop column view_count;

-- A story's updated_at is its last edit or workflow step, not a comment
-- counted (comment_count) or its search vector filled in.
drop trigger articles_updated_at on articles;
create trigger articles_updated_at
    before update of channel_id, unit_id, created_by, title, kicker, subtitle, summary, body_html,
                     body_text, author_byline, correspondents, source, status, published_at, version,
                     is_headline, is_recommended, review_stage, responsible_editors, cover_media_id,
                     schedule_missed, correction_note, corrected_at
    on articles
    for each row execute function set_updated_at();
