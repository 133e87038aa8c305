-- The packs of one block lie together (ADR 0026). A region view reads the
-- same blocks of every member area, so keyed by area first, its ~1,000 packs
-- sat on as many index leaves and table pages; keyed and laid out by block,
-- the packs of 100 areas' block share a few. The rebuild and `rollup::repack`
-- insert in this order; CLUSTER lays out what is there now.
ALTER TABLE heat_packs DROP CONSTRAINT heat_packs_pkey;
ALTER TABLE heat_packs ADD CONSTRAINT heat_packs_pkey PRIMARY KEY (level, block, area_id);
CLUSTER heat_packs USING heat_packs_pkey;
