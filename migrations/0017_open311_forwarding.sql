-- Forwarding to the gemeente's own Open311 endpoint (issue 16 §2): a report
-- the werkgroep assigns to the gemeente lands in the system its
-- buitendienst already uses, and the gemeente's status comes back.

-- The gemeente's endpoint of an area: where to post, with which key, and
-- which of its service codes each of our categories is.
CREATE TABLE open311_endpoints (
    area_id         uuid PRIMARY KEY REFERENCES areas (id),
    url             text NOT NULL CHECK (url ~ '^https?://[^\s]+$' AND length(url) <= 500),
    api_key         text NOT NULL CHECK (length(api_key) BETWEEN 1 AND 500),
    jurisdiction_id text CHECK (length(jurisdiction_id) BETWEEN 1 AND 200),
    service_codes   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(service_codes) = 'object'),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per report to forward, written in the transaction
-- that assigns it (trigger below); a worker sends it (at least once, with
-- our id so the remote can recognise a repeat) and later polls its status.
CREATE TABLE open311_forwards (
    area_id         uuid NOT NULL,
    incident_id     uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    given_up_at     timestamptz,
    remote_id       text,
    sent_at         timestamptz,
    remote_status   text,
    polled_at       timestamptz,
    PRIMARY KEY (area_id, incident_id),
    FOREIGN KEY (area_id, incident_id) REFERENCES incidents (area_id, id)
);
CREATE INDEX open311_forwards_due ON open311_forwards (next_attempt_at)
    WHERE remote_id IS NULL AND given_up_at IS NULL;
CREATE INDEX open311_forwards_poll ON open311_forwards (polled_at NULLS FIRST)
    WHERE remote_id IS NOT NULL AND remote_status IS DISTINCT FROM 'closed';

CREATE FUNCTION kvo_open311_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM open311_endpoints WHERE area_id = NEW.area_id) THEN
        INSERT INTO open311_forwards (area_id, incident_id) VALUES (NEW.area_id, NEW.id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- Only when a report is (newly) assigned to the gemeente: ingest pays nothing.
CREATE TRIGGER incidents_open311 AFTER UPDATE OF assigned_to ON incidents
    FOR EACH ROW WHEN (NEW.assigned_to = 'gemeente' AND OLD.assigned_to IS DISTINCT FROM 'gemeente')
    EXECUTE FUNCTION kvo_open311_enqueue();

-- What the forwarding writes into a report's history.
ALTER TABLE incident_status_history DROP CONSTRAINT incident_status_history_action_check;
ALTER TABLE incident_status_history ADD CONSTRAINT incident_status_history_action_check
    CHECK (action IN ('status', 'assign', 'hand_back', 'aangifte', 'damage', 'merge', 'open311'));

-- Audit actions may name Open311 (`open311_endpoint.set`).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z0-9_.]{1,60}$');
