use std::fmt;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, Result, SessionData, SessionKey, SessionStore, async_trait,
    encode, estimate_size, expires_at, max_age_ms, now_ms,
};

/// Default capacity of a [`MemoryStore`]: 64 MiB of keys and encoded records.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes charged per entry on top of key and record, for moka's bookkeeping and the `Arc`.
pub const ENTRY_OVERHEAD_BYTES: u32 = 96;

/// One cached session. The data is kept decoded: reads clone an `Arc` instead of parsing JSON.
struct Entry {
    data: Arc<SessionData>,
    /// Absolute expiry, epoch ms on the application clock.
    expires_at: i64,
    /// Encoded size, charged against the byte capacity.
    weight: u32,
}

/// Tells moka when each entry expires, from the absolute expiry stored in the entry.
struct ExpireAt;

impl ExpireAt {
    fn remaining(entry: &Entry) -> Option<StdDuration> {
        let left = entry.expires_at.saturating_sub(now_ms()).max(0);
        Some(StdDuration::from_millis(u64::try_from(left).unwrap_or(0)))
    }
}

impl Expiry<String, Arc<Entry>> for ExpireAt {
    fn expire_after_create(
        &self,
        _: &String,
        entry: &Arc<Entry>,
        _: Instant,
    ) -> Option<StdDuration> {
        Self::remaining(entry)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<StdDuration>,
    ) -> Option<StdDuration> {
        Self::remaining(entry)
    }
}

/// An in-memory session store. Cloning is cheap and clones share the same sessions.
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<String, Arc<Entry>>,
    max_bytes: u64,
    max_record_bytes: usize,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .field("weighted_bytes", &self.cache.weighted_size())
            .field("max_bytes", &self.max_bytes)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_MAX_BYTES`], with records of at most
    /// [`DEFAULT_MAX_RECORD_BYTES`].
    pub fn new() -> Self {
        Self::build(DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORD_BYTES)
    }

    /// Bounds the total size of keys and encoded records (default [`DEFAULT_MAX_BYTES`]). When the
    /// bound is reached, moka evicts the least valuable sessions.
    pub fn with_max_bytes(self, max_bytes: u64) -> Self {
        Self::build(max_bytes, self.max_record_bytes)
    }

    /// Bounds the encoded size of one record (default [`DEFAULT_MAX_RECORD_BYTES`]); larger
    /// writes fail with [`Error::TooLarge`](session_core::Error::TooLarge).
    pub fn with_max_record_bytes(self, max_record_bytes: usize) -> Self {
        Self::build(self.max_bytes, max_record_bytes)
    }

    fn build(max_bytes: u64, max_record_bytes: usize) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Arc<Entry>| {
                let key_len = u32::try_from(key.len()).unwrap_or(u32::MAX);
                entry
                    .weight
                    .saturating_add(key_len)
                    .saturating_add(ENTRY_OVERHEAD_BYTES)
            })
            .expire_after(ExpireAt)
            .build();
        MemoryStore {
            cache,
            max_bytes,
            max_record_bytes,
        }
    }

    /// Number of entries, including expired ones moka has not evicted yet (approximate; moka
    /// applies writes lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Total weight in bytes currently charged against the capacity (approximate).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// Applies pending evictions and expirations now instead of lazily.
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks().await;
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>> {
        let max_age = max_age_ms(max_age)?;
        if !rolling {
            let Some(entry) = self.cache.get(key.as_str()).await else {
                return Ok(None);
            };
            // moka's timer wheel is coarse; the record's own expiry is the truth.
            if entry.expires_at <= now_ms() {
                return Ok(None);
            }
            return Ok(Some(SessionData::clone(&entry.data)));
        }
        let mut found = None;
        self.cache
            .entry_by_ref(key.as_str())
            .and_compute_with(|current| {
                let op = match current {
                    Some(current) => {
                        let entry = current.into_value();
                        let now = now_ms();
                        if entry.expires_at <= now {
                            Op::Remove
                        } else {
                            found = Some(Arc::clone(&entry.data));
                            Op::Put(Arc::new(Entry {
                                data: Arc::clone(&entry.data),
                                expires_at: now.saturating_add(max_age),
                                weight: entry.weight,
                            }))
                        }
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        Ok(found.map(|data| SessionData::clone(&data)))
    }

    async fn set(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        changed: bool,
    ) -> Result<()> {
        let expires_at = expires_at(max_age)?;
        if changed {
            // The data is kept decoded, so the encoded size matters only for the limit and the
            // capacity charge. Serializing costs most of a `set` (JSON escaping), so walk the
            // data instead and encode only when the size could be over the limit.
            let size = estimate_size(data);
            if size.upper_bound > self.max_record_bytes {
                encode(data, expires_at, self.max_record_bytes)?;
            }
            let entry = Entry {
                data: Arc::new(data.clone()),
                expires_at,
                weight: u32::try_from(size.approx).unwrap_or(u32::MAX),
            };
            self.cache
                .insert(key.as_str().to_owned(), Arc::new(entry))
                .await;
            return Ok(());
        }
        // A touch. It runs under moka's per-key lock so that it cannot race a destroy into
        // re-creating the session, and it never writes the caller's `data`.
        self.cache
            .entry_by_ref(key.as_str())
            .and_compute_with(|current| {
                let op = match current {
                    Some(current) => {
                        let entry = current.into_value();
                        if entry.expires_at <= now_ms() {
                            Op::Remove
                        } else {
                            Op::Put(Arc::new(Entry {
                                data: Arc::clone(&entry.data),
                                expires_at,
                                weight: entry.weight,
                            }))
                        }
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        Ok(())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.cache.invalidate(key.as_str()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(bytes: usize) -> SessionData {
        let mut d = SessionData::new();
        d.insert("p", "x".repeat(bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        d
    }

    #[tokio::test]
    async fn capacity_is_bounded_by_bytes_not_entries() {
        let store = MemoryStore::new().with_max_bytes(200 * 1024);
        for _ in 0..1000 {
            store
                .set(
                    &SessionKey::generate(),
                    &payload(1024),
                    Duration::hours(1),
                    true,
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        store.run_pending_tasks().await;
        assert!(
            store.weighted_bytes() <= 200 * 1024,
            "{}",
            store.weighted_bytes()
        );
        assert!(store.entry_count() < 200, "{}", store.entry_count());
        assert!(store.entry_count() > 50, "{}", store.entry_count());
    }

    #[tokio::test]
    async fn debug_shows_sizes_not_contents() {
        let store = MemoryStore::new();
        let key = SessionKey::generate();
        store
            .set(&key, &payload(10), Duration::hours(1), true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let printed = format!("{store:?}");
        assert!(printed.contains("max_bytes") && !printed.contains(key.as_str()));
    }
}
