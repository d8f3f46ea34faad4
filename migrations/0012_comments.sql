-- Reader comments: reader accounts (role reader, kept apart from staff
-- accounts and sessions), comments with one level of replies, reports,
-- the sensitive-word list, used captchas, and per-channel moderation.

create table readers (
    id             uuid primary key default gen_random_uuid(),
    username       text not null check (username ~ '^[A-Za-z0-9_.-]{2,32}$'),
    password_hash  text not null,
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    -- Keyed hash of the address the account was registered from.
    client_hash    bytea not null
);

create unique index readers_username_ci on readers (lower(username));

create table reader_sessions (
    token_hash    bytea primary key,
    reader_id     uuid not null references readers (id) on delete cascade,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now()
);

create index reader_sessions_reader on reader_sessions (reader_id);
create index reader_sessions_last_seen on reader_sessions (last_seen_at);

-- Pre-moderation (pending until approved) or post-moderation (shown at
-- once, removed when rejected), per channel.
alter table channels add column comment_moderation text not null default 'pre'
    check (comment_moderation in ('pre', 'post'));

create table comments (
    id            uuid primary key default gen_random_uuid(),
    article_id    uuid not null references articles (id) on delete cascade,
    -- Replies answer a top-level comment; there is one level.
    parent_id     uuid references comments (id) on delete cascade,
    reader_id     uuid references readers (id) on delete set null,
    -- The name shown: the reader's, or 匿名网友.
    author_name   text not null check (btrim(author_name) <> '' and length(author_name) <= 40),
    anonymous     boolean not null,
    body          text not null check (length(body) between 1 and 1000),
    status        text not null default 'pending'
        check (status in ('pending', 'approved', 'rejected', 'spam', 'deleted')),
    -- The sensitive words that held the comment for review.
    held_for      text not null default '',
    pinned        boolean not null default false,
    report_count  integer not null default 0,
    -- A keyed hash of the client address; the address is never stored.
    client_hash   bytea not null,
    -- For duplicate detection: a hash of the whitespace-normalised body.
    body_hash     bytea not null,
    created_at    timestamptz not null default now(),
    moderated_at  timestamptz,
    moderated_by  uuid references users (id),
    check (status <> 'approved' or held_for = '' or moderated_by is not null)
);

create index comments_article on comments (article_id, pinned desc, created_at desc)
    where status = 'approved' and parent_id is null;
create index comments_replies on comments (parent_id, created_at) where status = 'approved';
create index comments_queue on comments (status, created_at desc);
create index comments_reported on comments (report_count desc, created_at desc) where report_count > 0;
create index comments_client on comments (client_hash, created_at desc);
create index comments_reader on comments (reader_id, created_at desc);
create index comments_article_all on comments (article_id, created_at desc);

create table comment_reports (
    comment_id   uuid not null references comments (id) on delete cascade,
    client_hash  bytea not null,
    created_at   timestamptz not null default now(),
    primary key (comment_id, client_hash)
);

create table sensitive_words (
    word        text primary key check (btrim(word) <> '' and length(word) <= 40),
    created_at  timestamptz not null default now(),
    created_by  uuid references users (id)
);

-- A captcha is answered once: its nonce is kept until it expires.
create table captcha_uses (
    nonce       text primary key,
    expires_at  timestamptz not null
);

create index captcha_uses_expiry on captcha_uses (expires_at);

-- The approved-comment count of each story, kept by the database itself.
create function count_comments() returns trigger
language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.status = 'approved' then
        update articles set comment_count = comment_count - 1 where id = old.article_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.status = 'approved' then
        update articles set comment_count = comment_count + 1 where id = new.article_id;
    end if;
    return null;
end
$$;

create trigger comments_count after insert or delete or update of status on comments
    for each row execute function count_comments();

-- Approved comments change public pages (the count change announces it
-- through the articles trigger); pins and edits of shown comments too.
create trigger comments_announce after update of pinned on comments
    for each statement execute function announce_public_change();
