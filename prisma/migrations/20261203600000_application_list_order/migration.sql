-- The admin API lists applications newest first (or oldest first) a page at a time: an index in
-- that order lets a page read its rows instead of sorting the whole table for each request.
CREATE INDEX "applications_created_at_id_idx" ON "applications"("created_at", "id");
