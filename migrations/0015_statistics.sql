-- Statistics read a period's review events and approved comments by time.
create index review_events_at on review_events (at);
create index comments_approved_at on comments (created_at) where status = 'approved';
