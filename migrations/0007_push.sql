-- Web Push (issue 6). A change that should notify someone appends a row to
-- push_events in its own transaction (the triggers below, whatever code path
-- makes the change). A worker expands each event into one delivery per
-- subscription that wants it, and sends them, claiming deliveries with
-- FOR UPDATE SKIP LOCKED and a lease: at least once per subscription
-- (docs/push.md).

-- Categories whose reports go to everyone on duty at once.
ALTER TABLE categories ADD COLUMN urgent boolean NOT NULL DEFAULT false;
UPDATE categories SET urgent = true WHERE code IN ('overval', 'agressie', 'brandgevaar');

-- A browser's (or, later, an app's) push subscription, per person and area.
CREATE TABLE push_subscriptions (
    area_id    uuid NOT NULL REFERENCES areas (id),
    id         uuid NOT NULL,
    person_id  uuid NOT NULL REFERENCES people (id),
    endpoint   text NOT NULL CHECK (char_length(endpoint) <= 2000),
    -- The browser's P-256 public key and auth secret (base64url), RFC 8291.
    p256dh     text NOT NULL CHECK (char_length(p256dh) BETWEEN 80 AND 100),
    auth       text NOT NULL CHECK (char_length(auth) BETWEEN 16 AND 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id),
    UNIQUE (area_id, endpoint)
);
CREATE INDEX push_subscriptions_person ON push_subscriptions (area_id, person_id);

-- What a person wants to hear about in an area. Without a row: the defaults.
CREATE TABLE push_preferences (
    area_id        uuid NOT NULL,
    person_id      uuid NOT NULL,
    -- New reports of these categories (for roles that see every report).
    new_categories text[] NOT NULL DEFAULT '{}',
    -- Urgent reports while on duty.
    urgent         boolean NOT NULL DEFAULT true,
    -- Status changes of my own reports.
    own_status     boolean NOT NULL DEFAULT true,
    -- On duty (a beveiliger on patrol is on duty too).
    on_duty        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (area_id, person_id),
    FOREIGN KEY (area_id, person_id) REFERENCES memberships (area_id, person_id)
);

CREATE TABLE push_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('new', 'status')),
    incident_id uuid NOT NULL,
    category    text NOT NULL,
    status      text NOT NULL,
    reporter_id uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE push_deliveries (
    area_id         uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    subscription_id uuid NOT NULL,
    -- 'new', 'urgent' or 'status'
    reason          text NOT NULL,
    incident_id     uuid NOT NULL,
    category        text NOT NULL,
    status          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    -- Due from then. A sender claims a delivery by moving this two minutes
    -- on (a lease): after a crash the lease runs out and it is sent again.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id),
    UNIQUE (area_id, subscription_id, incident_id, reason, status),
    FOREIGN KEY (area_id, subscription_id) REFERENCES push_subscriptions (area_id, id) ON DELETE CASCADE
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at);

-- Only areas with subscriptions pay for events.
CREATE FUNCTION kvo_push_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO push_events (area_id, kind, incident_id, category, status, reporter_id)
    SELECT n.area_id, 'new', n.id, n.category, n.status, n.reporter_id
      FROM new_rows n
     WHERE EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.area_id = n.area_id);
    RETURN NULL;
END $$;

CREATE FUNCTION kvo_push_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO push_events (area_id, kind, incident_id, category, status, reporter_id)
    SELECT n.area_id, 'status', n.id, n.category, n.status, n.reporter_id
      FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
     WHERE o.status IS DISTINCT FROM n.status
       AND EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.area_id = n.area_id AND s.person_id = n.reporter_id);
    RETURN NULL;
END $$;

CREATE TRIGGER incidents_push_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_push_on_insert();
CREATE TRIGGER incidents_push_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_push_on_update();
