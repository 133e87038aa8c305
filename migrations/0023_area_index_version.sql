-- A version of what the server holds in memory of an area (its boundary,
-- nul-meting, archived state, zones and categories: `areas::AreaIndex`).
-- Every change to those bumps it, from whichever process makes the change, so
-- a server revalidates its cached indexes with one small query instead of
-- reloading each area after a time to live (ADR 0020).
ALTER TABLE areas ADD COLUMN index_version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION kvo_area_index_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.index_version = OLD.index_version AND (
        NEW.boundary IS DISTINCT FROM OLD.boundary
        OR NEW.baseline_from IS DISTINCT FROM OLD.baseline_from
        OR NEW.baseline_to IS DISTINCT FROM OLD.baseline_to
        OR NEW.archived_at IS DISTINCT FROM OLD.archived_at)
    THEN
        NEW.index_version := OLD.index_version + 1;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER areas_index_version BEFORE UPDATE ON areas
    FOR EACH ROW EXECUTE FUNCTION kvo_area_index_bump();

-- Zones and categories belong to one area each; a change to any of them
-- bumps that area's version (once per statement and area).
CREATE FUNCTION kvo_area_index_child_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE areas SET index_version = index_version + 1
         WHERE id IN (SELECT area_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE areas SET index_version = index_version + 1
         WHERE id IN (SELECT area_id FROM old_rows);
    ELSE
        UPDATE areas SET index_version = index_version + 1
         WHERE id IN (SELECT area_id FROM new_rows UNION SELECT area_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER zones_index_version_ins AFTER INSERT ON zones
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
CREATE TRIGGER zones_index_version_upd AFTER UPDATE ON zones
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
CREATE TRIGGER zones_index_version_del AFTER DELETE ON zones
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
CREATE TRIGGER categories_index_version_ins AFTER INSERT ON categories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
CREATE TRIGGER categories_index_version_upd AFTER UPDATE ON categories
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
CREATE TRIGGER categories_index_version_del AFTER DELETE ON categories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION kvo_area_index_child_bump();
