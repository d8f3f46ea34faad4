-- The changes to what search reads, for the search index each node keeps
-- on disk. A row names a story whose `search_index` row was added, changed
-- or removed, with the transaction that did it. A node applies the rows of
-- the transactions that have all finished (below the snapshot's xmin), so
-- that none is missed however transactions interleave; applying one twice
-- does no harm, as a node re-reads the story's row as it stands.
create table search_feed (
    xid         xid8 not null default pg_current_xact_id(),
    article_id  uuid not null,
    at          timestamptz not null default now()
);
create index search_feed_xid on search_feed (xid);

create function search_feed_note() returns trigger language plpgsql as $$
begin
    insert into search_feed (article_id)
    values (case when tg_op = 'DELETE' then old.article_id else new.article_id end);
    return null;
end $$;

create trigger search_index_fed after insert or update or delete on search_index
    for each row execute function search_feed_note();

-- The feed is trimmed after a week (`search::engine::trim`); an index
-- whose checkpoint is older than the newest transaction trimmed is built
-- again from `search_index`.
create table search_feed_trimmed (
    only_row  boolean primary key default true check (only_row),
    xid       xid8 not null
);
