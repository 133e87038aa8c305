-- "Al gemeld in de buurt" as one function (issue 17), so that the lookup for
-- one point (duplicates.rs) and the group-commit insert of a whole batch of
-- reports (incidents/batch.rs) apply the same rule: open, unmerged reports of
-- the category within its radius and its window of weeks, nearest first,
-- found by a KNN scan of the partial index of migration 0008 bounded by a box
-- (1° is at least 60 km up to 57° latitude).
CREATE FUNCTION kvo_possible_duplicates(p_area uuid, p_self uuid, p_category text, p_lon float8,
                                        p_lat float8, p_at timestamptz, p_limit integer)
    RETURNS TABLE (id uuid, category text, occurred_at timestamptz, status text, distance_m float8)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH c AS MATERIALIZED (
        SELECT duplicate_radius_m AS r, make_interval(weeks => duplicate_weeks) AS w
          FROM categories WHERE area_id = p_area AND code = p_category
    ), near AS (
        SELECT i.id, i.category, i.occurred_at, i.status,
               ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography) AS d
          FROM incidents i
         WHERE i.area_id = p_area AND i.category = p_category AND i.id <> p_self
           AND i.merged_into IS NULL AND i.status IN ('nieuw', 'in_behandeling', 'heropend')
           AND i.geom && ST_Expand(ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326), (SELECT r FROM c) / 60000.0)
           AND i.occurred_at BETWEEN p_at - (SELECT w FROM c) AND p_at + (SELECT w FROM c)
         ORDER BY i.geom <-> ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)
         LIMIT 12
    )
    SELECT near.id, near.category, near.occurred_at, near.status, near.d
      FROM near, c WHERE near.d <= c.r ORDER BY near.d, near.occurred_at DESC LIMIT p_limit
    $$;
