-- Every article page reads its story's body; search reads the plain text
-- and the search vector. Stored out of line (TOAST), the body's chunks sat
-- among the other two columns' chunks, so a page read the TOAST index and
-- a page of mostly other data, and at a million stories the bodies were
-- spread over 13 GB that the memory could not hold. Kept in the row,
-- compressed, the body is read with the row itself; it still moves out of
-- line when a row would not fit in a page. Rows take this as they are
-- written: new stories and every edit.
alter table articles alter column body_html set storage main;
