-- Running an area from the web (issue 15): the beheerder's console.

-- Buitengebied beside KVO-W and KVO-B; archiving keeps an area's data but
-- accepts nothing new.
ALTER TABLE areas DROP CONSTRAINT areas_kind_check;
ALTER TABLE areas ADD CONSTRAINT areas_kind_check CHECK (kind IN ('kvo_w', 'kvo_b', 'buitengebied'));
ALTER TABLE areas ADD COLUMN archived_at timestamptz;

-- A deleted zone keeps its row (and its `num`, the key of its counts in the
-- rollup, which is never reused); its incidents move to "zonder zone".
ALTER TABLE zones ADD COLUMN deleted_at timestamptz;
ALTER TABLE zones DROP CONSTRAINT zones_area_id_name_key;
CREATE UNIQUE INDEX zones_live_name ON zones (area_id, lower(name)) WHERE deleted_at IS NULL;

-- An area-specific category is the beheerder's own; the defaults are not.
ALTER TABLE categories ADD COLUMN custom boolean NOT NULL DEFAULT false;

-- Revoked invites, and who made them.
ALTER TABLE invites ADD COLUMN revoked_at timestamptz;
ALTER TABLE invites ADD COLUMN created_by uuid;

-- A person removed from an area keeps the membership row (their reports,
-- patrols and device tokens refer to it), marked removed; their tokens are
-- revoked in the same transaction.
ALTER TABLE memberships ADD COLUMN removed_at timestamptz;

-- The partners' work list: open reports assigned to an organisation.
CREATE INDEX incidents_assigned_open ON incidents (area_id, assigned_to, due_date)
    WHERE assigned_to IS NOT NULL AND merged_into IS NULL AND status IN ('nieuw', 'in_behandeling', 'heropend');

-- The region view counts the open reports of many areas at once.
CREATE INDEX incidents_open ON incidents (area_id, due_date)
    WHERE merged_into IS NULL AND status IN ('nieuw', 'in_behandeling', 'heropend');

-- A partner hands a report back to the werkgroep (the work list).
ALTER TABLE incident_status_history DROP CONSTRAINT incident_status_history_action_check;
ALTER TABLE incident_status_history ADD CONSTRAINT incident_status_history_action_check
    CHECK (action IN ('status', 'assign', 'hand_back', 'aangifte', 'damage', 'merge'));

-- One-time links through which a person sets (or resets) their own password.
-- Only the SHA-256 of the link's secret is kept.
CREATE TABLE password_links (
    id          uuid PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES people (id),
    token_hash  bytea NOT NULL UNIQUE,
    purpose     text NOT NULL CHECK (purpose IN ('set', 'reset')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_links_person ON password_links (person_id);

-- The audit log: every administrative change, who made it, when, and the
-- value before and after. Append-only: the database itself refuses to change
-- or remove a row.
CREATE TABLE audit_log (
    seq        bigserial PRIMARY KEY,
    area_id    uuid REFERENCES areas (id),
    at         timestamptz NOT NULL DEFAULT now(),
    -- NULL when the change came from the `kvo` tool on the server.
    actor_id   uuid REFERENCES people (id),
    actor      text NOT NULL,
    action     text NOT NULL CHECK (action ~ '^[a-z_.]{1,60}$'),
    target     text NOT NULL,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_area ON audit_log (area_id, seq DESC);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION kvo_forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION kvo_forbid_change();
