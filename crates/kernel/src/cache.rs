//! A small read cache for values read on nearly every request (a person's unread count,
//! their household). Entries live [`TTL`]; writers in this process forget what they change at
//! once, and other nodes sharing the database see a change within the TTL.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an entry is trusted.
pub const TTL: Duration = Duration::from_secs(10);
const MAX_ENTRIES: usize = 100_000;

type Entry = (Arc<dyn Any + Send + Sync>, Instant);

/// Values by `(namespace, id)`; each capability uses its own namespace.
#[derive(Default)]
pub struct ReadCache {
    entries: Mutex<HashMap<(&'static str, i64), Entry>>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadCache(..)")
    }
}

impl ReadCache {
    /// The cached value, if fresh and of type `T`.
    pub fn get<T: Any + Send + Sync>(&self, namespace: &'static str, id: impl Into<i64>) -> Option<Arc<T>> {
        let id = id.into();
        let map = self.entries.lock().expect("read cache");
        let (value, at) = map.get(&(namespace, id))?;
        if at.elapsed() >= TTL {
            return None;
        }
        value.clone().downcast::<T>().ok()
    }

    /// Stores a value.
    pub fn put<T: Any + Send + Sync>(&self, namespace: &'static str, id: impl Into<i64>, value: Arc<T>) {
        let id = id.into();
        let mut map = self.entries.lock().expect("read cache");
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert((namespace, id), (value, Instant::now()));
    }

    /// Forgets one value.
    pub fn forget(&self, namespace: &'static str, id: impl Into<i64>) {
        self.entries.lock().expect("read cache").remove(&(namespace, id.into()));
    }

    /// Forgets every value in a namespace.
    pub fn forget_all(&self, namespace: &'static str) {
        self.entries.lock().expect("read cache").retain(|(ns, _), _| *ns != namespace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_per_namespace_and_forgotten_on_demand() {
        let c = ReadCache::default();
        c.put("a", 1, Arc::new(5i64));
        c.put("b", 1, Arc::new("x".to_string()));
        assert_eq!(c.get::<i64>("a", 1).as_deref(), Some(&5));
        assert!(c.get::<String>("a", 1).is_none(), "wrong type is a miss");
        c.forget_all("a");
        assert!(c.get::<i64>("a", 1).is_none());
        assert_eq!(c.get::<String>("b", 1).as_deref().map(String::as_str), Some("x"));
        c.forget("b", 1);
        assert!(c.get::<String>("b", 1).is_none());
    }
}
