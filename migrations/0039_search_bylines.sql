-- Search finds stories by the names in their bylines (weight C). Stories
-- saved from now on have each name whole and cut into words; the stored
-- ones get each name whole here, which is what a search for a name adds
-- (search::tsquery).
update articles
set search_vector = search_vector
    || setweight(to_tsvector('simple', author_byline || ' ' || correspondents), 'C')
where search_vector is not null
  and (author_byline <> '' or correspondents <> '');
