-- Optional e-mail for notifications: addresses of staff, the SMTP relay
-- (off while smtp_host is empty), and which notifications were mailed.
alter table users add column email text not null default ''
    check (email = '' or email ~ '^[^@\s]+@[^@\s]+$');

alter table notifications add column emailed_at timestamptz;

create index notifications_to_mail on notifications (id) where emailed_at is null;

insert into settings (key, value) values
    ('smtp_host', ''),
    ('smtp_port', '25'),
    ('smtp_from', '')
on conflict (key) do nothing;
