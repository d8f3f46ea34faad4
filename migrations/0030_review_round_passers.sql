-- Who has passed a story in its current round of review (since it was last
-- submitted), kept on the story. One person may not decide on two stages of
-- the same round (三审 separation); the review queue leaves out the stories
-- a reviewer has already passed. Read from the review events, that took two
-- index searches per waiting story, most of the queue's cost. The workflow
-- keeps the array as it records each step (`workflow::db::apply`); it is
-- empty whenever the story is not waiting for review.
alter table articles add column passed_by uuid[] not null default '{}';

-- The same, from the review events: for stories written by other means
-- (the demo, the generator) and for those waiting now.
create function review_round_passers(story uuid) returns uuid[]
language sql stable as $$
    select coalesce(array_agg(e.actor_id order by e.id), '{}')
    from review_events e
    where e.article_id = story and e.action = 'pass' and e.actor_id is not null
      and e.id > coalesce((select max(s.id) from review_events s
                           where s.article_id = story and s.action = 'submit'), 0)
$$;

update articles set passed_by = review_round_passers(id)
where status in ('submitted', 'in_review');
