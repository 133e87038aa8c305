//! The one in-memory cache of the server: entries by key, each valid while it
//! is younger than the cache's time to live (if it has one) and while the
//! caller's check of it holds (a data version, say); the oldest entries go
//! first when the weight budget is spent.
//!
//! Used for resolved credentials, area indexes, vector tiles, region
//! answers, heatmap cell texts, resolution-7 packs and the rollup's key numbers.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A bounded cache; `get` clones `V` out (keep it cheap: an `Arc` or small),
/// `read` and `update` work on it in place.
pub struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
    ttl: Option<Duration>,
    budget: usize,
    weigh: fn(&K, &V) -> usize,
}

struct Inner<K, V> {
    map: HashMap<K, (Instant, V)>,
    order: VecDeque<K>,
    weight: usize,
}

impl<K: Eq + Hash + Clone, V> Cache<K, V> {
    /// At most `entries` entries, each trusted for `ttl`.
    pub fn with_ttl(ttl: Duration, entries: usize) -> Self {
        Cache::new(Some(ttl), entries, |_, _| 1)
    }

    /// Entries of at most `budget` in all, as `weigh` counts them, trusted for `ttl` (or until evicted).
    pub fn new(ttl: Option<Duration>, budget: usize, weigh: fn(&K, &V) -> usize) -> Self {
        Cache {
            inner: Mutex::new(Inner { map: HashMap::new(), order: VecDeque::new(), weight: 0 }),
            ttl,
            budget,
            weigh,
        }
    }

    /// Whether an entry stored `at` is still within the time to live.
    fn fresh(&self, at: &Instant) -> bool {
        self.ttl.is_none_or(|ttl| at.elapsed() < ttl)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves a consistent map: every
        // mutation below completes before it can panic.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What `read` makes of the entry under `key`, if it is fresh; nothing
    /// is cloned (for large entries read in part).
    pub fn read<R>(&self, key: &K, read: impl FnOnce(&V) -> R) -> Option<R> {
        let inner = self.lock();
        let (at, v) = inner.map.get(key)?;
        self.fresh(at).then(|| read(v))
    }

    /// Changes the entry under `key` in place, or stores `new()` changed when
    /// there is none or it is stale; then weighs it again and keeps to the
    /// budget. Keep `weigh` cheap for entries changed this way, and `change`
    /// free of panics (the lock's promise above).
    pub fn update(&self, key: K, new: impl FnOnce() -> V, change: impl FnOnce(&mut V)) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        match inner.map.get_mut(&key) {
            Some((at, v)) if self.fresh(at) => {
                inner.weight -= (self.weigh)(&key, v);
                change(v);
                inner.weight += (self.weigh)(&key, v);
            }
            _ => {
                let mut v = new();
                change(&mut v);
                inner.weight += (self.weigh)(&key, &v);
                match inner.map.insert(key.clone(), (Instant::now(), v)) {
                    Some((_, old)) => inner.weight -= (self.weigh)(&key, &old),
                    None => inner.order.push_back(key),
                }
            }
        }
        inner.evict(self.budget, self.weigh);
    }

    /// Stores `value` under `key`, evicting the oldest entries beyond the budget.
    pub fn put(&self, key: K, value: V) {
        let w = (self.weigh)(&key, &value);
        let mut inner = self.lock();
        match inner.map.insert(key.clone(), (Instant::now(), value)) {
            Some((_, old)) => inner.weight -= (self.weigh)(&key, &old),
            None => inner.order.push_back(key),
        }
        inner.weight += w;
        inner.evict(self.budget, self.weigh);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.order.clear();
        inner.weight = 0;
    }

    /// Forgets `key`.
    pub fn remove(&self, key: &K) {
        let mut inner = self.lock();
        if let Some((_, v)) = inner.map.remove(key) {
            inner.weight -= (self.weigh)(key, &v);
            inner.order.retain(|k| k != key);
        }
    }
}

/// Reading entries out: they are cloned.
impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    /// The entry under `key`, if it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_if(key, |_| true)
    }

    /// The entry under `key`, if it is fresh and `valid` holds for it.
    pub fn get_if(&self, key: &K, valid: impl FnOnce(&V) -> bool) -> Option<V> {
        let inner = self.lock();
        let (at, v) = inner.map.get(key)?;
        (self.fresh(at) && valid(v)).then(|| v.clone())
    }

    /// The entry under `key`, however old (to revalidate it).
    pub fn get_any_age(&self, key: &K) -> Option<V> {
        self.lock().map.get(key).map(|(_, v)| v.clone())
    }
}

impl<K: Eq + Hash, V> Inner<K, V> {
    /// Drops the oldest entries until the weight is within `budget`.
    fn evict(&mut self, budget: usize, weigh: fn(&K, &V) -> usize) {
        while self.weight > budget {
            let Some(k) = self.order.pop_front() else { break };
            if let Some((_, v)) = self.map.remove(&k) {
                self.weight -= weigh(&k, &v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_to_its_budget_oldest_first() {
        let c: Cache<&str, Vec<u8>> = Cache::new(None, 1_000, |_, v| v.len());
        c.put("a", vec![0; 400]);
        c.put("b", vec![0; 400]);
        assert!(c.get(&"a").is_some());
        c.put("c", vec![0; 400]);
        assert!(c.get(&"a").is_none(), "the oldest went first");
        assert!(c.get(&"b").is_some() && c.get(&"c").is_some());
        c.put("c", vec![0; 100]);
        c.put("d", vec![0; 400]);
        assert!(c.get(&"b").is_some(), "a replaced entry gave its weight back");
    }

    #[test]
    fn changes_in_place_within_its_budget() {
        let c: Cache<&str, Vec<u8>> = Cache::new(None, 1_000, |_, v| v.len());
        c.update("a", Vec::new, |v| v.extend([1; 300]));
        c.update("a", Vec::new, |v| v.extend([2; 300]));
        assert_eq!(c.read(&"a", |v| (v.len(), v[299], v[300])), Some((600, 1, 2)), "changed, not replaced");
        c.put("b", vec![0; 300]);
        c.update("a", Vec::new, |v| v.extend([3; 200]));
        assert!(c.get(&"a").is_none(), "800 + 300 is over the budget: the oldest went");
        assert_eq!(c.read(&"b", Vec::len), Some(300));
    }

    #[test]
    fn checks_validity_and_age() {
        let c: Cache<u8, (u32, &str)> = Cache::with_ttl(Duration::from_millis(30), 10);
        c.put(1, (7, "x"));
        assert!(c.get_if(&1, |v| v.0 == 7).is_some());
        assert!(c.get_if(&1, |v| v.0 == 8).is_none(), "another version is a miss");
        c.remove(&1);
        assert!(c.get(&1).is_none());
        c.put(2, (1, "y"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get(&2).is_none(), "stale");
    }
}
