-- Posting a comment compiled the whole sensitive-word list again (about
-- 24 ms for 2,000 words, each in three scripts). Instances now keep the
-- compiled list with the trees and settings (migrations 0022 and 0024); a
-- change to the list moves the same version, in the same transaction.
create trigger sensitive_words_structure_version
    after insert or update or delete or truncate on sensitive_words
    for each statement execute function bump_structure_version();
