-- Yearly contribution targets (年度任务): stories to be published in a year,
-- set per unit (its whole subtree counts) or per correspondent.
create table quotas (
    id          bigint generated always as identity primary key,
    year        smallint not null check (year between 2000 and 2999),
    unit_id     uuid references units (id) on delete cascade,
    user_id     uuid references users (id) on delete cascade,
    target      integer not null check (target between 1 and 100000),
    updated_by  uuid references users (id),
    updated_at  timestamptz not null default now(),
    check (num_nonnulls(unit_id, user_id) = 1)
);

create unique index quotas_unit on quotas (year, unit_id) where unit_id is not null;
create unique index quotas_user on quotas (year, user_id) where user_id is not null;
