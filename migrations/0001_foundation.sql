-- Foundation: site settings, the unit tree, staff users, the channel tree and
-- articles. Later migrations extend these; applied migrations are never edited.

create function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end
$$;

create table settings (
    key         text primary key,
    value       text not null,
    updated_at  timestamptz not null default now()
);

create trigger settings_updated_at before update on settings
    for each row execute function set_updated_at();

insert into settings (key, value) values
    ('site_name', '电网新闻网'),
    ('copyright', '版权所有 © 电网新闻网　未经书面授权，不得转载、摘编或以其他方式使用本网站内容'),
    ('time_zone', 'Asia/Shanghai');

create table units (
    id          uuid primary key default gen_random_uuid(),
    parent_id   uuid references units (id),
    name        text not null check (btrim(name) <> '' and length(name) <= 60),
    sort_order  integer not null default 0,
    active      boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    check (parent_id <> id)
);

-- Sibling units have distinct names; the tree has exactly one root.
create unique index units_sibling_name
    on units (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), name);
create unique index units_single_root on units ((true)) where parent_id is null;
create index units_parent on units (parent_id, sort_order);

create trigger units_updated_at before update on units
    for each row execute function set_updated_at();

create table users (
    id                    uuid primary key default gen_random_uuid(),
    username              text not null check (username ~ '^[A-Za-z0-9_.-]{2,32}$'),
    display_name          text not null check (btrim(display_name) <> '' and length(display_name) <= 40),
    role                  text not null check (role in ('admin', 'chief_editor', 'editor', 'correspondent')),
    unit_id               uuid not null references units (id),
    password_hash         text not null,
    active                boolean not null default true,
    must_change_password  boolean not null default false,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    last_login_at         timestamptz
);

create unique index users_username_ci on users (lower(username));
create index users_unit on users (unit_id);
create index users_role on users (role) where active;

create trigger users_updated_at before update on users
    for each row execute function set_updated_at();

create table channels (
    id             uuid primary key default gen_random_uuid(),
    parent_id      uuid references channels (id),
    name           text not null check (btrim(name) <> '' and length(name) <= 30),
    slug           text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,47}$'),
    sort_order     integer not null default 0,
    -- The role acting on each review stage, in order; passing the last publishes.
    review_stages  text[] not null default array['editor', 'chief_editor']
        check (cardinality(review_stages) between 1 and 3
               and review_stages <@ array['editor', 'chief_editor']),
    active         boolean not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    check (parent_id <> id)
);

create index channels_parent on channels (parent_id, sort_order);

create trigger channels_updated_at before update on channels
    for each row execute function set_updated_at();

create table articles (
    id               uuid primary key default gen_random_uuid(),
    -- The stable, readable number in public URLs (/articles/{number}).
    number           bigint generated always as identity unique,
    channel_id       uuid not null references channels (id),
    unit_id          uuid not null references units (id),
    created_by       uuid not null references users (id),
    title            text not null check (btrim(title) <> '' and length(title) <= 80),
    kicker           text not null default '',
    subtitle         text not null default '',
    summary          text not null default '',
    body_html        text not null default '',
    body_text        text not null default '',
    author_byline    text not null default '',
    correspondents   text not null default '',
    source           text not null default '',
    status           text not null default 'draft'
        check (status in ('draft', 'submitted', 'in_review', 'returned', 'rejected',
                          'approved', 'scheduled', 'published', 'unpublished')),
    published_at     timestamptz,
    version          integer not null default 1,
    is_headline      boolean not null default false,
    is_recommended   boolean not null default false,
    view_count       bigint not null default 0,
    comment_count    integer not null default 0,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    check (status <> 'published' or published_at is not null)
);

create index articles_published on articles (published_at desc, id) where status = 'published';
create index articles_channel_published on articles (channel_id, published_at desc, id)
    where status = 'published';
create index articles_unit on articles (unit_id);
create index articles_created_by on articles (created_by, updated_at desc);

create trigger articles_updated_at before update on articles
    for each row execute function set_updated_at();
