-- An old address leads to a page of this site only: a path, never a
-- protocol-relative `//host/…`, which a browser would follow off the site.
alter table legacy_redirects drop constraint legacy_redirects_to_path_check;
alter table legacy_redirects add constraint legacy_redirects_to_path_check
    check (to_path ~ '^/([^/\\]|$)');
