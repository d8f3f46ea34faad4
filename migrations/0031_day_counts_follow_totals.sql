-- A story's readings of a day belong to its total rather than directly to
-- the story. The flush (`articles::views`) writes both in one statement,
-- thousands of stories every few seconds. Checked against `articles`, each
-- new day's row locked its story's row for the check, which wrote to the
-- story's page: at a million stories that was a page written to the WAL
-- whole for almost every story read (a third of the flush's WAL) and a page
-- for the checkpoint to write out again. Checked against the total, it
-- finds the row the same statement has just written. Deleting a story still
-- removes both, through its total.

-- Rows written by other means than the flush may lack a total.
insert into article_totals (article_id, views)
select v.article_id, sum(v.views)
from article_views v
where not exists (select 1 from article_totals t where t.article_id = v.article_id)
group by v.article_id;

alter table article_views drop constraint article_views_article_id_fkey;
alter table article_views add constraint article_views_article_id_fkey
    foreign key (article_id) references article_totals (article_id) on delete cascade;
