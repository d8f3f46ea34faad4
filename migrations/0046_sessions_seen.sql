-- Sessions a staff member can see and end, and the login before this one.
--
-- Each session gets a number of its own, so that the sessions page can name
-- one without showing its token's hash. Each login remembers the time and
-- address of the one before it, which the backend's first page shows: a
-- login the staff member does not recognise is then noticed.

alter table sessions add column id bigint generated always as identity;
create unique index sessions_id on sessions (id);

alter table users
    add column last_login_ip text not null default '',
    add column previous_login_at timestamptz,
    add column previous_login_ip text not null default '';
