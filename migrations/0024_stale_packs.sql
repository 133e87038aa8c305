-- Until this version the compactor left the pack of a block whose last
-- incident went (deleted, merged, moved to another day) in place, so the
-- resolution-7 reader still counted it. The fold now deletes the packs of
-- every block it touches; this removes the packs left behind before.
DELETE FROM heat_packs p
 WHERE NOT EXISTS (SELECT FROM heat_blocks b
                    WHERE b.area_id = p.area_id AND b.level = p.level AND b.block = p.block);
