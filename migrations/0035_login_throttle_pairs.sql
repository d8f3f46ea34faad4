-- Login throttling per (account, client) pair: the account's own row only
-- counts failures (past a threshold the form asks for a captcha) and is
-- never locked, so a stranger cannot keep an account locked. Attempts
-- refused while a key is locked are counted on its row and written to the
-- audit log once, as a sum, instead of one row each.
alter table login_throttle add column refused integer not null default 0;

-- Old account locks would otherwise hold for their quarter of an hour.
update login_throttle set locked_until = null where key like 'account:%' or key like 'reader:%';

create index login_throttle_last_failure on login_throttle (last_failure_at);
