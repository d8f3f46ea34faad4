-- Full-text search: jieba-segmented words of the title (weight A) and the
-- body (weight B), computed by Newsdesk when a story is saved.
alter table articles add column search_vector tsvector;

create index articles_search on articles using gin (search_vector) where status = 'published';
