-- Aggregation whose cost does not grow with the number of incidents (ADR 0006).
--
-- Every incident carries its H3 cell at resolution 11 (about 25 m edge),
-- computed by the server at ingest with h3o. Every insert, change and
-- deletion of an incident appends a +1/-1 row to heat_delta in the same
-- transaction (statement-level triggers below). A background compactor folds
-- the deltas into heat_cells at resolutions 7-11, per day and per month.
-- Readers add heat_cells and the (few) deltas not yet folded, so an answer is
-- always exact and includes every committed change.

ALTER TABLE incidents ADD COLUMN cell bigint;
-- When the incident was last resolved (opgelost); cleared when it is reopened.
ALTER TABLE incidents ADD COLUMN resolved_at timestamptz;
UPDATE incidents i SET resolved_at = (
    SELECT max(h.changed_at) FROM incident_status_history h
     WHERE h.area_id = i.area_id AND h.incident_id = i.id AND h.status = 'opgelost')
 WHERE i.status = 'opgelost';

-- The analysis scans an area's incidents in a period; with these columns in
-- the index that is an index-only scan, in order, instead of a heap visit
-- per incident. Keyset paging of the incident list uses the same index.
DROP INDEX incidents_area_time;
CREATE INDEX incidents_area_time ON incidents (area_id, occurred_at DESC, id DESC)
    INCLUDE (category, status, zone_id, resolved_at, cell);

-- The werkgroep's nul-meting (baseline) period, for comparisons.
ALTER TABLE areas ADD COLUMN baseline_from date;
ALTER TABLE areas ADD COLUMN baseline_to date;
ALTER TABLE areas ADD CONSTRAINT areas_baseline_order
    CHECK (baseline_to IS NULL OR baseline_from IS NULL OR baseline_from <= baseline_to);

-- The H3 parent of `cell` at resolution `res` (<= the cell's own): set the
-- resolution field (bits 52-55) and fill the digits below `res` with 7.
CREATE FUNCTION kvo_h3_parent(cell bigint, res integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (cell & ~(15::bigint << 52)) | (res::bigint << 52) | ((1::bigint << (3 * (15 - res))) - 1);

-- The calendar day in the Netherlands, which is what a werkgroep means by "a day".
CREATE FUNCTION kvo_local_day(at timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (at AT TIME ZONE 'Europe/Amsterdam')::date;

CREATE TABLE heat_delta (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_id  uuid NOT NULL,
    cell     bigint NOT NULL,
    day      date NOT NULL,
    category text NOT NULL,
    status   text NOT NULL,
    n        integer NOT NULL
);
CREATE INDEX heat_delta_area ON heat_delta (area_id, seq);

CREATE TABLE heat_cells (
    area_id  uuid NOT NULL,
    res      smallint NOT NULL CHECK (res BETWEEN 7 AND 11),
    -- 'd': bucket is a day; 'm': bucket is the first day of a month.
    grain    "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket   date NOT NULL,
    cell     bigint NOT NULL,
    category text NOT NULL,
    status   text NOT NULL,
    -- Never negative once folded; no CHECK, because PostgreSQL checks the
    -- proposed row of an upsert (a -1) before it resolves the conflict.
    n        integer NOT NULL,
    PRIMARY KEY (area_id, res, grain, bucket, cell, category, status) INCLUDE (n)
);

-- Bumped by the compactor for every area it touches; with the area's pending
-- deltas it versions the area's data (tile cache, ETags).
CREATE TABLE heat_version (
    area_id uuid PRIMARY KEY,
    version bigint NOT NULL
);

-- An incident counts in heatmaps once it has a cell (set at ingest, or by the
-- server's backfill for rows stored before this migration).
CREATE FUNCTION kvo_heat_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, 1
      FROM new_rows WHERE cell IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION kvo_heat_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, -1
      FROM old_rows WHERE cell IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION kvo_heat_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, n)
    SELECT o.area_id, o.cell, kvo_local_day(o.occurred_at), o.category, o.status, -1
      FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
     WHERE o.cell IS NOT NULL
       AND (o.cell, o.occurred_at, o.category, o.status) IS DISTINCT FROM (n.cell, n.occurred_at, n.category, n.status)
    UNION ALL
    SELECT n.area_id, n.cell, kvo_local_day(n.occurred_at), n.category, n.status, 1
      FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
     WHERE n.cell IS NOT NULL
       AND (o.cell, o.occurred_at, o.category, o.status) IS DISTINCT FROM (n.cell, n.occurred_at, n.category, n.status);
    RETURN NULL;
END $$;

CREATE TRIGGER incidents_heat_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_heat_on_insert();
CREATE TRIGGER incidents_heat_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_heat_on_delete();
CREATE TRIGGER incidents_heat_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_heat_on_update();
