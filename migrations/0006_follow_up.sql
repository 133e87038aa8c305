-- Follow-up of incidents (issue 6): assignment to a partner organisation,
-- comments, police report and damage, merging duplicates. Every change is
-- appended to incident_status_history with who, when, why and what.

ALTER TABLE incidents ADD COLUMN assigned_to text
    CHECK (assigned_to IN ('gemeente', 'politie', 'brandweer', 'beveiliger'));
ALTER TABLE incidents ADD COLUMN due_date date;
ALTER TABLE incidents ADD COLUMN aangifte boolean NOT NULL DEFAULT false;
ALTER TABLE incidents ADD COLUMN damage_cents bigint CHECK (damage_cents BETWEEN 0 AND 100000000000);
-- A duplicate merged into another report. It stays (with its photos and
-- history) but no longer counts anywhere: the rollup triggers treat it as gone.
ALTER TABLE incidents ADD COLUMN merged_into uuid;
ALTER TABLE incidents ADD CONSTRAINT incidents_merged_into_fkey
    FOREIGN KEY (area_id, merged_into) REFERENCES incidents (area_id, id);
ALTER TABLE incidents ADD CONSTRAINT incidents_not_merged_into_itself CHECK (merged_into <> id);

-- What a history row records: a status change, or another follow-up action
-- (the status column then holds the status at that moment).
ALTER TABLE incident_status_history ADD COLUMN action text NOT NULL DEFAULT 'status'
    CHECK (action IN ('status', 'assign', 'aangifte', 'damage', 'merge'));
ALTER TABLE incident_status_history ADD COLUMN detail text CHECK (char_length(detail) <= 200);
ALTER TABLE incident_status_history ADD CONSTRAINT incident_status_history_reason_length
    CHECK (char_length(reason) <= 1000);

CREATE TABLE incident_comments (
    area_id     uuid NOT NULL,
    incident_id uuid NOT NULL,
    id          uuid NOT NULL,
    author_id   uuid NOT NULL REFERENCES people (id),
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area_id, incident_id, id),
    FOREIGN KEY (area_id, incident_id) REFERENCES incidents (area_id, id)
);

-- How near (metres) and how recent (weeks) an open report of the same
-- category must be to be offered as "already reported".
ALTER TABLE categories ADD COLUMN duplicate_radius_m integer NOT NULL DEFAULT 50
    CHECK (duplicate_radius_m BETWEEN 0 AND 5000);
ALTER TABLE categories ADD COLUMN duplicate_weeks integer NOT NULL DEFAULT 12
    CHECK (duplicate_weeks BETWEEN 0 AND 520);

-- Merged duplicates leave the rollup through the same triggers: an incident
-- counts when it has a cell and is not merged (kvo_counts, used by the three
-- triggers and by the rebuild).
CREATE FUNCTION kvo_counts(cell bigint, merged_into uuid) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN cell IS NOT NULL AND merged_into IS NULL;

CREATE OR REPLACE FUNCTION kvo_heat_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, zone_id, kvo_week_hour(occurred_at),
           CASE WHEN status = 'opgelost' THEN kvo_resolution_class(occurred_at, resolved_at) END, 1
      FROM new_rows WHERE kvo_counts(cell, merged_into);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, cell, kvo_local_day(occurred_at), category, status, zone_id, kvo_week_hour(occurred_at),
           CASE WHEN status = 'opgelost' THEN kvo_resolution_class(occurred_at, resolved_at) END, -1
      FROM old_rows WHERE kvo_counts(cell, merged_into);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION kvo_heat_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT o.area_id, kvo_counts(o.cell, o.merged_into) AS o_counts, o.cell AS o_cell,
               o.occurred_at AS o_at, o.category AS o_category, o.status AS o_status, o.zone_id AS o_zone,
               o.resolved_at AS o_resolved,
               kvo_counts(n.cell, n.merged_into) AS n_counts, n.cell AS n_cell,
               n.occurred_at AS n_at, n.category AS n_category, n.status AS n_status, n.zone_id AS n_zone,
               n.resolved_at AS n_resolved
          FROM old_rows o JOIN new_rows n ON n.area_id = o.area_id AND n.id = o.id
         WHERE (o.cell, o.occurred_at, o.category, o.status, o.zone_id, o.resolved_at, o.merged_into)
               IS DISTINCT FROM (n.cell, n.occurred_at, n.category, n.status, n.zone_id, n.resolved_at, n.merged_into)
    )
    INSERT INTO heat_delta (area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n)
    SELECT area_id, o_cell, kvo_local_day(o_at), o_category, o_status, o_zone, kvo_week_hour(o_at),
           CASE WHEN o_status = 'opgelost' THEN kvo_resolution_class(o_at, o_resolved) END, -1
      FROM changed WHERE o_counts
    UNION ALL
    SELECT area_id, n_cell, kvo_local_day(n_at), n_category, n_status, n_zone, kvo_week_hour(n_at),
           CASE WHEN n_status = 'opgelost' THEN kvo_resolution_class(n_at, n_resolved) END, 1
      FROM changed WHERE n_counts;
    RETURN NULL;
END $$;
