-- When a reader accepted the user agreement and privacy notice at
-- registration (个人信息保护法 art. 14: consent is given, and shown to
-- have been given); readers registered before the terms have none.
alter table readers add column agreed_at timestamptz;
