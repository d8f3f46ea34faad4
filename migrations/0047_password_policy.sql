-- The password policy a security administrator sets (settings
-- password_min_length, password_classes, password_expiry_days,
-- password_history, dormant_days) needs to know when each password was set,
-- the passwords an account used before, when an account ends, and why an
-- account was disabled.

alter table users
    add column password_changed_at timestamptz not null default now(),
    add column expires_at timestamptz,
    add column disabled_reason text not null default '';

-- Passwords an account had before its current one (hashes only), newest
-- last; only the last few are ever read.
create table password_history (
    id             bigint generated always as identity primary key,
    user_id        uuid not null references users (id) on delete cascade,
    password_hash  text not null,
    replaced_at    timestamptz not null default now()
);
create index password_history_user on password_history (user_id, id desc);
