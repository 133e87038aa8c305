-- The push sender wakes when events arrive (issue 17) instead of finding
-- them on its next poll: NOTIFY is delivered when the transaction commits,
-- once per transaction and channel. Only statements that inserted events
-- notify, so the many reports of areas without subscriptions (whose trigger
-- inserts nothing) never queue a notification.
CREATE FUNCTION kvo_push_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_events) THEN
        PERFORM pg_notify('kvo_push', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER push_events_wake AFTER INSERT ON push_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION kvo_push_wake();
