-- Possible duplicates are looked up on every new report (follow_up.rs): open,
-- unmerged reports of the same category nearest to the point. Without this
-- index the lookup visited every report of every category around the point,
-- and ingest fell to a fifth of its speed on a busy area.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE INDEX incidents_open_nearby ON incidents USING gist (area_id, category, geom)
    WHERE merged_into IS NULL AND status IN ('nieuw', 'in_behandeling', 'heropend');
