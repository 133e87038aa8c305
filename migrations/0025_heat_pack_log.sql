-- Which resolution-7 packs each fold wrote again, per area and version
-- (ADR 0024). A server that holds an area's packs of version v keeps, at a
-- later version, those that no fold since v touched: a fold of today's
-- reports rewrites the eleven blocks holding today, not the years before.
-- Every fold bumps an area's version by one and writes one row here; a
-- version without a row (the rebuild bumps without one, and old rows are
-- pruned) makes a reader drop all it holds of the area.
CREATE TABLE heat_pack_log (
    area_id uuid NOT NULL,
    version bigint NOT NULL,
    levels  smallint[] NOT NULL,
    blocks  integer[] NOT NULL,
    PRIMARY KEY (area_id, version)
);
