-- Special-topic pages (专题): a curated page with its own banner and an
-- ordered set of stories, managed by chief editors.
create table topics (
    id               uuid primary key default gen_random_uuid(),
    slug             text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,47}$'),
    title            text not null check (btrim(title) <> '' and length(title) <= 40),
    description      text not null default '' check (length(description) <= 300),
    banner_media_id  uuid references media (id),
    active           boolean not null default true,
    created_at       timestamptz not null default now()
);

create table topic_articles (
    topic_id    uuid not null references topics (id) on delete cascade,
    article_id  uuid not null references articles (id) on delete cascade,
    position    integer not null,
    primary key (topic_id, article_id)
);

create index topic_articles_order on topic_articles (topic_id, position);
