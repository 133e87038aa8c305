-- Open311's public lists show no free text unless the area opts in
-- (issue 16 §1); even then only for what is schoon or heel.
ALTER TABLE areas ADD COLUMN open311_descriptions boolean NOT NULL DEFAULT false;
