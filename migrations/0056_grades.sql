-- Grades (稿件评级): the site's list of grades a chief editor gives a story
-- at its last review stage, in order (fees and points follow the grade).
-- A grade in use is deactivated, never deleted, so past stories keep it.
create table grades (
    id          serial primary key,
    name        text not null unique check (btrim(name) = name and name <> '' and length(name) <= 20),
    position    integer not null default 0,
    active      boolean not null default true,
    created_at  timestamptz not null default now()
);

insert into grades (name, position) values ('好稿', 1), ('一类稿', 2), ('二类稿', 3), ('三类稿', 4);

-- The grade a story went out with, and who gave it.
create table article_grades (
    article_id  uuid primary key references articles (id) on delete cascade,
    grade_id    integer not null references grades (id),
    graded_by   uuid references users (id) on delete set null,
    grader_name text not null,
    graded_at   timestamptz not null default now()
);
create index article_grades_grade on article_grades (grade_id);
