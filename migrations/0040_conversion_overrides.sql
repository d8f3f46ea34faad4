-- The site's own 简 → 繁 conversions (names and company terms the
-- library's dictionaries convert wrongly), applied before the library on
-- pages, feeds and searches. A change moves the structure version (every
-- instance reads the list again) and drops the rendered pages.
create table conversion_overrides (
    simplified   text primary key check (btrim(simplified) = simplified and simplified <> ''
                                         and length(simplified) <= 40),
    traditional  text not null check (btrim(traditional) = traditional and traditional <> ''
                                      and length(traditional) <= 40),
    created_at   timestamptz not null default now(),
    created_by   uuid references users (id) on delete set null
);


create trigger conversion_overrides_structure_version
    after insert or update or delete or truncate on conversion_overrides
    for each statement execute function bump_structure_version();
create trigger conversion_overrides_announce
    after insert or update or delete on conversion_overrides
    for each statement execute function announce_public_change();
