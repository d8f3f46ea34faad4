-- Notifications inside the backend: who is told what, and whether they have read it.
create table notifications (
    id          bigint generated always as identity primary key,
    user_id     uuid not null references users (id) on delete cascade,
    article_id  uuid references articles (id) on delete cascade,
    message     text not null,
    note        text not null default '',
    link        text not null,
    created_at  timestamptz not null default now(),
    read_at     timestamptz
);

create index notifications_unread on notifications (user_id, id desc) where read_at is null;
create index notifications_user on notifications (user_id, id desc);
