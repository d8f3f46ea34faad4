-- Corrections (更正) of published stories: the proposed text waits here and
-- passes the channel's review stages while the live text stays online.
create table corrections (
    id              uuid primary key default gen_random_uuid(),
    article_id      uuid not null references articles (id) on delete cascade,
    status          text not null default 'in_review'
        check (status in ('in_review', 'applied', 'rejected')),
    stage           smallint not null default 0,
    proposed_by     uuid not null references users (id),
    -- The article as proposed, field by field as the form sends it.
    title           text not null,
    kicker          text not null,
    subtitle        text not null,
    summary         text not null,
    body_html       text not null,
    channel_id      uuid not null references channels (id),
    unit_id         uuid not null references units (id),
    author_byline   text not null,
    correspondents  text not null,
    source          text not null,
    tags            text not null,
    cover_media_id  uuid references media (id),
    -- The public correction note shown on the article page once applied.
    public_note     text not null default '',
    created_at      timestamptz not null default now(),
    decided_at      timestamptz
);

-- One correction under review per story at a time.
create unique index corrections_open on corrections (article_id) where status = 'in_review';

alter table articles
    add column correction_note text not null default '',
    add column corrected_at timestamptz;
