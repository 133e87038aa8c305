-- The start-up backfill of H3 cells (`rollup::backfill_cells`) looks for
-- incidents without one. Both insert paths set the cell, so this partial
-- index is empty in practice and the look a probe, instead of a scan of every
-- incident at every start (5.2 s at 10M incidents).
CREATE INDEX incidents_without_cell ON incidents (area_id) WHERE cell IS NULL;
