-- The unit and channel trees change a few times a day, yet the review queue
-- needs both on every request (its pickers, the reviewer's units, the
-- stages each channel's review holds). Instances keep the trees in memory
-- with the version they were read at; this version moves with every change
-- to either table, in the same transaction, so that a request that reads it
-- knows at once whether its instance's copy is still current.
create table structure_version (
    only_row  boolean primary key default true check (only_row),
    version   bigint not null default 0
);

insert into structure_version default values;

create function bump_structure_version() returns trigger
language plpgsql as $$
begin
    update structure_version set version = version + 1;
    return null;
end
$$;

create trigger units_structure_version
    after insert or update or delete or truncate on units
    for each statement execute function bump_structure_version();
create trigger channels_structure_version
    after insert or update or delete or truncate on channels
    for each statement execute function bump_structure_version();
