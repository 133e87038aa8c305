-- The gemeente's registers (issue 15): assets (lamp posts, waste bins,
-- cameras, benches) that a report can be linked to, and street centrelines
-- that name places.

-- One asset of a register. Its key in the gemeente's register
-- (`external_id`, e.g. lamp post "0412") is unique per area and kind; a
-- re-import updates the row with that key in place, so the `id` that reports
-- link to never changes. An asset that is no longer in the register is
-- marked removed, never deleted: the reports that name it keep their link.
CREATE TABLE assets (
    area_id     uuid        NOT NULL REFERENCES areas (id),
    id          uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('lichtmast', 'afvalbak', 'camera', 'bank')),
    external_id text        NOT NULL CHECK (length(external_id) BETWEEN 1 AND 64),
    name        text        CHECK (length(name) BETWEEN 1 AND 200),
    geom        geometry(Point, 4326) NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    removed_at  timestamptz,
    PRIMARY KEY (area_id, id),
    UNIQUE (area_id, kind, external_id)
);
CREATE INDEX assets_live_geom ON assets USING gist (geom) WHERE removed_at IS NULL;

-- A report about an asset ("lichtmast 0412 brandt niet").
ALTER TABLE incidents ADD COLUMN asset_id uuid;
ALTER TABLE incidents ADD CONSTRAINT incidents_area_id_asset_id_fkey
    FOREIGN KEY (area_id, asset_id) REFERENCES assets (area_id, id);
CREATE INDEX incidents_asset ON incidents (area_id, asset_id, occurred_at) WHERE asset_id IS NOT NULL;

-- Street centrelines, clipped to the area. A re-import replaces them all:
-- nothing links to a street; places are named by the nearest one when read.
CREATE TABLE streets (
    area_id uuid   NOT NULL REFERENCES areas (id),
    seq     bigserial,
    name    text   NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    geom    geometry(MultiLineString, 4326) NOT NULL,
    PRIMARY KEY (area_id, seq)
);
CREATE INDEX streets_geom ON streets USING gist (geom);

-- The street a place lies on: the nearest centreline of the area within
-- 60 m (a shop front lies some 10–30 m from its street's centreline), or
-- NULL. The box test (0.0015° is over 100 m here) keeps the index search
-- local whatever other areas hold; the distance is then measured in metres.
CREATE FUNCTION kvo_street_name(p_area uuid, p_geom geometry) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT name
      FROM streets
     WHERE area_id = p_area
       AND geom && ST_Expand(p_geom, 0.0015)
       AND ST_DWithin(geom::geography, p_geom::geography, 60)
     ORDER BY ST_Distance(geom::geography, p_geom::geography), seq
     LIMIT 1
$$;
