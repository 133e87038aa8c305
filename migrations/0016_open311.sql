-- Open311 GeoReport v2 (issue 16): an area is a jurisdiction, named in URLs
-- by a slug made from its name ("Binnenstad Deventer" → binnenstad-deventer).
-- The slug is made once, when the area is created, and kept when the area is
-- renamed, so that a gemeente's configured jurisdiction_id keeps working.

CREATE FUNCTION kvo_slugify(name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(trim(BOTH '-' FROM left(regexp_replace(lower(translate(name,
        'ÀÁÂÃÄÅàáâãäåÈÉÊËèéêëÌÍÎÏìíîïÒÓÔÕÖòóôõöÙÚÛÜùúûüÇçÑñŸÿ',
        'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYy')), '[^a-z0-9]+', '-', 'g'), 60)), ''), 'gebied')
$$;

ALTER TABLE areas ADD COLUMN slug text CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$');

-- The area's slug when none is given: its name's, with -2, -3 … when taken.
CREATE FUNCTION kvo_area_slug() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    base text := kvo_slugify(NEW.name);
    n int := 1;
BEGIN
    IF NEW.slug IS NULL THEN
        NEW.slug := base;
        WHILE EXISTS (SELECT 1 FROM areas WHERE slug = NEW.slug AND id <> NEW.id) LOOP
            n := n + 1;
            NEW.slug := base || '-' || n;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER areas_slug BEFORE INSERT OR UPDATE OF slug ON areas
    FOR EACH ROW EXECUTE FUNCTION kvo_area_slug();

-- The areas there are.
UPDATE areas SET slug = NULL;
ALTER TABLE areas ALTER COLUMN slug SET NOT NULL;
CREATE UNIQUE INDEX areas_slug ON areas (slug);
