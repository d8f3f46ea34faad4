-- Uploaded photos: the files live in the media folder (named by id), the
-- facts about them here.
create table media (
    id             uuid primary key default gen_random_uuid(),
    uploaded_by    uuid not null references users (id),
    unit_id        uuid not null references units (id),
    caption        text not null default '' check (length(caption) <= 200),
    alt            text not null default '' check (length(alt) <= 200),
    -- The sniffed type of what was uploaded.
    mime           text not null check (mime in ('image/jpeg', 'image/png', 'image/gif', 'image/webp')),
    -- Extension of the stored original, and of the display size and thumbnail.
    original_ext   text not null check (original_ext in ('jpg', 'png', 'gif')),
    derived_ext    text not null check (derived_ext in ('jpg', 'png')),
    original_name  text not null default '',
    width          integer not null check (width > 0),
    height         integer not null check (height > 0),
    bytes          integer not null check (bytes > 0),
    created_at     timestamptz not null default now()
);

create index media_recent on media (created_at desc, id desc);
create index media_uploader on media (uploaded_by, created_at desc);
create index media_unit on media (unit_id, created_at desc);

alter table articles
    add constraint articles_cover_media_fk foreign key (cover_media_id) references media (id);

alter table article_revisions add column cover_media_id uuid references media (id);
