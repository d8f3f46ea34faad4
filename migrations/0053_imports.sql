-- Imports from other systems (WordPress, DedeCMS, PHPCMS): what each
-- imported thing became here, so that a second run changes nothing and an
-- interrupted one resumes; and the old sites' addresses, answered with a
-- permanent redirect to the new ones.

create table import_map (
    -- The system and site imported from (`wordpress https://old.example.com`).
    source       text not null,
    kind         text not null check (kind in ('channel', 'story', 'comment', 'media')),
    external_id  text not null,
    local_id     uuid not null,
    imported_at  timestamptz not null default now(),
    primary key (source, kind, external_id)
);

-- An old address: its path, and its query with the parameters in order
-- (`/plus/view.php?aid=12`), as `articles::legacy::key` writes it.
create table legacy_redirects (
    from_key    text primary key check (from_key like '/%' and length(from_key) <= 2000),
    to_path     text not null check (to_path like '/%'),
    source      text not null,
    created_at  timestamptz not null default now()
);

-- Imports queue no webhooks (the importer sets newsdesk.importing).
create or replace function webhook_enqueue(kind text, story articles, comment jsonb) returns void
language plpgsql as $$
declare
    base text := coalesce((select rtrim(value, '/') from settings where key = 'site_url'), '');
    event_id bigint;
    payload jsonb;
begin
    -- An import's stories and comments are the old site's past, not news.
    if current_setting('newsdesk.importing', true) = 'on' then
        return;
    end if;
    if not exists (select 1 from webhook_receivers where active and kind = any(events)) then
        return;
    end if;
    payload := jsonb_build_object(
        'event', kind,
        'occurred_at', now(),
        'story', jsonb_build_object(
            'number', story.number,
            'title', story.title,
            'channel', (select slug from channels where id = story.channel_id),
            'published_at', story.published_at,
            'corrected_at', story.corrected_at,
            'url', base || '/articles/' || story.number,
            'api_url', base || '/api/v1/stories/' || story.number
        )
    );
    if comment is not null then
        payload := payload || jsonb_build_object('comment', comment);
    end if;
    insert into webhook_events (kind, article_id, payload)
    values (kind, story.id, payload)
    returning id into event_id;
    insert into webhook_deliveries (event_id, receiver_id)
    select event_id, r.id from webhook_receivers r where r.active and kind = any(r.events);
    perform pg_notify('newsdesk_webhooks', '');
end $$;
