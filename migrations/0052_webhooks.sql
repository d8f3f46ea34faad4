-- Webhooks: admins register receivers (a URL, the events it wants, a
-- secret that signs each delivery); every event a receiver wants is queued
-- here in the transaction that made it, by triggers, whoever made it (a
-- review, the scheduler, a correction, a moderator), and delivered by the
-- nodes' background workers with retries.

create table webhook_receivers (
    id          uuid primary key default gen_random_uuid(),
    url         text not null check (url ~ '^https?://[^\s/?#]+' and length(url) <= 500),
    description text not null default '' check (length(description) <= 100),
    -- The HMAC-SHA256 key of the signatures (sent nowhere but to admins).
    secret      text not null check (length(secret) >= 32),
    events      text[] not null check (
        cardinality(events) > 0
        and events <@ array['published', 'updated', 'corrected', 'unpublished', 'comment_approved']
    ),
    active      boolean not null default true,
    created_by  uuid references users (id) on delete set null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    version     integer not null default 1
);

create trigger webhook_receivers_updated_at before update on webhook_receivers
    for each row execute function set_updated_at();

-- What happened, with the body every receiver is sent (fixed when it
-- happened, so that a retry sends the same bytes).
create table webhook_events (
    id          bigint generated always as identity primary key,
    kind        text not null,
    article_id  uuid,
    payload     jsonb not null,
    created_at  timestamptz not null default now()
);

-- One delivery per event and receiver: the unique key is what makes a
-- delivery happen once, whichever node sends it.
create table webhook_deliveries (
    id              bigint generated always as identity primary key,
    event_id        bigint not null references webhook_events (id) on delete cascade,
    receiver_id     uuid not null references webhook_receivers (id) on delete cascade,
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_attempt_at timestamptz,
    -- The receiver's HTTP status, or null when it could not be reached.
    last_status     integer,
    last_error      text not null default '',
    delivered_at    timestamptz,
    -- Given up on after the last attempt.
    failed_at       timestamptz,
    unique (event_id, receiver_id)
);

create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where delivered_at is null and failed_at is null;
create index webhook_deliveries_receiver on webhook_deliveries (receiver_id, id desc);

-- Queues `kind` for every active receiver that wants it, with the story's
-- facts as they are now; nothing at all when no receiver wants it.
create function webhook_enqueue(kind text, story articles, comment jsonb) returns void
language plpgsql as $$
declare
    base text := coalesce((select rtrim(value, '/') from settings where key = 'site_url'), '');
    event_id bigint;
    payload jsonb;
begin
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

-- A story's public life: first published, corrected (a 更正 passed),
-- updated otherwise while public (title, body, channel…), unpublished.
create function webhook_article_changed() returns trigger
language plpgsql as $$
begin
    if new.status = 'published' and (tg_op = 'INSERT' or old.status <> 'published') then
        perform webhook_enqueue('published', new, null);
    elsif tg_op = 'UPDATE' and old.status = 'published' and new.status <> 'published' then
        perform webhook_enqueue('unpublished', new, null);
    elsif tg_op = 'UPDATE' and new.status = 'published' then
        if new.corrected_at is distinct from old.corrected_at then
            perform webhook_enqueue('corrected', new, null);
        elsif (new.title, new.kicker, new.subtitle, new.summary, new.body_html, new.source,
               new.channel_id, new.unit_id, new.cover_media_id, new.published_at)
              is distinct from
              (old.title, old.kicker, old.subtitle, old.summary, old.body_html, old.source,
               old.channel_id, old.unit_id, old.cover_media_id, old.published_at) then
            perform webhook_enqueue('updated', new, null);
        end if;
    end if;
    return null;
end $$;

create trigger articles_webhooks after insert or update on articles
    for each row execute function webhook_article_changed();

create function webhook_comment_changed() returns trigger
language plpgsql as $$
declare
    story articles;
begin
    if new.status = 'approved' and (tg_op = 'INSERT' or old.status <> 'approved') then
        select * into story from articles where id = new.article_id;
        if story.status = 'published' then
            perform webhook_enqueue('comment_approved', story, jsonb_build_object(
                'id', new.id,
                'parent_id', new.parent_id,
                'author_name', new.author_name,
                'body', new.body,
                'created_at', new.created_at
            ));
        end if;
    end if;
    return null;
end $$;

create trigger comments_webhooks after insert or update of status on comments
    for each row execute function webhook_comment_changed();
