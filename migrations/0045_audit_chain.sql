-- The audit log as an assessor trusts it: append-only, chained, and kept.
--
-- Every record holds its result and a place in one chain: `seq` counts the
-- records without a gap, and `hash` is SHA-256 over the record's fields and
-- the hash of the record before it, so a record changed, removed or slipped
-- in breaks the chain from there on (`newsdesk audit verify` finds where).
-- Records are never updated and never deleted, except by the retention
-- purge, which may only remove the oldest records, older than 180 days,
-- and leaves the hash of the last one it removed as the chain's anchor.

-- A record outlives its actor's account: the name it was written with stays.
alter table audit_log drop constraint if exists audit_log_actor_id_fkey;

alter table audit_log
    add column result text not null default 'success' check (result in ('success', 'failure')),
    add column seq bigint,
    add column prev_hash bytea,
    add column hash bytea;

update audit_log set result = 'failure'
where action in ('login.failure', 'login.locked', 'login.locked.summary');

-- The head of the chain: its last place and hash, and the anchor left by
-- the purge (the place and hash of the last record it removed).
create table audit_chain (
    singleton      boolean primary key default true check (singleton),
    last_seq       bigint not null default 0,
    last_hash      bytea not null default '\x'::bytea,
    purged_seq     bigint not null default 0,
    purged_hash    bytea not null default '\x'::bytea
);
insert into audit_chain default values;

-- What a record's hash is made of, each field written so that no two
-- records give the same text: text fields as the hex of their UTF-8 bytes.
create function audit_record_text(r audit_log) returns text language sql immutable as $$
    select concat_ws('|',
        r.seq::text,
        (extract(epoch from r.at) * 1000000)::bigint::text,
        coalesce(r.actor_id::text, ''),
        encode(convert_to(r.actor_name, 'UTF8'), 'hex'),
        encode(convert_to(r.action, 'UTF8'), 'hex'),
        encode(convert_to(r.target, 'UTF8'), 'hex'),
        encode(convert_to(r.detail, 'UTF8'), 'hex'),
        encode(convert_to(r.client_ip, 'UTF8'), 'hex'),
        r.result,
        encode(r.prev_hash, 'hex'))
$$;

-- Links a new record into the chain. The head's row lock orders writers:
-- a second one waits until the first commits or rolls back.
create function audit_log_chain() returns trigger language plpgsql as $$
declare
    head audit_chain;
begin
    select * into head from audit_chain for update;
    new.seq := head.last_seq + 1;
    new.prev_hash := head.last_hash;
    new.hash := sha256(convert_to(audit_record_text(new), 'UTF8'));
    update audit_chain set last_seq = new.seq, last_hash = new.hash;
    return new;
end $$;

create trigger audit_log_chain before insert on audit_log
    for each row execute function audit_log_chain();

-- No update ever; a delete only by the purge (which says so for its own
-- transaction) and only of records older than 180 days.
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE'
       and current_setting('newsdesk.audit_purge', true) = 'on'
       and old.at < now() - interval '180 days' then
        return old;
    end if;
    raise exception 'audit records are never changed or removed (%)', tg_op
        using errcode = 'insufficient_privilege';
end $$;

create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();

-- The records there are, chained in the order they were written.
do $$
declare
    r audit_log;
    previous bytea := '\x'::bytea;
    place bigint := 0;
begin
    alter table audit_log disable trigger audit_log_append_only;
    for r in select * from audit_log order by id loop
        place := place + 1;
        r.seq := place;
        r.prev_hash := previous;
        r.hash := sha256(convert_to(audit_record_text(r), 'UTF8'));
        update audit_log set seq = r.seq, prev_hash = r.prev_hash, hash = r.hash
        where id = r.id;
        previous := r.hash;
    end loop;
    update audit_chain set last_seq = place, last_hash = previous;
    alter table audit_log enable trigger audit_log_append_only;
end $$;

alter table audit_log
    alter column seq set not null,
    alter column prev_hash set not null,
    alter column hash set not null;
create unique index audit_log_seq on audit_log (seq);
