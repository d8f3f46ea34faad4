-- Proofreading (校对): the site's lists of common mistakes (易错词), names
-- and titles that must be exact (领导姓名及职务、单位名称) and forbidden or
-- outdated expressions (规范表述). Each row is a form to flag and what to
-- write instead; a row may flag its form only before certain words
-- (`followed_by`: prefixes separated by 、, `#` for a number), as 截止 is
-- wrong before a date and right after one. For a leader (`kind` =
-- 'leader') `term` is the name and `suggestion` the titles (separated by
-- 、): a different title written next to the name is flagged.
-- A change moves the structure version, so every instance compiles the
-- lists again once.
create table proof_terms (
    id           bigserial primary key,
    kind         text not null check (kind in ('typo', 'name', 'leader', 'expression')),
    term         text not null check (btrim(term) = term and term <> '' and length(term) <= 40),
    suggestion   text not null check (btrim(suggestion) = suggestion and length(suggestion) <= 80),
    followed_by  text not null default '' check (length(followed_by) <= 200),
    note         text not null default '' check (length(note) <= 200),
    created_at   timestamptz not null default now(),
    created_by   uuid references users (id) on delete set null,
    unique (term, followed_by)
);

create trigger proof_terms_structure_version
    after insert or update or delete or truncate on proof_terms
    for each statement execute function bump_structure_version();

-- "已核对": a reviewer has read the suspected errors of one version of a
-- story and passes it as it is. An edit makes a new version, which is
-- checked again.
create table proof_checks (
    article_id   uuid not null references articles (id) on delete cascade,
    version      integer not null,
    hits         integer not null check (hits >= 0),
    checked_by   uuid references users (id) on delete set null,
    checker_name text not null,
    checked_at   timestamptz not null default now(),
    primary key (article_id, version)
);
