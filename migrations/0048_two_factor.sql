-- Two-factor login for staff (RFC 6238 TOTP), with one-time recovery codes.
--
-- An account's secret is set once its owner has proved a code from it; the
-- last time step accepted is kept, so that a code is never taken twice. A
-- login that has passed the password but not yet the second factor is a
-- pending session, which opens no page. A secret being enrolled is kept on
-- the session that asked for it until the owner proves it.

alter table users
    add column totp_secret bytea,
    add column totp_enabled_at timestamptz,
    add column totp_last_step bigint not null default 0;

alter table sessions
    add column second_factor_pending boolean not null default false,
    add column second_factor_failures integer not null default 0,
    add column totp_enrolment bytea;

create table recovery_codes (
    user_id     uuid not null references users (id) on delete cascade,
    code_hash   bytea not null,
    used_at     timestamptz,
    primary key (user_id, code_hash)
);

-- The roles that must log in with two factors: admins and chief editors, as
-- a level 3 assessment expects of whoever administers or publishes.
insert into settings (key, value) values ('two_factor_roles', 'admin,chief_editor')
on conflict (key) do nothing;
