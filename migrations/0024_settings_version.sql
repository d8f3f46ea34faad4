-- Public pages take the site's settings (its name, copyright notice, time
-- zone) from the copy each instance keeps with the unit and channel trees
-- (migration 0022), instead of reading them on every request. A change to
-- the settings moves the same version, in the same transaction, so every
-- instance reads them again on its next request.
create trigger settings_structure_version
    after insert or update or delete or truncate on settings
    for each statement execute function bump_structure_version();
