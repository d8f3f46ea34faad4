-- Optimistic locking on channel edits.
alter table channels add column version integer not null default 1;
