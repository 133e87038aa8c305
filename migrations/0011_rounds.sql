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
