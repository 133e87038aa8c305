//! The one in-memory cache of the server: entries by key, each valid while it
//! is younger than the cache's time to live (if it has one) and while the
//! caller's check of it holds (a data version, say); the oldest entries go
//! first when the weight budget is spent.
//!
//! Used for resolved credentials, area indexes, vector tiles, region
//! answers, heatmap cell texts and resolution-7 packs.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A bounded cache; `V` is cloned out (keep it cheap: an `Arc` or small).
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

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves a consistent map: every
        // mutation below completes before it can panic.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry under `key`, if it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_if(key, |_| true)
    }

    /// The entry under `key`, if it is fresh and `valid` holds for it.
    pub fn get_if(&self, key: &K, valid: impl FnOnce(&V) -> bool) -> Option<V> {
        let inner = self.lock();
        let (at, v) = inner.map.get(key)?;
        let fresh = self.ttl.is_none_or(|ttl| at.elapsed() < ttl);
        (fresh && valid(v)).then(|| v.clone())
    }

    /// The entry under `key`, however old (to revalidate it).
    pub fn get_any_age(&self, key: &K) -> Option<V> {
        self.lock().map.get(key).map(|(_, v)| v.clone())
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
        while inner.weight > self.budget {
            let Some(k) = inner.order.pop_front() else { break };
            if let Some((_, v)) = inner.map.remove(&k) {
                inner.weight -= (self.weigh)(&k, &v);
            }
        }
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
