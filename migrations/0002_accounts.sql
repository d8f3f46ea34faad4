-- Accounts: server-side sessions, login throttling, the audit log, optimistic
-- locking on users and units, and the settings the admin settings page edits.

alter table users add column version integer not null default 1;
alter table units add column version integer not null default 1;

create table sessions (
    -- SHA-256 of the random token in the cookie: a leaked table opens no session.
    token_hash    bytea primary key,
    user_id       uuid not null references users (id) on delete cascade,
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    client_ip     text not null default '',
    user_agent    text not null default ''
);

create index sessions_user on sessions (user_id);
create index sessions_last_seen on sessions (last_seen_at);

-- Failed logins per account ('account:<lowercased username>') and per client
-- address ('address:<ip>'), shared by every instance.
create table login_throttle (
    key              text primary key,
    failures         integer not null default 0,
    last_failure_at  timestamptz not null default now(),
    locked_until     timestamptz
);

create index login_throttle_locked on login_throttle (locked_until) where locked_until is not null;

create table audit_log (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default now(),
    actor_id    uuid references users (id) on delete set null,
    actor_name  text not null default '',
    action      text not null,
    target      text not null default '',
    detail      text not null default '',
    client_ip   text not null default ''
);

create index audit_log_at on audit_log (at desc, id desc);
create index audit_log_action on audit_log (action, at desc, id desc);
create index audit_log_actor on audit_log (actor_id, at desc, id desc);

insert into settings (key, value) values
    ('cookie_secure', 'false'),
    ('session_idle_minutes', '30'),
    ('session_absolute_hours', '12'),
    ('upload_max_mb', '10'),
    ('anonymous_comments', 'true')
on conflict (key) do nothing;
