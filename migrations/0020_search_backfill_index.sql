-- At start-up, stories without a search vector are indexed; finding them
-- must not read the whole table.
create index if not exists articles_unindexed on articles (id) where search_vector is null;
