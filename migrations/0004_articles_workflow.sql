-- Articles in the newsroom: review stages, tags, credited authors, every
-- saved revision and every workflow step on record.

alter table articles
    add column review_stage smallint not null default 0,
    add column responsible_editors text not null default '',
    add column cover_media_id uuid,
    -- A scheduled time passed while no instance was running; chief editors see a flag.
    add column schedule_missed boolean not null default false;

create index articles_review_queue on articles (status, updated_at desc)
    where status in ('submitted', 'in_review');
create index articles_scheduled on articles (published_at) where status = 'scheduled';

create table tags (
    id    uuid primary key default gen_random_uuid(),
    name  text not null unique check (btrim(name) <> '' and length(name) <= 20)
);

create table article_tags (
    article_id  uuid not null references articles (id) on delete cascade,
    tag_id      uuid not null references tags (id),
    position    smallint not null,
    primary key (article_id, tag_id)
);

create index article_tags_tag on article_tags (tag_id);

-- The people credited in bylines: staff (user_id set) or outside contributors.
create table authors (
    id          uuid primary key default gen_random_uuid(),
    name        text not null check (btrim(name) <> '' and length(name) <= 40),
    unit_id     uuid references units (id),
    user_id     uuid unique references users (id),
    created_at  timestamptz not null default now()
);

create index authors_name on authors (name);

create table article_authors (
    article_id  uuid not null references articles (id) on delete cascade,
    position    smallint not null,
    author_id   uuid not null references authors (id),
    -- The designation in the byline: 本报记者, 记者, 通讯员, 摄影 …
    role        text not null,
    primary key (article_id, position)
);

create index article_authors_author on article_authors (author_id);

create table article_revisions (
    id              uuid primary key default gen_random_uuid(),
    article_id      uuid not null references articles (id) on delete cascade,
    version         integer not null,
    saved_by        uuid references users (id),
    saved_at        timestamptz not null default now(),
    channel_id      uuid not null references channels (id),
    unit_id         uuid not null references units (id),
    title           text not null,
    kicker          text not null,
    subtitle        text not null,
    summary         text not null,
    body_html       text not null,
    author_byline   text not null,
    correspondents  text not null,
    source          text not null,
    tags            text not null,
    unique (article_id, version)
);

create table review_events (
    id           bigint generated always as identity primary key,
    article_id   uuid not null references articles (id) on delete cascade,
    -- Null for the scheduler.
    actor_id     uuid references users (id),
    actor_name   text not null,
    action       text not null,
    from_status  text not null,
    to_status    text not null,
    stage        smallint,
    note         text not null default '',
    at           timestamptz not null default now()
);

create index review_events_article on review_events (article_id, id);
