-- A resolution-7 pack (ADR 0019) becomes one bytea instead of four arrays
-- (ADR 0025). PostgreSQL sends an array element by element; a region view
-- reading ~1,000 new packs spent as long sending their arrays as finding
-- them (measured at 10M incidents: COPY of the same rows in binary, 800
-- packs, 22 ms as arrays, 12 ms as bytea).
--
-- The bytes, one cell after the other in ascending cell order, big-endian:
-- the cell (int8), its number of (key, count) pairs (int2), then each pair
-- as the key (int2, a rollup_keys number, ascending) and its count (int4).
-- rollup::Pack reads them; rollup::repack writes them with this function.
CREATE FUNCTION kvo_pack_cell(cell bigint, ks smallint[], ns integer[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN int8send(cell) || int2send(cardinality(ks)::int2)
        || coalesce((SELECT string_agg(int2send(u.k) || int4send(u.n), ''::bytea ORDER BY u.o)
                       FROM unnest(ks, ns) WITH ORDINALITY u(k, n, o)), ''::bytea);

TRUNCATE heat_packs;
ALTER TABLE heat_packs DROP COLUMN cells, DROP COLUMN lens, DROP COLUMN ks, DROP COLUMN ns,
    ADD COLUMN pack bytea NOT NULL;

INSERT INTO heat_packs (area_id, level, block, pack)
SELECT area_id, level, block, string_agg(kvo_pack_cell(cell, ks, ns), ''::bytea ORDER BY cell)
  FROM heat_blocks WHERE cardinality(ks) > 0
 GROUP BY area_id, level, block;

-- Concatenated the arrays of the packs; unused since.
DROP AGGREGATE kvo_cat(anycompatiblearray);
