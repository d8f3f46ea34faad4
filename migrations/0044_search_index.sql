-- What search reads: one narrow row per published story, kept from
-- `articles` by a trigger. A search puts its matches in date order and
-- ranks them by title and summary; read from `articles`, every match was a
-- read of a wide row (the story's bodies inline), and at a million stories
-- those rows no longer stay in memory. Here a row is the keys, the title
-- and the summary, with the search vector pushed out of line
-- (toast_tuple_target): about 400 bytes, so the table stays in memory and
-- only the stories a page shows are read from `articles`.
create table search_index (
    article_id     uuid primary key references articles (id) on delete cascade,
    published_at   timestamptz not null,
    number         bigint not null,
    channel_id     uuid not null,
    unit_id        uuid not null,
    title          text not null,
    summary        text not null,
    search_vector  tsvector not null
) with (toast_tuple_target = 128);

create function search_index_keep() returns trigger language plpgsql as $$
begin
    if new.status = 'published' and new.search_vector is not null
       and new.published_at is not null then
        insert into search_index (article_id, published_at, number, channel_id, unit_id,
                                  title, summary, search_vector)
        values (new.id, new.published_at, new.number, new.channel_id, new.unit_id,
                new.title, new.summary, new.search_vector)
        on conflict (article_id) do update
            set published_at = excluded.published_at, number = excluded.number,
                channel_id = excluded.channel_id, unit_id = excluded.unit_id,
                title = excluded.title, summary = excluded.summary,
                search_vector = excluded.search_vector;
    elsif tg_op = 'UPDATE' then
        delete from search_index where article_id = new.id;
    end if;
    return null;
end $$;

create trigger articles_search_index_added after insert on articles
    for each row execute function search_index_keep();
create trigger articles_search_index_changed after update on articles
    for each row
    when (old.status is distinct from new.status
          or old.published_at is distinct from new.published_at
          or old.number is distinct from new.number
          or old.channel_id is distinct from new.channel_id
          or old.unit_id is distinct from new.unit_id
          or old.title is distinct from new.title
          or old.summary is distinct from new.summary
          or old.search_vector is distinct from new.search_vector)
    execute function search_index_keep();

insert into search_index (article_id, published_at, number, channel_id, unit_id, title,
                          summary, search_vector)
select id, published_at, number, channel_id, unit_id, title, summary, search_vector
from articles
where status = 'published' and search_vector is not null and published_at is not null;

create index search_index_words on search_index using gin (search_vector);
create index search_index_newest on search_index (published_at desc, number desc);
analyze search_index;
