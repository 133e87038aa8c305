-- Retention (issue 16 §3): personal data of a closed report is anonymised
-- a configurable number of months after closing, while what the analysis
-- counts (category, status, cell, zone, dates) stays, so the three-yearly
-- comparisons keep working.

ALTER TABLE areas ADD COLUMN retention_months integer NOT NULL DEFAULT 24
    CHECK (retention_months BETWEEN 1 AND 120);

-- When a report's personal data was removed (NULL: not yet).
ALTER TABLE incidents ADD COLUMN anonymised_at timestamptz;

-- Who an anonymised report, comment or history line is "by".
INSERT INTO people (id, display_name) VALUES ('00000000-0000-0000-0000-000000000000', 'Geanonimiseerd')
    ON CONFLICT (id) DO NOTHING;

-- The history stays append-only, except for the retention job: inside a
-- transaction that set `kvo.anonymising`, it may clear a line's free text
-- and move its author to the anonymous person — nothing else.
CREATE FUNCTION kvo_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('kvo.anonymising', true) = 'on'
       AND (NEW.area_id, NEW.incident_id, NEW.seq, NEW.status, NEW.changed_at, NEW.action, NEW.detail)
           IS NOT DISTINCT FROM (OLD.area_id, OLD.incident_id, OLD.seq, OLD.status, OLD.changed_at, OLD.action, OLD.detail)
       AND NEW.reason IS NULL
       AND (NEW.changed_by IS NOT DISTINCT FROM OLD.changed_by OR NEW.changed_by = '00000000-0000-0000-0000-000000000000')
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER incident_status_history_append_only ON incident_status_history;
CREATE TRIGGER incident_status_history_append_only
    BEFORE UPDATE OR DELETE ON incident_status_history
    FOR EACH ROW EXECUTE FUNCTION kvo_history_guard();

-- The reports still to anonymise, by area.
CREATE INDEX incidents_not_anonymised ON incidents (area_id) WHERE anonymised_at IS NULL
    AND (status IN ('opgelost', 'afgewezen') OR merged_into IS NOT NULL);
