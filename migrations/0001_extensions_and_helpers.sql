-- Extensions and helpers come first; later migrations rely on them.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Raised by triggers on append-only tables.
CREATE FUNCTION kvo_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
