-- Resolution-7 counts in aligned blocks of days, for the region view and
-- every zoomed-out heatmap (ADR 0019).
--
-- heat_counts answers a period with its whole months and the days at either
-- end: for "since the nul-meting" (almost three years) that is ~33 month rows
-- plus up to ~60 day rows per cell, and a region of 100 areas has hundreds of
-- resolution-7 cells. Here a row counts the days [block << level,
-- (block + 1) << level) of one cell (day numbers from 2000-01-01, levels 0-10:
-- one day to 1,024 days); any period is the sum of at most ~20 such blocks
-- per cell (rollup::day_blocks), whatever its length. Kept by the same
-- compactor and rebuild as heat_counts, with the same arrays.
--
-- Readers do not read heat_blocks itself but heat_packs: the same counts,
-- one row per (area, level, block) holding all its cells, so that a region of
-- 100 areas reads ~800 rows instead of ~4,000 (PostgreSQL spends its time per
-- row, not per array element). rollup::repack makes the packs of the blocks
-- the compactor or the rebuild touched again.

CREATE FUNCTION kvo_day_number(day date) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN day - DATE '2000-01-01';

-- The block levels (rollup::MAX_BLOCK_LEVEL holds the largest; a test checks it).
CREATE FUNCTION kvo_block_levels() RETURNS SETOF smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT generate_series(0, 10)::smallint $$;

CREATE TABLE heat_blocks (
    area_id uuid NOT NULL,
    level   smallint NOT NULL CHECK (level BETWEEN 0 AND 10),
    block   integer NOT NULL,
    -- An H3 cell at resolution 7.
    cell    bigint NOT NULL,
    ks      smallint[] NOT NULL,
    ns      integer[] NOT NULL,
    PRIMARY KEY (area_id, level, block, cell)
);
CREATE INDEX heat_blocks_empty ON heat_blocks (area_id) WHERE cardinality(ks) = 0;

-- What is folded already, from the day rows at resolution 7 (pending deltas
-- stay in heat_delta and are folded into both tables).
INSERT INTO heat_blocks (area_id, level, block, cell, ks, ns)
SELECT area_id, level, block, cell, array_agg(k ORDER BY k), array_agg(n ORDER BY k)
  FROM (SELECT h.area_id, l.level, kvo_day_number(h.bucket) >> l.level AS block, h.cell, u.k,
               sum(u.n)::int4 AS n
          FROM heat_counts h
         CROSS JOIN LATERAL unnest(h.ks, h.ns) AS u(k, n)
         CROSS JOIN kvo_block_levels() AS l(level)
         WHERE h.res = 7 AND h.grain = 'd'
         GROUP BY 1, 2, 3, 4, 5 HAVING sum(u.n) <> 0) s
 GROUP BY area_id, level, block, cell;

-- All cells of one area's block: `cells` ascending; cell i holds the next
-- `lens[i]` entries of `ks`/`ns` (keys ascending within a cell).
CREATE TABLE heat_packs (
    area_id uuid NOT NULL,
    level   smallint NOT NULL,
    block   integer NOT NULL,
    cells   bigint[] NOT NULL,
    lens    smallint[] NOT NULL,
    ks      smallint[] NOT NULL,
    ns      integer[] NOT NULL,
    PRIMARY KEY (area_id, level, block)
);

-- Concatenates arrays (the packs' keys and counts, one cell after the other).
CREATE AGGREGATE kvo_cat(anycompatiblearray) (SFUNC = array_cat, STYPE = anycompatiblearray, INITCOND = '{}');

-- The packs of what is folded already (rollup::repack makes them from now on).
INSERT INTO heat_packs (area_id, level, block, cells, lens, ks, ns)
SELECT area_id, level, block, array_agg(cell ORDER BY cell), array_agg(cardinality(ks)::int2 ORDER BY cell),
       kvo_cat(ks ORDER BY cell), kvo_cat(ns ORDER BY cell)
  FROM heat_blocks WHERE cardinality(ks) > 0
 GROUP BY area_id, level, block;
