//! The rollup behind every count (ADR 0006).
//!
//! Triggers on `incidents` append a +1/-1 row to `heat_delta` in the same
//! transaction as every insert, change and deletion. [`compact`] folds the
//! deltas into `heat_cells` (resolutions 7–11, per day and per month), and
//! [`cell_counts`] adds `heat_cells` and the deltas not yet folded, so an
//! answer is exact and includes every committed change.

use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use h3o::{CellIndex, Resolution};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Filter, cells};
use crate::error::AppResult;

/// How many deltas one compaction folds at most.
const BATCH: i64 = 20_000;
/// An arbitrary constant: the advisory lock that makes one compactor run at a time.
const COMPACTOR_LOCK: i64 = 0x6b76_6f5f_726f_6c6c;

/// Counts per cell at `res` for `f`, exact: the folded rollup plus the pending deltas.
pub async fn cell_counts(
    pool: &PgPool,
    area_id: Uuid,
    res: Resolution,
    f: &Filter,
) -> AppResult<Vec<(CellIndex, i64)>> {
    let (m0, m1) = f.whole_months();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT cell, sum(n)::int8 FROM (
             SELECT cell, n FROM heat_cells
              WHERE area_id = $1 AND res = $2 AND grain = 'm' AND bucket >= $3 AND bucket < $4
                AND ($7::text[] IS NULL OR category = ANY($7)) AND ($8::text[] IS NULL OR status = ANY($8))
             UNION ALL
             SELECT cell, n FROM heat_cells
              WHERE area_id = $1 AND res = $2 AND grain = 'd' AND bucket >= $5 AND bucket < $3
                AND ($7::text[] IS NULL OR category = ANY($7)) AND ($8::text[] IS NULL OR status = ANY($8))
             UNION ALL
             SELECT cell, n FROM heat_cells
              WHERE area_id = $1 AND res = $2 AND grain = 'd' AND bucket >= $4 AND bucket < $6
                AND ($7::text[] IS NULL OR category = ANY($7)) AND ($8::text[] IS NULL OR status = ANY($8))
             UNION ALL
             SELECT kvo_h3_parent(cell, $2::int4), n FROM heat_delta
              WHERE area_id = $1 AND day >= $5 AND day < $6
                AND ($7::text[] IS NULL OR category = ANY($7)) AND ($8::text[] IS NULL OR status = ANY($8))
         ) c
         GROUP BY cell HAVING sum(n) > 0",
    )
    .bind(area_id)
    .bind(i16::from(u8::from(res)))
    .bind(m0)
    .bind(m1)
    .bind(f.from)
    .bind(f.until)
    .bind(&f.categories)
    .bind(&f.statuses)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(c, n)| Some((cells::from_db(c)?, n))).collect())
}

/// The version of an area's aggregated data: it changes whenever an incident
/// of the area is added, changed or removed (also from another process).
pub async fn version(pool: &PgPool, area_id: Uuid) -> AppResult<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT coalesce((SELECT version FROM heat_version WHERE area_id = $1), 0),
                (SELECT count(*) FROM heat_delta WHERE area_id = $1)",
    )
    .bind(area_id)
    .fetch_one(pool)
    .await?)
}

/// Folds up to [`BATCH`] pending deltas into `heat_cells`; returns how many
/// it folded (0 when another process holds the compactor lock).
pub async fn compact(pool: &PgPool) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(COMPACTOR_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    type Zeroes = (
        i64,
        Option<Vec<Uuid>>,
        Option<Vec<i16>>,
        Option<Vec<String>>,
        Option<Vec<NaiveDate>>,
        Option<Vec<i64>>,
        Option<Vec<String>>,
        Option<Vec<String>>,
    );
    let (moved, areas, res, grains, buckets, cells, cats, statuses): Zeroes = sqlx::query_as(
        "WITH moved AS (
             DELETE FROM heat_delta WHERE seq IN (SELECT seq FROM heat_delta ORDER BY seq LIMIT $1)
             RETURNING area_id, cell, day, category, status, n
         ), folded AS (
             SELECT m.area_id, r.res::int2 AS res, g.grain,
                    CASE WHEN g.grain = 'd' THEN m.day ELSE date_trunc('month', m.day)::date END AS bucket,
                    kvo_h3_parent(m.cell, r.res) AS cell, m.category, m.status, sum(m.n)::int4 AS n
               FROM moved m
               CROSS JOIN generate_series(7, 11) AS r(res)
               CROSS JOIN (VALUES ('d'::\"char\"), ('m'::\"char\")) AS g(grain)
              GROUP BY 1, 2, 3, 4, 5, 6, 7
             HAVING sum(m.n) <> 0
         ), upserted AS (
             INSERT INTO heat_cells AS h (area_id, res, grain, bucket, cell, category, status, n)
             SELECT * FROM folded
             ON CONFLICT (area_id, res, grain, bucket, cell, category, status) DO UPDATE SET n = h.n + EXCLUDED.n
             RETURNING h.area_id, h.res, h.grain, h.bucket, h.cell, h.category, h.status, h.n
         ), versions AS (
             INSERT INTO heat_version AS v (area_id, version)
             SELECT DISTINCT area_id, 1 FROM moved
             ON CONFLICT (area_id) DO UPDATE SET version = v.version + 1
         )
         SELECT (SELECT count(*) FROM moved), array_agg(area_id), array_agg(res), array_agg(grain::text),
                array_agg(bucket), array_agg(cell), array_agg(category), array_agg(status)
           FROM upserted WHERE n = 0",
    )
    .bind(BATCH)
    .fetch_one(&mut *tx)
    .await
    .context("folding heat deltas")?;
    if let Some(areas) = areas {
        // Keys whose count went back to zero (a status change moved them on).
        sqlx::query(
            "DELETE FROM heat_cells h
              USING unnest($1::uuid[], $2::int2[], $3::text[], $4::date[], $5::int8[], $6::text[], $7::text[])
                    AS k(area_id, res, grain, bucket, cell, category, status)
              WHERE h.area_id = k.area_id AND h.res = k.res AND h.grain = k.grain::\"char\"
                AND h.bucket = k.bucket AND h.cell = k.cell AND h.category = k.category
                AND h.status = k.status AND h.n = 0",
        )
        .bind(areas)
        .bind(res)
        .bind(grains)
        .bind(buckets)
        .bind(cells)
        .bind(cats)
        .bind(statuses)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(moved as u64)
}

/// Folds every pending delta (in batches).
pub async fn compact_all(pool: &PgPool) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let n = compact(pool).await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Folds deltas about once a second, for as long as the server runs.
pub async fn run_compactor(pool: PgPool) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = compact_all(&pool).await {
            tracing::warn!(error = ?e, "heat rollup compaction failed; retrying");
        }
    }
}

/// Computes the cell of incidents stored before cells existed (migration
/// 0004); the update triggers add them to the rollup. Returns how many.
pub async fn backfill_cells(pool: &PgPool) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let rows: Vec<(Uuid, Uuid, f64, f64)> = sqlx::query_as(
            "SELECT area_id, id, ST_Y(geom), ST_X(geom) FROM incidents WHERE cell IS NULL LIMIT 5000",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(total);
        }
        let (mut areas, mut ids, mut cs) = (vec![], vec![], vec![]);
        for (a, id, lat, lon) in &rows {
            areas.push(*a);
            ids.push(*id);
            cs.push(cells::cell_of(*lat, *lon).context("stored location is not a valid coordinate")?);
        }
        sqlx::query(
            "UPDATE incidents i SET cell = k.cell
               FROM unnest($1::uuid[], $2::uuid[], $3::int8[]) AS k(area_id, id, cell)
              WHERE i.area_id = k.area_id AND i.id = k.id",
        )
        .bind(&areas)
        .bind(&ids)
        .bind(&cs)
        .execute(pool)
        .await?;
        total += rows.len() as u64;
    }
}

/// Rebuilds the whole rollup from the incidents, set-based (after a bulk load
/// with the triggers disabled, or to repair). Takes an exclusive lock on the
/// rollup tables while it runs.
pub async fn rebuild(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(COMPACTOR_LOCK).execute(&mut *tx).await?;
    sqlx::query("LOCK TABLE incidents IN SHARE MODE").execute(&mut *tx).await?;
    sqlx::query("TRUNCATE heat_cells, heat_delta").execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO heat_cells (area_id, res, grain, bucket, cell, category, status, n)
         WITH fine AS (
             SELECT area_id, cell, kvo_local_day(occurred_at) AS day, category, status, count(*)::int4 AS n
               FROM incidents WHERE cell IS NOT NULL
              GROUP BY 1, 2, 3, 4, 5
         )
         SELECT f.area_id, r.res::int2, g.grain,
                CASE WHEN g.grain = 'd' THEN f.day ELSE date_trunc('month', f.day)::date END,
                kvo_h3_parent(f.cell, r.res), f.category, f.status, sum(f.n)::int4
           FROM fine f
           CROSS JOIN generate_series(7, 11) AS r(res)
           CROSS JOIN (VALUES ('d'::\"char\"), ('m'::\"char\")) AS g(grain)
          GROUP BY 1, 2, 3, 4, 5, 6, 7",
    )
    .execute(&mut *tx)
    .await
    .context("rebuilding heat_cells")?;
    sqlx::query(
        "INSERT INTO heat_version (area_id, version) SELECT id, 1 FROM areas
         ON CONFLICT (area_id) DO UPDATE SET version = heat_version.version + 1",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
