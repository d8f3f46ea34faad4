-- 三员分立: three administrators, each with one duty, in place of the
-- single admin for sites that need it. The system admin runs the site
-- (users, units, channels, settings), the security admin sets its policy
-- (passwords, sessions, two factors, locks, sensitive words), the audit
-- admin reads and exports the audit log. An account has one role, so no
-- one holds two of them.

alter table users drop constraint users_role_check;
alter table users add constraint users_role_check check (role in (
    'admin', 'system_admin', 'security_admin', 'audit_admin',
    'chief_editor', 'editor', 'correspondent'));

-- Off: the single admin of a small site, as before. Turned on from the
-- security policy page once each of the three has an account; turned off
-- only on the server (`newsdesk duties single`).
insert into settings (key, value) values ('separation_of_duties', 'false')
on conflict (key) do nothing;

-- Whoever administers logs in with two factors where the admin does.
update settings
set value = value || ',system_admin,security_admin,audit_admin'
where key = 'two_factor_roles' and 'admin' = any(string_to_array(value, ','));
