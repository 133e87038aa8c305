-- The reporting app (issue 13): extra questions per category and their
-- answers, anonymous reports, and "dit is dezelfde" confirmations on an
-- existing report instead of a second incident.

ALTER TABLE categories
    ADD COLUMN questions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(questions) = 'array');

ALTER TABLE incidents
    ADD COLUMN answers   jsonb   NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(answers) = 'object'),
    ADD COLUMN anonymous boolean NOT NULL DEFAULT false;

CREATE TABLE incident_confirmations (
    area_id     uuid        NOT NULL,
    -- Generated on the phone: a retry is the same confirmation.
    id          uuid        NOT NULL,
    incident_id uuid        NOT NULL,
    person_id   uuid        NOT NULL REFERENCES people (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, id),
    -- One person confirms a report once.
    UNIQUE (area_id, incident_id, person_id),
    FOREIGN KEY (area_id, incident_id) REFERENCES incidents (area_id, id)
);

-- How many confirmed a report: the one formulation, for the incident, the
-- exports and the answer to a confirmation.
CREATE FUNCTION kvo_confirmations(area uuid, incident uuid) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT count(*) FROM incident_confirmations WHERE area_id = area AND incident_id = incident);
