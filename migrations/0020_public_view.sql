-- The public view (issue 16 §3): an area may publish its aggregated
-- figures for residents, press and the gemeenteraad. Off until the
-- beheerder switches it on.
ALTER TABLE areas ADD COLUMN public_view boolean NOT NULL DEFAULT false;
