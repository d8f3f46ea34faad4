-- Every move of a story marks what its people were told of it read
-- (notifications::story_moved): found by the story among the unread, not
-- by reading every notification.
create index notifications_unread_article on notifications (article_id) where read_at is null;
