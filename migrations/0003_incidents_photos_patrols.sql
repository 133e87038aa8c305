CREATE TABLE patrols (
    area_id    uuid NOT NULL,
    id         uuid NOT NULL,
    guard_id   uuid NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz CHECK (ended_at IS NULL OR ended_at >= started_at),
    -- Materialised from patrol_points when the patrol ends.
    route      geometry(LineString, 4326),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id),
    FOREIGN KEY (area_id, guard_id) REFERENCES memberships (area_id, person_id)
);

-- A route point is identified by its time, so a retried upload adds nothing.
CREATE TABLE patrol_points (
    area_id   uuid NOT NULL,
    patrol_id uuid NOT NULL,
    at        timestamptz NOT NULL,
    geom      geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (area_id, patrol_id, at),
    FOREIGN KEY (area_id, patrol_id) REFERENCES patrols (area_id, id)
);

CREATE TABLE incidents (
    area_id      uuid NOT NULL REFERENCES areas (id),
    -- Generated on the phone; the idempotency key of POST /api/v1/incidents.
    id           uuid NOT NULL,
    category     text NOT NULL,
    geom         geometry(Point, 4326) NOT NULL,
    accuracy_m   real CHECK (accuracy_m >= 0),
    occurred_at  timestamptz NOT NULL,
    -- The server's clock; never the client's.
    received_at  timestamptz NOT NULL DEFAULT now(),
    description  text CHECK (char_length(description) <= 2000),
    reporter_id  uuid NOT NULL REFERENCES people (id),
    zone_id      uuid,
    status       text NOT NULL DEFAULT 'nieuw'
                 CHECK (status IN ('nieuw', 'in_behandeling', 'opgelost', 'afgewezen', 'heropend')),
    patrol_id    uuid,
    -- SHA-256 of the canonical request, to tell a retry from a conflicting reuse of the id.
    request_hash bytea NOT NULL,
    PRIMARY KEY (area_id, id),
    FOREIGN KEY (area_id, category) REFERENCES categories (area_id, code),
    FOREIGN KEY (area_id, zone_id) REFERENCES zones (area_id, id),
    FOREIGN KEY (area_id, patrol_id) REFERENCES patrols (area_id, id)
);
CREATE INDEX incidents_id ON incidents (id);
CREATE INDEX incidents_area_time ON incidents (area_id, occurred_at DESC, id DESC);
CREATE INDEX incidents_reporter ON incidents (area_id, reporter_id, occurred_at DESC);
CREATE INDEX incidents_geom ON incidents USING gist (geom);

-- Append-only: who changed what, when and why.
CREATE TABLE incident_status_history (
    area_id     uuid NOT NULL,
    incident_id uuid NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    status      text NOT NULL,
    changed_by  uuid REFERENCES people (id),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    reason      text,
    PRIMARY KEY (area_id, incident_id, seq),
    FOREIGN KEY (area_id, incident_id) REFERENCES incidents (area_id, id)
);
CREATE TRIGGER incident_status_history_append_only
    BEFORE UPDATE OR DELETE ON incident_status_history
    FOR EACH ROW EXECUTE FUNCTION kvo_forbid_change();

CREATE TABLE photos (
    area_id       uuid NOT NULL,
    id            uuid NOT NULL,
    incident_id   uuid NOT NULL,
    -- What the phone sent (the idempotency check) and what is stored (the content address).
    upload_sha256 bytea NOT NULL,
    sha256        bytea NOT NULL,
    content_type  text NOT NULL,
    bytes         bigint NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    thumb_sha256  bytea NOT NULL,
    thumb_bytes   bigint NOT NULL,
    uploaded_by   uuid NOT NULL REFERENCES people (id),
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id),
    FOREIGN KEY (area_id, incident_id) REFERENCES incidents (area_id, id)
);
CREATE INDEX photos_incident ON photos (area_id, incident_id);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_thumb_sha256 ON photos (thumb_sha256);
