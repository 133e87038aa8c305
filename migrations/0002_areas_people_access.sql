-- Areas are the unit of trust. Every row below carries its area's id
-- (`area_id`), so the schema can be distributed by area (Citus) unchanged.
-- `people` and `web_sessions` are the exceptions: a person may belong to
-- several areas, so they are global (a Citus reference table).

CREATE TABLE areas (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('kvo_w', 'kvo_b')),
    municipality text,
    boundary     geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(boundary)),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX areas_boundary ON areas USING gist (boundary);

CREATE TABLE zones (
    area_id uuid NOT NULL REFERENCES areas (id),
    id      uuid NOT NULL,
    name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    geom    geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    PRIMARY KEY (area_id, id),
    UNIQUE (area_id, name)
);

CREATE TABLE categories (
    area_id    uuid NOT NULL REFERENCES areas (id),
    code       text NOT NULL CHECK (code ~ '^[a-z0-9_]{1,40}$'),
    label_nl   text NOT NULL,
    label_en   text NOT NULL,
    theme      text CHECK (theme IN ('criminaliteit', 'overlast', 'brandveiligheid',
                                     'verkeersveiligheid', 'milieu', 'cybersecurity', 'ondermijning')),
    dimension  text CHECK (dimension IN ('schoon', 'heel', 'veilig')),
    enabled    boolean NOT NULL DEFAULT true,
    sort_order integer NOT NULL,
    PRIMARY KEY (area_id, code)
);

CREATE TABLE people (
    id            uuid PRIMARY KEY,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    email         text,
    -- argon2id PHC string; only web users have one.
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX people_email ON people (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE memberships (
    area_id    uuid NOT NULL REFERENCES areas (id),
    person_id  uuid NOT NULL REFERENCES people (id),
    role       text NOT NULL CHECK (role IN ('ondernemer', 'beveiliger', 'werkgroep', 'gemeente',
                                             'politie', 'brandweer', 'beheerder')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, person_id)
);
CREATE INDEX memberships_person ON memberships (person_id);

-- Secrets (invite codes, tokens) are stored as SHA-256 digests only: they are
-- long random strings, so a slow hash adds nothing.
CREATE TABLE invites (
    area_id    uuid NOT NULL REFERENCES areas (id),
    id         uuid NOT NULL,
    code_hash  bytea NOT NULL,
    role       text NOT NULL,
    max_uses   integer NOT NULL CHECK (max_uses > 0),
    uses       integer NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id)
);
CREATE INDEX invites_code ON invites (code_hash);

CREATE TABLE device_tokens (
    area_id      uuid NOT NULL,
    id           uuid NOT NULL,
    person_id    uuid NOT NULL,
    token_hash   bytea NOT NULL,
    device_name  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (area_id, id),
    FOREIGN KEY (area_id, person_id) REFERENCES memberships (area_id, person_id)
);
CREATE INDEX device_tokens_hash ON device_tokens (token_hash);

CREATE TABLE web_sessions (
    id         uuid PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES people (id),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
