//! The rollup behind every count (ADR 0006).
//!
//! Triggers on `incidents` append a +1/-1 row to `heat_delta` in the same
//! transaction as every insert, change and deletion. [`compact`] folds the
//! deltas into `heat_counts` (per H3 cell at resolutions 7–11) and
//! `margin_counts` (per zone, hour of the week, time to resolution, and in
//! total), each per day and per month, and resolution 7 also into aligned
//! blocks of days (`heat_blocks`, packed per block as bytes in `heat_packs`:
//! ADR 0019, 0025). A row holds its counts per (category, status) as two parallel
//! arrays: the pairs' numbers in `rollup_keys` and their counts. Readers add
//! the folded rows and the deltas not yet folded of one snapshot (one
//! statement; for the packs, which are also kept in memory per area
//! version, packs of the versions that statement read: ADR 0021, 0022, 0024),
//! so an answer is exact and includes every committed change.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock},
    time::Duration,
};

use anyhow::Context;
use chrono::NaiveDate;
use h3o::{CellIndex, Resolution};
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use super::{Filter, cells};
use crate::{cache::Cache, error::Result};

/// How many deltas one compaction folds at most.
const BATCH: i64 = 20_000;
/// How many versions of an area `heat_pack_log` keeps (ADR 0024): a server
/// whose packs of an area are older reads them all again.
const PACK_LOG_VERSIONS: i64 = 256;
/// An arbitrary constant: the advisory lock that makes one compactor run at a time.
const COMPACTOR_LOCK: i64 = 0x6b76_6f5f_726f_6c6c;

/// The (category, status) pair behind each number in the rollup's arrays.
#[derive(Debug, Default)]
pub struct Keys(Vec<Option<(String, String)>>);

impl Keys {
    /// Reads every pair. Numbers are never reused, so a list read after the
    /// rows knows every number in them (readers use [`keys`]).
    async fn load<'e>(db: impl sqlx::Executor<'e, Database = Postgres>) -> Result<Keys> {
        let rows = sqlx::query!("SELECT idx, category, status FROM rollup_keys").fetch_all(db).await?;
        let mut keys = vec![None; rows.iter().map(|r| r.idx as usize + 1).max().unwrap_or(0)];
        for r in rows {
            keys[r.idx as usize] = Some((r.category, r.status));
        }
        Ok(Keys(keys))
    }

    /// The pair behind `idx`.
    pub fn get(&self, idx: i16) -> Option<(&str, &str)> {
        self.0.get(usize::try_from(idx).ok()?)?.as_ref().map(|(c, s)| (c.as_str(), s.as_str()))
    }

    /// Per number: does the filter take it?
    pub fn mask(&self, f: &Filter) -> Vec<bool> {
        self.0
            .iter()
            .map(|k| {
                k.as_ref().is_some_and(|(c, s)| {
                    f.categories.as_ref().is_none_or(|cs| cs.contains(c))
                        && f.statuses.as_ref().is_none_or(|ss| ss.iter().any(|x| x.code() == s))
                })
            })
            .collect()
    }
}

/// The sum of the counts of `ks`/`ns` that `mask` takes.
pub fn masked_sum(mask: &[bool], ks: &[i16], ns: &[i32]) -> i64 {
    ks.iter()
        .zip(ns)
        .filter(|(k, _)| mask.get(**k as usize).copied().unwrap_or(false))
        .map(|(_, n)| i64::from(*n))
        .sum()
}

/// Counts per cell at `res` for `f`, exact: the folded rollup plus the pending deltas.
pub async fn cell_counts(
    pool: &PgPool,
    area_id: Uuid,
    res: Resolution,
    f: &Filter,
) -> Result<Vec<(CellIndex, i64)>> {
    Ok(cell_counts_of(pool, &[area_id], res, f).await?.into_iter().map(|(_, c, n)| (c, n)).collect())
}

/// A rollup row of one cell: area, cell, and its keys and counts (keys NULL for a pending delta).
type CellRow = (Uuid, i64, Option<Vec<i16>>, Vec<i32>);

/// The largest block of `heat_blocks`: 2^10 days (`kvo_block_levels()`).
pub const MAX_BLOCK_LEVEL: i16 = 10;

/// A day's number in `heat_blocks` (`kvo_day_number`): days since 2000-01-01.
fn day_number(day: NaiveDate) -> i32 {
    let zero = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
    (day - zero).num_days() as i32
}

/// The blocks (level, block) of `heat_blocks` that tile the days
/// `[from, until)` exactly: from the left, each the largest block that starts
/// there and fits. At most about two per level, whatever the period's length.
pub fn day_blocks(from: NaiveDate, until: NaiveDate) -> (Vec<i16>, Vec<i32>) {
    let (mut day, end) = (day_number(from), day_number(until));
    let (mut levels, mut blocks) = (vec![], vec![]);
    while day < end {
        let level = (0..=MAX_BLOCK_LEVEL)
            .rev()
            .find(|&l| day & ((1 << l) - 1) == 0 && day + (1 << l) <= end)
            .unwrap_or(0);
        levels.push(level);
        blocks.push(day >> level);
        day += 1 << level;
    }
    (levels, blocks)
}

/// The pending deltas of the areas `$1` in the days `$3`..`$4` with the
/// categories `$5` and statuses `$6` (each NULL for all): the readers' filter,
/// applied here because a delta is one (category, status).
const PENDING: &str = "FROM heat_delta
      WHERE area_id = ANY($1) AND day >= $3 AND day < $4
        AND ($5::text[] IS NULL OR category = ANY($5)) AND ($6::text[] IS NULL OR status = ANY($6))";

/// [`cell_counts`] of several areas in one query, per area (the region view).
pub async fn cell_counts_of(
    pool: &PgPool,
    area_ids: &[Uuid],
    res: Resolution,
    f: &Filter,
) -> Result<Vec<(Uuid, CellIndex, i64)>> {
    let sums = if res == Resolution::Seven {
        block_counts(pool, area_ids, f).await?
    } else {
        month_counts(pool, area_ids, res, f).await?
    };
    Ok(sums
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .filter_map(|((a, c), n)| Some((a, cells::from_db(c)?, n)))
        .collect())
}

/// Counts per area and cell at `res`: whole months from the month rows, the
/// days at either end from the day rows, and the pending deltas.
async fn month_counts(
    pool: &PgPool,
    area_ids: &[Uuid],
    res: Resolution,
    f: &Filter,
) -> Result<HashMap<(Uuid, i64), i64>> {
    let (m0, m1) = f.whole_months();
    let rows: Vec<CellRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT area_id, cell, ks, ns FROM heat_counts
          WHERE area_id = ANY($1) AND res = $2 AND grain = 'm' AND bucket >= $7 AND bucket < $8
         UNION ALL
         SELECT area_id, cell, ks, ns FROM heat_counts
          WHERE area_id = ANY($1) AND res = $2 AND grain = 'd' AND bucket >= $3 AND bucket < $7
         UNION ALL
         SELECT area_id, cell, ks, ns FROM heat_counts
          WHERE area_id = ANY($1) AND res = $2 AND grain = 'd' AND bucket >= $8 AND bucket < $4
         UNION ALL
         SELECT area_id, kvo_h3_parent(cell, $2::int4), NULL, ARRAY[sum(n)::int4] {PENDING} GROUP BY 1, 2"
    )))
    .bind(area_ids)
    .bind(i16::from(u8::from(res)))
    .bind(f.from)
    .bind(f.until)
    .bind(&f.categories)
    .bind(f.status_codes())
    .bind(m0)
    .bind(m1)
    .fetch_all(pool)
    .await?;
    let mask =
        keys(pool, database_of(pool), max_key(rows.iter().filter_map(|r| r.2.as_deref()))).await?.mask(f);
    let mut sums: HashMap<(Uuid, i64), i64> = HashMap::with_capacity(rows.len() / 4 + 1);
    for (area, cell, ks, ns) in rows {
        let n = match ks {
            Some(ks) => masked_sum(&mask, &ks, &ns),
            None => ns.iter().map(|&n| i64::from(n)).sum(),
        };
        if n != 0 {
            *sums.entry((area, cell)).or_default() += n;
        }
    }
    Ok(sums)
}

/// The cells of one area's block: a row of `heat_packs` (migration 0026),
/// one cell after the other, big-endian: the cell (8 bytes), its number of
/// pairs (2), then each pair's key (2) and count (4). Checked once when
/// read; an absent row is an empty pack.
#[derive(Debug, Default)]
struct Pack {
    bytes: Vec<u8>,
    /// The highest key number in it (-1 when empty): the [`Keys`] to use must know it.
    max_key: i32,
}

/// The bytes before a cell's pairs, and of one pair.
const CELL: usize = 10;
const PAIR: usize = 6;

impl Pack {
    /// `bytes` as a pack, if they are one.
    fn new(bytes: Vec<u8>) -> Option<Pack> {
        let (mut at, mut max_key) = (0, -1);
        while at < bytes.len() {
            let pairs = Pack::pairs_at(&bytes, at)?;
            max_key = pairs
                .chunks_exact(PAIR)
                .map(|p| i32::from(i16::from_be_bytes([p[0], p[1]])))
                .fold(max_key, i32::max);
            at += CELL + pairs.len();
        }
        Some(Pack { bytes, max_key })
    }

    /// The pairs of the cell that starts at `at`.
    fn pairs_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
        let n = i16::from_be_bytes(bytes.get(at + 8..at + CELL)?.try_into().ok()?);
        bytes.get(at + CELL..at + CELL + usize::try_from(n).ok()? * PAIR)
    }

    /// Each cell and the sum of its counts whose key `mask` takes.
    fn sums<'a>(&'a self, mask: &'a [bool]) -> impl Iterator<Item = (i64, i64)> + 'a {
        let mut at = 0;
        std::iter::from_fn(move || {
            let cell = i64::from_be_bytes(self.bytes.get(at..at + 8)?.try_into().ok()?);
            let pairs = Pack::pairs_at(&self.bytes, at)?;
            at += CELL + pairs.len();
            let takes = |p: &&[u8]| {
                usize::try_from(i16::from_be_bytes([p[0], p[1]]))
                    .is_ok_and(|k| mask.get(k).copied().unwrap_or(false))
            };
            let sum = pairs
                .chunks_exact(PAIR)
                .filter(takes)
                .map(|p| i64::from(i32::from_be_bytes([p[2], p[3], p[4], p[5]])))
                .sum();
            Some((cell, sum))
        })
    }

    /// What it weighs in an [`AreaPacks`]: itself and its map entry.
    fn weight(&self) -> usize {
        80 + self.bytes.len()
    }
}

/// The packs of one area as read, by (level, block), at one rollup version
/// of the area (`heat_version`); `weight` is theirs, kept as they come.
#[derive(Default)]
struct AreaPacks {
    version: i64,
    weight: usize,
    blocks: HashMap<(i16, i32), Arc<Pack>>,
}

impl AreaPacks {
    /// From version `then` to `now`: drops the packs the folds in between
    /// rewrote (`rewritten`), or all when that is not known. Left alone when
    /// it is no longer at `then` (another read moved it on).
    fn move_on(&mut self, then: i64, now: i64, rewritten: Option<HashSet<(i16, i32)>>) {
        if self.version != then {
            return;
        }
        let Some(gone) = rewritten else {
            *self = AreaPacks { version: now, ..AreaPacks::default() };
            return;
        };
        for at in gone {
            if let Some(pack) = self.blocks.remove(&at) {
                self.weight -= pack.weight();
            }
        }
        self.version = now;
    }
}

/// Packs by database and area. A pack changes only in a fold or a rebuild,
/// and both bump its area's version in the same transaction, so packs read
/// at the version an area still has are the packs in the database. Most
/// periods share their large blocks, so a new period mostly reads what is
/// here. One entry per area, read and grown in place: one lookup per area.
fn packs() -> &'static Cache<(u64, Uuid), AreaPacks> {
    static PACKS: LazyLock<Cache<(u64, Uuid), AreaPacks>> =
        LazyLock::new(|| Cache::new(None, 64 * 1024 * 1024, |_, a| 64 + a.weight));
    &PACKS
}

/// The (category, status) numbers of `pool`'s database `db`, read again only
/// when `need` (the highest number in the rows at hand) is not among them:
/// numbers are never reused or renumbered, only added.
async fn keys(pool: &PgPool, db: u64, need: i32) -> Result<Arc<Keys>> {
    static KEYS: LazyLock<Cache<u64, Arc<Keys>>> = LazyLock::new(|| Cache::new(None, 256, |_, _| 1));
    let known = |k: &Arc<Keys>| {
        need < 0 || usize::try_from(need).is_ok_and(|n| k.0.get(n).is_some_and(Option::is_some))
    };
    if let Some(k) = KEYS.get_if(&db, known) {
        return Ok(k);
    }
    let k = Arc::new(Keys::load(pool).await?);
    KEYS.put(db, k.clone());
    Ok(k)
}

/// The highest key number in `ks` lists, -1 for none.
fn max_key<'a>(ks: impl Iterator<Item = &'a [i16]>) -> i32 {
    ks.flat_map(|k| k.iter().copied()).max().map_or(-1, i32::from)
}

/// Which database a pool reaches (a process may reach several: the tests).
fn database_of(pool: &PgPool) -> u64 {
    use std::hash::{Hash, Hasher};
    let o = pool.connect_options();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (o.get_host(), o.get_port(), o.get_socket(), o.get_database()).hash(&mut h);
    h.finish()
}

/// Counts per area and cell at resolution 7: the packs of the blocks that
/// tile the period (ADR 0019), from memory while their area's version holds
/// ([`packs`]), and the pending deltas, all of one state of the database
/// (ADR 0021, 0022).
async fn block_counts(pool: &PgPool, area_ids: &[Uuid], f: &Filter) -> Result<HashMap<(Uuid, i64), i64>> {
    let db = database_of(pool);
    let mut conn = pool.acquire().await?;
    // Optimistic: two statements, checked by the versions (below); when a
    // fold came between them, again inside one snapshot, where it cannot.
    let (found, pending) = match read_blocks(&mut conn, db, area_ids, f).await? {
        Some(read) => read,
        None => {
            let mut tx =
                sqlx::Connection::begin_with(&mut *conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
            let read = read_blocks(&mut tx, db, area_ids, f)
                .await?
                .context("rollup versions changed inside one snapshot")?;
            tx.commit().await?;
            read
        }
    };
    drop(conn);
    let need = found.iter().map(|(_, p)| p.max_key).max().unwrap_or(-1);
    let mask = keys(pool, db, need).await?.mask(f);
    let mut sums: HashMap<(Uuid, i64), i64> = HashMap::with_capacity(found.len() * 2);
    for (area, pack) in &found {
        for (cell, n) in pack.sums(&mask) {
            if n != 0 {
                *sums.entry((*area, cell)).or_default() += n;
            }
        }
    }
    for (area, cell, n) in pending {
        *sums.entry((area, cell)).or_default() += n;
    }
    Ok(sums)
}

/// The packs (area, pack) and the pending deltas per (area, cell) behind
/// [`block_counts`]. The first statement reads the areas' versions and the
/// deltas (one snapshot), and for areas whose packs are in memory at an
/// older version the `heat_pack_log` rows since (ADR 0024), so that only the
/// packs rewritten since are dropped; packs not in memory at those versions are read by
/// a second, which also reads the versions again: a pack of an area whose
/// version is still the same is the pack of the first snapshot. `None` when
/// a version moved in between.
#[allow(clippy::type_complexity)]
async fn read_blocks(
    conn: &mut sqlx::PgConnection,
    db: u64,
    area_ids: &[Uuid],
    f: &Filter,
) -> Result<Option<(Vec<(Uuid, Arc<Pack>)>, Vec<(Uuid, i64, i64)>)>> {
    let (levels, blocks) = day_blocks(f.from, f.until);
    // The versions of the areas' packs in memory: the log says which of
    // them the folds since have rewritten (ADR 0024).
    let (held_areas, held): (Vec<Uuid>, Vec<i64>) =
        area_ids.iter().filter_map(|&a| packs().read(&(db, a), |p| (a, p.version))).unzip();
    type Row = (Uuid, Option<i64>, i64, Option<Vec<i16>>, Option<Vec<i32>>);
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT area_id, NULL::int8, version, NULL::int2[], NULL::int4[] FROM heat_version
          WHERE area_id = ANY($1)
         UNION ALL
         SELECT area_id, kvo_h3_parent(cell, $2::int4), sum(n)::int8, NULL, NULL {PENDING}
          GROUP BY area_id, kvo_h3_parent(cell, $2::int4)
         UNION ALL
         SELECT l.area_id, NULL, l.version, l.levels, l.blocks
           FROM unnest($7::uuid[], $8::int8[]) h(a, v)
           JOIN heat_pack_log l ON l.area_id = h.a AND l.version > h.v"
    )))
    .bind(area_ids)
    .bind(7i16)
    .bind(f.from)
    .bind(f.until)
    .bind(&f.categories)
    .bind(f.status_codes())
    .bind(&held_areas)
    .bind(&held)
    .fetch_all(&mut *conn)
    .await?;
    let mut versions: HashMap<Uuid, i64> = HashMap::with_capacity(area_ids.len());
    let mut pending = Vec::with_capacity(rows.len());
    let mut log: HashMap<Uuid, Vec<(i64, Vec<i16>, Vec<i32>)>> = HashMap::new();
    for (area, cell, n, levels, blocks) in rows {
        match (cell, levels, blocks) {
            (Some(cell), _, _) => pending.push((area, cell, n)),
            (None, Some(levels), Some(blocks)) => log.entry(area).or_default().push((n, levels, blocks)),
            _ => {
                versions.insert(area, n);
            }
        }
    }
    let version = |a: &Uuid| versions.get(a).copied().unwrap_or(0);
    for (&area, &then) in held_areas.iter().zip(&held) {
        let now = version(&area);
        if now == then {
            continue;
        }
        let rewritten = rewritten(then, now, log.get(&area).map_or(&[][..], Vec::as_slice));
        packs().update((db, area), AreaPacks::default, |a| a.move_on(then, now, rewritten));
    }
    let mut found: Vec<(Uuid, Arc<Pack>)> = Vec::with_capacity(area_ids.len() * levels.len());
    let mut missing: (Vec<Uuid>, Vec<i16>, Vec<i32>) = Default::default();
    for &area in area_ids {
        let v = version(&area);
        let cached: Vec<Option<Arc<Pack>>> = packs()
            .read(&(db, area), |a| {
                let get = |(l, b): (&i16, &i32)| a.blocks.get(&(*l, *b)).cloned();
                if a.version == v { levels.iter().zip(&blocks).map(get).collect() } else { vec![] }
            })
            .unwrap_or_default();
        for (i, (&level, &block)) in levels.iter().zip(&blocks).enumerate() {
            match cached.get(i).cloned().flatten() {
                Some(pack) => found.push((area, pack)),
                None => {
                    missing.0.push(area);
                    missing.1.push(level);
                    missing.2.push(block);
                }
            }
        }
    }
    if missing.0.is_empty() {
        return Ok(Some((found, pending)));
    }
    let rows: Vec<(Uuid, i16, i32, i64, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT t.a, t.l, t.b, coalesce(v.version, 0), p.pack
           FROM unnest($1::uuid[], $2::int2[], $3::int4[]) t(a, l, b)
           LEFT JOIN heat_version v ON v.area_id = t.a
           LEFT JOIN heat_packs p ON (p.area_id, p.level, p.block) = (t.a, t.l, t.b)",
    )
    .bind(&missing.0)
    .bind(&missing.1)
    .bind(&missing.2)
    .fetch_all(&mut *conn)
    .await?;
    if rows.iter().any(|r| r.3 != version(&r.0)) {
        return Ok(None);
    }
    let mut read: HashMap<Uuid, Vec<((i16, i32), Arc<Pack>)>> = HashMap::new();
    for (area, level, block, _, bytes) in rows {
        let pack = Pack::new(bytes.unwrap_or_default()).with_context(|| {
            format!("a malformed pack in heat_packs: area {area}, level {level}, block {block}")
        })?;
        let pack = Arc::new(pack);
        found.push((area, pack.clone()));
        read.entry(area).or_default().push(((level, block), pack));
    }
    for (area, new) in read {
        let v = version(&area);
        packs().update((db, area), AreaPacks::default, |a| {
            if a.version != v {
                *a = AreaPacks { version: v, ..AreaPacks::default() };
            }
            for (at, pack) in new {
                a.weight += pack.weight();
                if let Some(old) = a.blocks.insert(at, pack) {
                    a.weight -= old.weight();
                }
            }
        });
    }
    Ok(Some((found, pending)))
}

/// The blocks that the folds after version `then` of an area rewrote, up to
/// version `now`, from its `heat_pack_log` rows (version, levels, blocks)
/// after `then`. `None` when a version in between has no row (the rebuild
/// writes none; old rows are pruned): then none of the packs held is known
/// to be current.
fn rewritten(then: i64, now: i64, log: &[(i64, Vec<i16>, Vec<i32>)]) -> Option<HashSet<(i16, i32)>> {
    let mut seen: HashSet<i64> = HashSet::with_capacity(log.len());
    let mut gone = HashSet::new();
    for (v, levels, blocks) in log {
        if *v > then && *v <= now && seen.insert(*v) {
            gone.extend(levels.iter().copied().zip(blocks.iter().copied()));
        }
    }
    (now > then && seen.len() as i64 == now - then).then_some(gone)
}

/// A row of the analysis's margins: a folded row (`ks` set) or a pending
/// delta (`category`, `status` and `resolution_class` set; `key` is its hour
/// of the week, `bucket` its day).
#[derive(Debug, sqlx::FromRow)]
pub struct MarginRow {
    /// In the period (rather than its comparison).
    pub cur: bool,
    /// `t`, `z`, `w` or `r` (see `margin_counts`), or `d` for a delta.
    pub kind: String,
    pub bucket: NaiveDate,
    pub key: i32,
    pub zone_id: Option<Uuid>,
    pub ks: Option<Vec<i16>>,
    pub ns: Vec<i32>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub resolution_class: Option<i16>,
}

/// The margins of `f`'s period (totals per day; zones, hours of the week and
/// times to resolution) and of the comparison period `cmp` (zones and times
/// to resolution), folded rows plus pending deltas, in one statement.
pub async fn margins(
    pool: &PgPool,
    area_id: Uuid,
    f: &Filter,
    cmp: (NaiveDate, NaiveDate),
) -> Result<(Vec<MarginRow>, Arc<Keys>)> {
    let (m0, m1) = f.whole_months();
    let (c0, c1) = f.with_period(cmp.0, cmp.1).whole_months();
    let rows: Vec<MarginRow> = sqlx::query_as(
        "WITH m AS (
             SELECT true AS cur, kind, bucket, key, ks, ns FROM margin_counts
              WHERE area_id = $1 AND kind IN ('z', 'w', 'r') AND grain = 'm' AND bucket >= $4 AND bucket < $5
             UNION ALL
             SELECT true, kind, bucket, key, ks, ns FROM margin_counts
              WHERE area_id = $1 AND kind IN ('z', 'w', 'r') AND grain = 'd'
                AND ((bucket >= $2 AND bucket < $4) OR (bucket >= $5 AND bucket < $3))
             UNION ALL
             SELECT true, kind, bucket, key, ks, ns FROM margin_counts
              WHERE area_id = $1 AND kind = 't' AND grain = 'd' AND bucket >= $2 AND bucket < $3
             UNION ALL
             SELECT false, kind, bucket, key, ks, ns FROM margin_counts
              WHERE area_id = $1 AND kind IN ('z', 'r') AND grain = 'm' AND bucket >= $8 AND bucket < $9
             UNION ALL
             SELECT false, kind, bucket, key, ks, ns FROM margin_counts
              WHERE area_id = $1 AND kind IN ('z', 'r') AND grain = 'd'
                AND ((bucket >= $6 AND bucket < $8) OR (bucket >= $9 AND bucket < $7))
         )
         SELECT m.cur, m.kind::text AS kind, m.bucket, m.key, z.id AS zone_id, m.ks, m.ns,
                NULL::text AS category, NULL::text AS status, NULL::int2 AS resolution_class
           FROM m LEFT JOIN zones z ON m.kind = 'z' AND z.area_id = $1 AND z.num = m.key
         UNION ALL
         SELECT d.day >= $2 AND d.day < $3, 'd', d.day, d.week_hour, d.zone_id, NULL, ARRAY[d.n],
                d.category, d.status, d.resolution_class
           FROM heat_delta d
          WHERE d.area_id = $1 AND ((d.day >= $2 AND d.day < $3) OR (d.day >= $6 AND d.day < $7))
            AND ($10::text[] IS NULL OR d.category = ANY($10)) AND ($11::text[] IS NULL OR d.status = ANY($11))",
    )
    .bind(area_id)
    .bind(f.from)
    .bind(f.until)
    .bind(m0)
    .bind(m1)
    .bind(cmp.0)
    .bind(cmp.1)
    .bind(c0)
    .bind(c1)
    .bind(&f.categories)
    .bind(f.status_codes())
    .fetch_all(pool)
    .await?;
    let need = max_key(rows.iter().filter_map(|r| r.ks.as_deref()));
    Ok((rows, keys(pool, database_of(pool), need).await?))
}

/// The version of an area's aggregated data: it changes whenever an incident
/// of the area is added, changed or removed (also from another process).
pub async fn version(pool: &PgPool, area_id: Uuid) -> Result<(i64, i64)> {
    let v = sqlx::query!(
        r#"SELECT coalesce((SELECT version FROM heat_version WHERE area_id = $1), 0) AS "version!",
                  (SELECT count(*) FROM heat_delta WHERE area_id = $1) AS "pending!""#,
        area_id
    )
    .fetch_one(pool)
    .await?;
    Ok((v.version, v.pending))
}

/// Numbers the (category, status) pairs of the incidents or deltas in
/// `source` (a table expression) that have none yet.
fn number_new_keys(source: &str) -> String {
    format!(
        "INSERT INTO rollup_keys (idx, category, status)
         SELECT (SELECT coalesce(max(idx), 0) FROM rollup_keys) + row_number() OVER (ORDER BY category, status),
                category, status
           FROM (SELECT DISTINCT category, status FROM {source}
                 EXCEPT SELECT category, status FROM rollup_keys) s"
    )
}

/// Folds up to [`BATCH`] pending deltas into the rollup; returns how many it
/// folded (0 when another process holds the compactor lock).
pub async fn compact(pool: &PgPool) -> anyhow::Result<u64> {
    // The lock is taken before the fold's snapshot: taken inside the
    // transaction, a second compactor's snapshot could predate the first
    // one's commit and it would fold the same deltas again (it failed with a
    // serialization error instead, found by two compactors at once).
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(COMPACTOR_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(0);
    }
    let folded = fold(&mut conn).await;
    let unlocked =
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(COMPACTOR_LOCK).execute(&mut *conn).await;
    if unlocked.is_err() {
        // A connection that may still hold the lock must not go back to the pool.
        conn.detach();
    }
    folded
}

/// The statement that makes the packs (`heat_packs`, ADR 0019) of the blocks
/// of `heat_blocks` that `blocks` (a FROM clause naming them `c`) yields:
/// each block with cells gets one row of all its cells. Their old packs
/// must be gone first (the fold deletes those of every block it touched,
/// also of blocks left with no cells; the rebuild starts empty). Inserted
/// block by block, so that the packs of one block lie together (ADR 0026).
fn repack(blocks: &str) -> String {
    format!(
        "INSERT INTO heat_packs (area_id, level, block, pack)
         SELECT c.area_id, c.level, c.block,
                string_agg(kvo_pack_cell(c.cell, c.ks, c.ns), ''::bytea ORDER BY c.cell)
           FROM {blocks} WHERE cardinality(c.ks) > 0
          GROUP BY c.level, c.block, c.area_id
          ORDER BY c.level, c.block, c.area_id"
    )
}

/// What a fold moved, and the blocks (area, level, block) it changed.
type Touched = (i64, Option<Vec<Uuid>>, Option<Vec<i16>>, Option<Vec<i32>>);

/// One fold, under the compactor lock.
async fn fold(conn: &mut sqlx::PgConnection) -> anyhow::Result<u64> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    // One snapshot for the whole fold: the deltas numbered, moved and folded
    // are the same rows.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
    let last: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM (SELECT seq FROM heat_delta ORDER BY seq LIMIT $1) s")
            .bind(BATCH)
            .fetch_one(&mut *tx)
            .await?;
    let Some(last) = last else {
        return Ok(0);
    };
    let new_keys = number_new_keys("heat_delta WHERE seq <= $1");
    sqlx::query(sqlx::AssertSqlSafe(new_keys)).bind(last).execute(&mut *tx).await?;
    let (moved, areas, levels, blocks): Touched = sqlx::query_as(
        "WITH moved AS (
             DELETE FROM heat_delta WHERE seq <= $1
             RETURNING area_id, cell, day, category, status, zone_id, week_hour, resolution_class, n
         ), keyed AS (
             SELECT m.area_id, m.cell, m.day, k.idx, coalesce(z.num, 0) AS zone, m.week_hour,
                    m.resolution_class, m.n
               FROM moved m
               JOIN rollup_keys k ON k.category = m.category AND k.status = m.status
               LEFT JOIN zones z ON z.area_id = m.area_id AND z.id = m.zone_id
         ), grains AS (
             SELECT k.*, g.grain, kvo_bucket(g.grain, k.day) AS bucket FROM keyed k CROSS JOIN kvo_grains() g(grain)
         ), heat AS (
             SELECT area_id, res, grain, bucket, cell, array_agg(idx ORDER BY idx) AS ks,
                    array_agg(n ORDER BY idx) AS ns
               FROM (SELECT g.area_id, r.res::int2 AS res, g.grain, g.bucket,
                            kvo_h3_parent(g.cell, r.res) AS cell, g.idx, sum(g.n)::int4 AS n
                       FROM grains g CROSS JOIN generate_series(7, 11) AS r(res)
                      GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(g.n) <> 0) f
              GROUP BY 1, 2, 3, 4, 5
         ), heat_up AS (
             INSERT INTO heat_counts AS h (area_id, res, grain, bucket, cell, ks, ns)
             SELECT * FROM heat
             ON CONFLICT (area_id, res, grain, bucket, cell) DO UPDATE
                SET (ks, ns) = (SELECT m.ks, m.ns FROM kvo_merge(h.ks, h.ns, EXCLUDED.ks, EXCLUDED.ns) m)
         ), blocks AS (
             SELECT area_id, level, block, cell, array_agg(idx ORDER BY idx) AS ks,
                    array_agg(n ORDER BY idx) AS ns
               FROM (SELECT g.area_id, l.level, kvo_day_number(g.day) >> l.level AS block,
                            kvo_h3_parent(g.cell, 7) AS cell, g.idx, sum(g.n)::int4 AS n
                       FROM keyed g CROSS JOIN kvo_block_levels() AS l(level)
                      GROUP BY 1, 2, 3, 4, 5 HAVING sum(g.n) <> 0) f
              GROUP BY 1, 2, 3, 4
         ), blocks_up AS (
             INSERT INTO heat_blocks AS h (area_id, level, block, cell, ks, ns)
             SELECT * FROM blocks
             ON CONFLICT (area_id, level, block, cell) DO UPDATE
                SET (ks, ns) = (SELECT m.ks, m.ns FROM kvo_merge(h.ks, h.ns, EXCLUDED.ks, EXCLUDED.ns) m)
         ), margins AS (
             SELECT area_id, kind, grain, bucket, key, array_agg(idx ORDER BY idx) AS ks,
                    array_agg(n ORDER BY idx) AS ns
               FROM (SELECT g.area_id, x.kind, g.grain, g.bucket, x.key, g.idx, sum(g.n)::int4 AS n
                       FROM grains g
                      CROSS JOIN LATERAL (SELECT m.kind,
                                                 kvo_margin_key(m.kind, g.zone, g.week_hour, g.resolution_class)
                                                     AS key
                                            FROM kvo_margin_kinds() m(kind)) x
                      WHERE x.key IS NOT NULL
                      GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(g.n) <> 0) f
              GROUP BY 1, 2, 3, 4, 5
         ), margins_up AS (
             INSERT INTO margin_counts AS h (area_id, kind, grain, bucket, key, ks, ns)
             SELECT * FROM margins
             ON CONFLICT (area_id, kind, grain, bucket, key) DO UPDATE
                SET (ks, ns) = (SELECT m.ks, m.ns FROM kvo_merge(h.ks, h.ns, EXCLUDED.ks, EXCLUDED.ns) m)
         ), coverage_up AS (
             INSERT INTO coverage_counts AS c (area_id, day, band, cell, incidents)
             SELECT area_id, day, kvo_hour_band(week_hour), kvo_coverage_cell(cell), sum(n)::int4
               FROM moved GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
             ON CONFLICT (area_id, day, band, cell) DO UPDATE SET incidents = c.incidents + EXCLUDED.incidents
         ), versions AS (
             INSERT INTO heat_version AS v (area_id, version)
             SELECT DISTINCT area_id, 1 FROM moved
             ON CONFLICT (area_id) DO UPDATE SET version = v.version + 1
             RETURNING area_id, version
         ), touched AS (
             SELECT DISTINCT area_id, level, block FROM blocks
         ), logged AS (
             INSERT INTO heat_pack_log (area_id, version, levels, blocks)
             SELECT v.area_id, v.version,
                    coalesce(array_agg(t.level) FILTER (WHERE t.area_id IS NOT NULL), '{}'),
                    coalesce(array_agg(t.block) FILTER (WHERE t.area_id IS NOT NULL), '{}')
               FROM versions v LEFT JOIN touched t ON t.area_id = v.area_id
              GROUP BY v.area_id, v.version
         ), pruned AS (
             DELETE FROM heat_pack_log l USING versions v
              WHERE l.area_id = v.area_id AND l.version <= v.version - $2
         )
         SELECT (SELECT count(*) FROM moved), array_agg(area_id), array_agg(level), array_agg(block)
           FROM touched",
    )
    .bind(last)
    .bind(PACK_LOG_VERSIONS)
    .fetch_one(&mut *tx)
    .await
    .context("folding heat deltas")?;
    // Rows whose counts all went back to zero (a status change moved them on).
    sqlx::query("DELETE FROM heat_counts WHERE cardinality(ks) = 0").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM heat_blocks WHERE cardinality(ks) = 0").execute(&mut *tx).await?;
    if areas.as_ref().is_some_and(|a| !a.is_empty()) {
        const TOUCHED: &str =
            "(SELECT DISTINCT * FROM unnest($1::uuid[], $2::int2[], $3::int4[])) t(a, l, b)";
        let statements = [
            format!(
                "DELETE FROM heat_packs p USING {TOUCHED} WHERE (p.area_id, p.level, p.block) = (t.a, t.l, t.b)"
            ),
            repack(&format!(
                "{TOUCHED} JOIN heat_blocks c ON (c.area_id, c.level, c.block) = (t.a, t.l, t.b)"
            )),
        ];
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&areas)
                .bind(&levels)
                .bind(&blocks)
                .execute(&mut *tx)
                .await
                .context("packing the folded blocks")?;
        }
    }
    sqlx::query("DELETE FROM margin_counts WHERE cardinality(ks) = 0").execute(&mut *tx).await?;
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

/// Incidents without a cell, 5,000 at a time: read at every start, so through
/// the partial index `incidents_without_cell` (migration 0028), which is empty
/// in practice.
pub const WITHOUT_CELL: &str =
    "SELECT area_id, id, ST_Y(geom), ST_X(geom) FROM incidents WHERE cell IS NULL LIMIT 5000";

/// Computes the cell of incidents stored before cells existed (migration
/// 0004); the update triggers add them to the rollup. Returns how many.
pub async fn backfill_cells(pool: &PgPool) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let rows: Vec<(Uuid, Uuid, f64, f64)> = sqlx::query_as(WITHOUT_CELL).fetch_all(pool).await?;
        if rows.is_empty() {
            return Ok(total);
        }
        let (mut areas, mut ids, mut cs) = (vec![], vec![], vec![]);
        for &(area_id, id, lat, lon) in &rows {
            areas.push(area_id);
            ids.push(id);
            cs.push(cells::cell_of(lat, lon).context("stored location is not a valid coordinate")?);
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

/// The rows of `table` (with `day`, `idx` and a count `n`) summed per bucket
/// of `grain` and `keys` (columns of `table`), as the columns `keys`,
/// `bucket`, `idx`, `n`. `kvo_bucket` inlines (a test keeps it so), so the
/// day grain groups by `day` itself.
fn per_bucket(grain: &str, table: &str, keys: &str, filter: &str) -> String {
    format!(
        "SELECT {keys}, kvo_bucket('{grain}', day) AS bucket, idx, sum(n)::int4 AS n
           FROM {table} WHERE {filter} GROUP BY {keys}, kvo_bucket('{grain}', day), idx"
    )
}

/// Rebuilds the whole rollup from the incidents, set-based and level by
/// level (each resolution from the one below it), after a bulk load with the
/// triggers disabled or as a repair. Locks the incidents against writes
/// while it runs.
pub async fn rebuild(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(COMPACTOR_LOCK).execute(&mut *tx).await?;
    sqlx::query("LOCK TABLE incidents IN SHARE MODE").execute(&mut *tx).await?;
    sqlx::query("SET LOCAL work_mem = '256MB'").execute(&mut *tx).await?;
    sqlx::query("TRUNCATE heat_counts, heat_blocks, heat_packs, margin_counts, heat_delta")
        .execute(&mut *tx)
        .await?;
    let new_keys = number_new_keys("incidents WHERE kvo_counts(cell, merged_into)");
    sqlx::query(sqlx::AssertSqlSafe(new_keys)).execute(&mut *tx).await?;
    const PACK: &str = "array_agg(idx ORDER BY idx), array_agg(n ORDER BY idx)";
    // The grains and margin kinds are the database's (migration 0009).
    let grains: Vec<String> =
        sqlx::query_scalar("SELECT g::text FROM kvo_grains() g").fetch_all(&mut *tx).await?;
    let statements = [
        // What every counted incident contributes (migration 0009), once.
        "CREATE TEMP TABLE kvo_facts ON COMMIT DROP AS
         SELECT f.*, k.idx
           FROM incidents i
          CROSS JOIN LATERAL kvo_heat_fact(i) f
           JOIN rollup_keys k ON k.category = f.category AND k.status = f.status
          WHERE kvo_counts(i.cell, i.merged_into)"
            .to_string(),
        "CREATE TEMP TABLE kvo_level ON COMMIT DROP AS
         SELECT area_id, cell, day, idx, count(*)::int4 AS n FROM kvo_facts GROUP BY 1, 2, 3, 4"
            .to_string(),
        "CREATE TEMP TABLE kvo_margin ON COMMIT DROP AS
         SELECT f.area_id, f.day, coalesce(z.num, 0) AS zone, f.week_hour, f.resolution_class, f.idx,
                count(*)::int4 AS n
           FROM kvo_facts f LEFT JOIN zones z ON z.area_id = f.area_id AND z.id = f.zone_id
          GROUP BY 1, 2, 3, 4, 5, 6"
            .to_string(),
        // Coverage keeps its passes (they come from patrols, not incidents).
        "UPDATE coverage_counts SET incidents = 0 WHERE incidents <> 0".to_string(),
        "INSERT INTO coverage_counts AS c (area_id, day, band, cell, incidents)
         SELECT area_id, day, kvo_hour_band(week_hour), kvo_coverage_cell(cell), count(*)::int4
           FROM kvo_facts GROUP BY 1, 2, 3, 4
         ON CONFLICT (area_id, day, band, cell) DO UPDATE SET incidents = EXCLUDED.incidents"
            .to_string(),
        "DROP TABLE kvo_facts".to_string(),
    ];
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.context("rebuilding the rollup")?;
    }
    for res in (7..=11).rev() {
        let mut sql = vec![];
        if res < 11 {
            sql.push(format!(
                "CREATE TEMP TABLE kvo_coarser ON COMMIT DROP AS
                 SELECT area_id, kvo_h3_parent(cell, {res}) AS cell, day, idx, sum(n)::int4 AS n
                   FROM kvo_level GROUP BY 1, 2, 3, 4"
            ));
            sql.push("DROP TABLE kvo_level".into());
            sql.push("ALTER TABLE kvo_coarser RENAME TO kvo_level".into());
        }
        // One grain at a time, so that kvo_bucket folds into a plain expression.
        for grain in &grains {
            let rows = per_bucket(grain, "kvo_level", "area_id, cell", "true");
            sql.push(format!(
                "INSERT INTO heat_counts (area_id, res, grain, bucket, cell, ks, ns)
                 SELECT area_id, {res}, '{grain}', bucket, cell, {PACK} FROM ({rows}) s
                  GROUP BY area_id, bucket, cell"
            ));
        }
        if res == 7 {
            sql.push(format!(
                "INSERT INTO heat_blocks (area_id, level, block, cell, ks, ns)
                 SELECT area_id, level, block, cell, {PACK}
                   FROM (SELECT area_id, l.level, kvo_day_number(day) >> l.level AS block, cell, idx,
                                sum(n)::int4 AS n
                           FROM kvo_level CROSS JOIN kvo_block_levels() AS l(level)
                          GROUP BY 1, 2, 3, 4, 5) s
                  GROUP BY area_id, level, block, cell"
            ));
        }
        for statement in sql {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await
                .with_context(|| format!("rebuilding resolution {res}"))?;
        }
    }
    sqlx::query(sqlx::AssertSqlSafe(repack("heat_blocks c")))
        .execute(&mut *tx)
        .await
        .context("packing the blocks")?;
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT k::text FROM kvo_margin_kinds() k").fetch_all(&mut *tx).await?;
    for kind in &kinds {
        for grain in &grains {
            let keyed = format!(
                "(SELECT area_id, day, idx, n, kvo_margin_key('{kind}', zone, week_hour, resolution_class) AS key
                    FROM kvo_margin) m"
            );
            let rows = per_bucket(grain, &keyed, "area_id, key", "key IS NOT NULL");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO margin_counts (area_id, kind, grain, bucket, key, ks, ns)
                 SELECT area_id, '{kind}', '{grain}', bucket, key, {PACK} FROM ({rows}) s
                  GROUP BY area_id, bucket, key"
            )))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("rebuilding the {kind} margins"))?;
        }
    }
    sqlx::query(
        "INSERT INTO heat_version (area_id, version) SELECT id, 1 FROM areas
         ON CONFLICT (area_id) DO UPDATE SET version = heat_version.version + 1",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn a_pack_is_read_cell_by_cell_and_checked() {
        // What kvo_pack_cell (migration 0026) writes, for two cells.
        let cell = |c: i64, pairs: &[(i16, i32)]| {
            let mut b = c.to_be_bytes().to_vec();
            b.extend((pairs.len() as i16).to_be_bytes());
            for (k, n) in pairs {
                b.extend(k.to_be_bytes());
                b.extend(n.to_be_bytes());
            }
            b
        };
        let bytes = [cell(0x0871_9a13_ffff_ffff, &[(0, 3), (2, 5), (7, 1)]), cell(-1, &[])].concat();
        let pack = Pack::new(bytes.clone()).expect("a pack");
        assert_eq!(pack.max_key, 7);
        let all = vec![true; 8];
        assert_eq!(pack.sums(&all).collect::<Vec<_>>(), vec![(0x0871_9a13_ffff_ffff, 9), (-1, 0)]);
        let some = [false, false, true];
        assert_eq!(pack.sums(&some).collect::<Vec<_>>(), vec![(0x0871_9a13_ffff_ffff, 5), (-1, 0)]);
        assert_eq!(Pack::new(vec![]).map(|p| p.max_key), Some(-1), "an absent row");
        for cut in [1, 9, 11, 15, bytes.len() - 1] {
            assert!(Pack::new(bytes[..bytes.len() - cut].to_vec()).is_none(), "{cut} bytes short");
        }
        assert!(
            Pack::new(cell(1, &[(-2, 1)])).is_some_and(|p| p.sums(&all).eq([(1, 0)])),
            "a key no mask takes"
        );
    }

    #[test]
    fn only_a_log_without_gaps_keeps_the_packs_it_does_not_name() {
        let row = |v: i64, at: &[(i16, i32)]| {
            (v, at.iter().map(|a| a.0).collect(), at.iter().map(|a| a.1).collect())
        };
        let log = vec![row(5, &[(0, 9000), (1, 4500)]), row(6, &[]), row(7, &[(0, 9001), (1, 4500)])];
        let gone = rewritten(4, 7, &log).expect("versions 5, 6 and 7 are logged");
        assert_eq!(gone, HashSet::from([(0, 9000), (1, 4500), (0, 9001)]));
        assert_eq!(rewritten(5, 6, &log[1..2]), Some(HashSet::new()), "a fold that rewrote nothing");
        // Version 8 was a rebuild (no row), or 5 was pruned: nothing held is known.
        assert_eq!(rewritten(4, 8, &log), None);
        assert_eq!(rewritten(4, 7, &log[1..]), None);
        // A row counted twice does not hide a missing one; nothing held is newer.
        assert_eq!(rewritten(4, 7, &[log[0].clone(), log[0].clone(), log[2].clone()]), None);
        assert_eq!(rewritten(7, 4, &log), None);
    }

    #[test]
    fn day_blocks_tile_a_period_exactly_with_few_blocks() {
        let zero = NaiveDate::from_ymd_opt(1999, 6, 1).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let from = zero + chrono::Days::new(rng.random_range(0..12_000));
            let until = from + chrono::Days::new(rng.random_range(0..5_000));
            let (levels, blocks) = day_blocks(from, until);
            // Each block starts where the one before ended; the last ends at `until`.
            let mut day = day_number(from);
            for (&l, &b) in levels.iter().zip(&blocks) {
                assert!((0..=MAX_BLOCK_LEVEL).contains(&l));
                assert_eq!(b << l, day, "{from}..{until}");
                day += 1 << l;
            }
            assert_eq!(day, day_number(until), "{from}..{until}");
            let whole = ((until - from).num_days() >> MAX_BLOCK_LEVEL) as usize;
            assert!(levels.len() <= 2 * MAX_BLOCK_LEVEL as usize + whole, "{from}..{until}: {levels:?}");
        }
        // A day before 2000 and an empty period.
        assert_eq!(day_blocks(zero, zero + chrono::Days::new(1)), (vec![0], vec![day_number(zero)]));
        assert_eq!(day_blocks(zero, zero), (vec![], vec![]));
        // Three years is a handful of blocks, not months and days.
        let from = NaiveDate::from_ymd_opt(2024, 3, 14).unwrap();
        assert!(day_blocks(from, NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()).0.len() <= 16);
    }
}
