-- One definition of the rollup's fan-out (ADR 0006), used by the triggers,
-- the compactor and the rebuild (server/src/analytics/rollup.rs):
--
--   kvo_heat_fact(incident)   what one incident contributes: its cell, Dutch
--                             day, category, status, zone, hour of the week
--                             and (once resolved) time-to-resolution class,
--                             while kvo_counts(cell, merged_into) holds;
--   kvo_grains(), kvo_bucket  the grains (day, month) and a day's bucket in each;
--   kvo_margin_kinds(),       the margin kinds (total, zone, hour of the week,
--   kvo_margin_key            resolution class) and a fact's key in each.
--
-- Migrations 0004-0006 spelled these out inline; they stay as they were
-- (applied migrations are never edited), and the triggers are replaced here.

CREATE TYPE kvo_heat_fact AS (
    area_id          uuid,
    cell             bigint,
    day              date,
    category         text,
    status           text,
    zone_id          uuid,
    week_hour        smallint,
    resolution_class smallint
);

CREATE FUNCTION kvo_heat_fact(i incidents) RETURNS kvo_heat_fact
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ROW(i.area_id, i.cell, kvo_local_day(i.occurred_at), i.category, i.status, i.zone_id,
               kvo_week_hour(i.occurred_at),
               CASE WHEN i.status = 'opgelost' THEN kvo_resolution_class(i.occurred_at, i.resolved_at) END
           )::kvo_heat_fact;

-- The grains of the rollup and the bucket of a day in each: scalar and
-- immutable all through (date_trunc on a timestamp, not a timestamptz), so
-- the planner inlines kvo_bucket('m', day) into date_trunc when the grain is
-- known; a function call in a GROUP BY would make the rebuild's sorts ~3x slower.
CREATE FUNCTION kvo_grains() RETURNS SETOF "char"
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ VALUES ('d'::"char"), ('m'::"char") $$;

CREATE FUNCTION kvo_bucket(grain "char", day date) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE grain WHEN 'd' THEN day WHEN 'm' THEN date_trunc('month', day::timestamp)::date END $$;

-- The margin kinds and a fact's key in each (NULL: not counted in that kind).
CREATE FUNCTION kvo_margin_kinds() RETURNS SETOF "char"
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ VALUES ('t'::"char"), ('z'::"char"), ('w'::"char"), ('r'::"char") $$;

CREATE FUNCTION kvo_margin_key(kind "char", zone integer, week_hour smallint, resolution_class smallint)
    RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE kind WHEN 't' THEN 0 WHEN 'z' THEN zone WHEN 'w' THEN week_hour::integer
                           WHEN 'r' THEN resolution_class::integer END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT f.*, 1 FROM new_rows i, LATERAL kvo_heat_fact(i) f WHERE kvo_counts(i.cell, i.merged_into);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT f.*, -1 FROM old_rows i, LATERAL kvo_heat_fact(i) f WHERE kvo_counts(i.cell, i.merged_into);
    RETURN NULL;
END $$;

-- A change moves the incident's count from its old fact to its new one, and
-- only when what it contributes changed.
CREATE OR REPLACE FUNCTION kvo_heat_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT kvo_counts(o.cell, o.merged_into) AS o_counts, kvo_heat_fact(o) AS o_fact,
               kvo_counts(n.cell, n.merged_into) AS n_counts, kvo_heat_fact(n) AS n_fact
          FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
    ), moved AS (
        SELECT * FROM changed
         WHERE (o_counts, o_fact) IS DISTINCT FROM (n_counts, n_fact)
    )
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT f.*, -1 FROM moved m, LATERAL (SELECT (m.o_fact).*) f WHERE m.o_counts
    UNION ALL
    SELECT f.*, 1 FROM moved m, LATERAL (SELECT (m.n_fact).*) f WHERE m.n_counts;
    RETURN NULL;
END $$;
