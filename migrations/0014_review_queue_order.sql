-- The review queue lists waiting stories oldest-changed first; read in that
-- order it stops after a page instead of sorting every waiting story.
create index articles_waiting on articles (updated_at) where status in ('submitted', 'in_review');
