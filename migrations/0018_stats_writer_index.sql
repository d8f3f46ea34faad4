-- A correspondent's own figures on their dashboard read their daily rows.
create index stats_days_writer on stats_days (writer_id, day);
