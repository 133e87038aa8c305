-- The rollup keeps its counts per (category, status) in one row (ADR 0006).
--
-- 0004 kept a row per (area, resolution, grain, bucket, cell, category,
-- status): at 10M incidents that was 72M rows (14 GB), and a long period at a
-- coarse resolution read tens of thousands of them. Here a row per (area,
-- resolution, grain, bucket, cell) holds two parallel arrays: `ks`, the
-- numbers of its (category, status) pairs in `rollup_keys`, ascending, and
-- `ns`, their counts. Filters on category and status are applied when the
-- arrays are read.
--
-- The analysis gets the same treatment (`margin_counts`): per zone, per hour
-- of the week, per time-to-resolution class, and in total, so it no longer
-- scans an area's incidents either.

-- Numbers for (category, status) pairs. Only the compactor and the rebuild
-- add to it (under the compactor's advisory lock); a number never changes
-- meaning, so a reader may map numbers it has read with a list read later.
CREATE TABLE rollup_keys (
    idx      smallint PRIMARY KEY CHECK (idx > 0),
    category text NOT NULL,
    status   text NOT NULL,
    UNIQUE (category, status)
);

-- A small number per zone, to key the zone margins.
ALTER TABLE zones ADD COLUMN num integer;
UPDATE zones z SET num = s.num
  FROM (SELECT area_id, id, row_number() OVER (PARTITION BY area_id ORDER BY name) AS num FROM zones) s
 WHERE z.area_id = s.area_id AND z.id = s.id;
ALTER TABLE zones ALTER COLUMN num SET NOT NULL;
ALTER TABLE zones ADD CONSTRAINT zones_num UNIQUE (area_id, num);
ALTER TABLE zones ADD CONSTRAINT zones_num_positive CHECK (num > 0);

-- The hour of the week in the Netherlands: Monday 00:00-00:59 is 0, Sunday 23:00-23:59 is 167.
CREATE FUNCTION kvo_week_hour(at timestamptz) RETURNS smallint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((extract(isodow FROM at AT TIME ZONE 'Europe/Amsterdam') - 1) * 24
            + extract(hour FROM at AT TIME ZONE 'Europe/Amsterdam'))::smallint;

-- The class of a time to resolution: class c holds [2^(c/16), 2^((c+1)/16))
-- minutes (each about 4.4 % wide), class 0 everything under a minute.
CREATE FUNCTION kvo_resolution_class(occurred timestamptz, resolved timestamptz) RETURNS smallint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN floor(16 * log(2, greatest(extract(epoch FROM resolved - occurred) / 60, 1)::numeric))::smallint;

-- Adds two sparse count vectors (keys ascending); drops keys whose sum is 0.
CREATE FUNCTION kvo_merge(ka smallint[], na integer[], kb smallint[], nb integer[],
                          OUT ks smallint[], OUT ns integer[])
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(array_agg(k ORDER BY k), '{}'), coalesce(array_agg(n ORDER BY k), '{}')
      FROM (SELECT k, sum(n)::int4 AS n
              FROM (SELECT * FROM unnest(ka, na) UNION ALL SELECT * FROM unnest(kb, nb)) u(k, n)
             GROUP BY k HAVING sum(n) <> 0) s
    $$;

DROP TABLE heat_cells;

CREATE TABLE heat_counts (
    area_id uuid NOT NULL,
    res     smallint NOT NULL CHECK (res BETWEEN 7 AND 11),
    -- 'd': bucket is a day; 'm': bucket is the first day of a month.
    grain   "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket  date NOT NULL,
    cell    bigint NOT NULL,
    ks      smallint[] NOT NULL,
    ns      integer[] NOT NULL,
    PRIMARY KEY (area_id, res, grain, bucket, cell)
);
-- Rows whose counts all went back to zero, for the compactor to delete.
CREATE INDEX heat_counts_empty ON heat_counts (area_id) WHERE cardinality(ks) = 0;

CREATE TABLE margin_counts (
    area_id uuid NOT NULL,
    -- 't': total (key 0); 'z': zone (key zones.num, 0 outside every zone);
    -- 'w': hour of the week (kvo_week_hour); 'r': time to resolution
    -- (kvo_resolution_class; resolved incidents only).
    kind    "char" NOT NULL CHECK (kind IN ('t', 'z', 'w', 'r')),
    grain   "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket  date NOT NULL,
    key     integer NOT NULL,
    ks      smallint[] NOT NULL,
    ns      integer[] NOT NULL,
    PRIMARY KEY (area_id, kind, grain, bucket, key)
);
CREATE INDEX margin_counts_empty ON margin_counts (area_id) WHERE cardinality(ks) = 0;

-- The deltas carry what the margins need.
ALTER TABLE heat_delta ADD COLUMN zone_id uuid;
ALTER TABLE heat_delta ADD COLUMN week_hour smallint;
ALTER TABLE heat_delta ADD COLUMN resolution_class smallint;
ALTER TABLE heat_delta ALTER COLUMN week_hour SET DEFAULT 0;
UPDATE heat_delta SET week_hour = 0;
ALTER TABLE heat_delta ALTER COLUMN week_hour SET NOT NULL;
ALTER TABLE heat_delta ALTER COLUMN week_hour DROP DEFAULT;
-- Everything is folded again from the incidents themselves (the compactor
-- works through it in batches; readers include pending deltas meanwhile).
TRUNCATE heat_delta;
INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
SELECT area_id, cell, kvo_local_day(occurred_at), category, status, zone_id, kvo_week_hour(occurred_at),
       CASE WHEN status = 'opgelost' THEN kvo_resolution_class(occurred_at, resolved_at) END, 1
  FROM incidents WHERE cell IS NOT NULL;

CREATE OR REPLACE FUNCTION kvo_heat_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, zone_id, kvo_week_hour(occurred_at),
           CASE WHEN status = 'opgelost' THEN kvo_resolution_class(occurred_at, resolved_at) END, 1
      FROM new_rows WHERE cell IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, zone_id, kvo_week_hour(occurred_at),
           CASE WHEN status = 'opgelost' THEN kvo_resolution_class(occurred_at, resolved_at) END, -1
      FROM old_rows WHERE cell IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT o.area_id, o.cell AS o_cell, o.occurred_at AS o_at, o.category AS o_category,
               o.status AS o_status, o.zone_id AS o_zone, o.resolved_at AS o_resolved,
               n.cell AS n_cell, n.occurred_at AS n_at, n.category AS n_category,
               n.status AS n_status, n.zone_id AS n_zone, n.resolved_at AS n_resolved
          FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
         WHERE (o.cell, o.occurred_at, o.category, o.status, o.zone_id, o.resolved_at)
               IS DISTINCT FROM (n.cell, n.occurred_at, n.category, n.status, n.zone_id, n.resolved_at)
    )
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, o_cell, kvo_local_day(o_at), o_category, o_status, o_zone, kvo_week_hour(o_at),
           CASE WHEN o_status = 'opgelost' THEN kvo_resolution_class(o_at, o_resolved) END, -1
      FROM changed WHERE o_cell IS NOT NULL
    UNION ALL
    SELECT area_id, n_cell, kvo_local_day(n_at), n_category, n_status, n_zone, kvo_week_hour(n_at),
           CASE WHEN n_status = 'opgelost' THEN kvo_resolution_class(n_at, n_resolved) END, 1
      FROM changed WHERE n_cell IS NOT NULL;
    RETURN NULL;
END $$;
