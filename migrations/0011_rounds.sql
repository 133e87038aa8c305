-- The beveiliger's rounds (issue 14): checkpoints with a printed tag, scans
-- of them during a patrol, and the rounds agreed with the werkgroep.

CREATE TABLE checkpoints (
    area_id     uuid        NOT NULL REFERENCES areas (id),
    id          uuid        NOT NULL,
    -- Printed as a QR code; an NFC tag carries the same id. Unique over the
    -- installation, so a scan names its checkpoint without its area.
    tag         text        NOT NULL UNIQUE CHECK (tag ~ '^CP-[0-9A-Z]{4}-[0-9A-Z]{4}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    geom        geometry(Point, 4326) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Archived checkpoints keep their history but take no new scans.
    archived_at timestamptz,
    PRIMARY KEY (area_id, id)
);

CREATE TABLE checkpoint_scans (
    area_id        uuid        NOT NULL,
    -- Generated on the phone: a retried upload is the same scan.
    id             uuid        NOT NULL,
    checkpoint_id  uuid        NOT NULL,
    guard_id       uuid        NOT NULL,
    patrol_id      uuid,
    scanned_at     timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    geom           geometry(Point, 4326) NOT NULL,
    accuracy_m     real CHECK (accuracy_m >= 0),
    -- Between the phone and the checkpoint, metres.
    distance_m     real        NOT NULL CHECK (distance_m >= 0),
    -- Flagged, not refused: the phone was far from the checkpoint, or the
    -- scan did not fall within a patrol of its guard.
    far            boolean     NOT NULL,
    outside_patrol boolean     NOT NULL,
    PRIMARY KEY (area_id, id),
    FOREIGN KEY (area_id, checkpoint_id) REFERENCES checkpoints (area_id, id),
    FOREIGN KEY (area_id, patrol_id) REFERENCES patrols (area_id, id),
    FOREIGN KEY (area_id, guard_id) REFERENCES memberships (area_id, person_id)
);
CREATE INDEX checkpoint_scans_time ON checkpoint_scans (area_id, scanned_at);
CREATE INDEX checkpoint_scans_patrol ON checkpoint_scans (area_id, patrol_id) WHERE patrol_id IS NOT NULL;
CREATE INDEX patrols_time ON patrols (area_id, started_at);

-- "3 rondes per nacht tussen 22:00 en 06:00, langs A–F". Windows are Dutch
-- local time and may pass midnight; the windows of one area do not overlap
-- (checked in the application under the area's row lock).
CREATE TABLE round_agreements (
    area_id           uuid        NOT NULL REFERENCES areas (id),
    id                uuid        NOT NULL,
    name              text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    window_start      time        NOT NULL,
    window_end        time        NOT NULL CHECK (window_end <> window_start),
    rounds            integer     NOT NULL CHECK (rounds BETWEEN 1 AND 24),
    min_gap_minutes   integer     NOT NULL CHECK (min_gap_minutes BETWEEN 0 AND 720),
    max_round_minutes integer     NOT NULL CHECK (max_round_minutes BETWEEN 5 AND 720),
    checkpoint_ids    uuid[]      NOT NULL CHECK (cardinality(checkpoint_ids) BETWEEN 1 AND 100),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id)
);

-- Coverage against risk: per H3 cell at resolution 10 (about 65 m across),
-- Dutch day and hour band, how many incidents occurred and how many patrols
-- passed. Incidents arrive through the heat deltas and the compactor, like
-- heat_counts (ADR 0006); a patrol's passes are added once, when it ends.
ALTER TABLE patrol_points ADD COLUMN cell bigint;  -- H3 resolution 11, set by the server

CREATE TABLE coverage_counts (
    area_id   uuid     NOT NULL,
    day       date     NOT NULL,
    -- 0: 00-06, 1: 06-12, 2: 12-18, 3: 18-24, Dutch time.
    band      smallint NOT NULL CHECK (band BETWEEN 0 AND 3),
    cell      bigint   NOT NULL,
    incidents integer  NOT NULL DEFAULT 0,
    passes    integer  NOT NULL DEFAULT 0 CHECK (passes >= 0),
    PRIMARY KEY (area_id, day, band, cell)
);

-- The hour band of an hour of the week (kvo_week_hour).
CREATE FUNCTION kvo_hour_band(week_hour smallint) RETURNS smallint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((week_hour % 24) / 6)::smallint;

-- The coverage cell of a resolution-11 cell.
CREATE FUNCTION kvo_coverage_cell(cell bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN kvo_h3_parent(cell, 10);

-- Adds one pass per (day, band, cell) the patrol's points fall in.
CREATE FUNCTION kvo_count_passes(area uuid, patrol uuid) RETURNS void
    LANGUAGE sql VOLATILE
    AS $$
    INSERT INTO coverage_counts AS c (area_id, day, band, cell, passes)
    SELECT DISTINCT area, kvo_local_day(at), kvo_hour_band(kvo_week_hour(at)), kvo_coverage_cell(cell), 1
      FROM patrol_points WHERE area_id = area AND patrol_id = patrol AND cell IS NOT NULL
    ON CONFLICT (area_id, day, band, cell) DO UPDATE SET passes = c.passes + 1
    $$;
