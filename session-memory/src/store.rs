use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::policy::EvictionPolicy;
use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, ExpiryResolution, Lifetime, Loaded, OwnedSession, Owner,
    OwnerIndex, Result, ScanCursor, ScanPage, SessionData, SessionKey, SessionStore, StoreInfo,
    Version, WriteOutcome, async_trait, check_nesting, encode, estimate_size, expires_at,
    max_age_ms, now_ms, owner_index, write_expiry,
};

/// Default capacity of a [`MemoryStore`]: 64 MiB of keys and encoded records.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes charged per entry on top of key and record, for moka's bookkeeping and the `Arc`.
pub const ENTRY_OVERHEAD_BYTES: u32 = 96;

/// One cached session. The data is kept decoded: reads clone an `Arc` instead of parsing JSON.
pub(crate) struct Entry {
    data: Arc<SessionData>,
    /// The record version, new on every write of the data.
    version: Version,
    /// Absolute expiry, epoch ms on the application clock; never after `until`, except by the
    /// 1 ms a write of an already ended session gets.
    expires_at: i64,
    /// The end of the session's absolute lifetime (see [`session_core::Lifetime`]), epoch ms;
    /// `i64::MAX` when it has none.
    until: i64,
    /// Encoded size, charged against the byte capacity.
    weight: u32,
    /// The index of the session's owner, when it has one.
    owner: Option<OwnerIndex>,
}

impl Entry {
    /// Neither idle-expired nor past its absolute lifetime at `now`.
    pub(crate) fn is_live_at(&self, now: i64) -> bool {
        self.expires_at > now && self.until > now
    }
}

/// The owner index: owner → (session key → version of the entry that put it there).
///
/// Kept a superset of the live owned sessions: an entry is added under the key's compute lock
/// *before* the entry naming the owner is put, and removed only for the exact version it was
/// added for: by the write that changes or drops the owner or destroys the session (under the
/// same lock), and by moka's eviction listener when that version expires or is evicted. A late
/// eviction notice for an old version therefore never removes the entry a newer write added.
#[derive(Default)]
struct OwnerIndexes(Mutex<HashMap<OwnerIndex, HashMap<String, Version>>>);

impl OwnerIndexes {
    fn lock(&self) -> MutexGuard<'_, HashMap<OwnerIndex, HashMap<String, Version>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, owner: &OwnerIndex, key: &str, version: Version) {
        self.lock()
            .entry(owner.clone())
            .or_default()
            .insert(key.to_owned(), version);
    }

    /// Removes `key` from `owner`'s index if it was added for `version`.
    fn remove(&self, owner: &OwnerIndex, key: &str, version: Version) {
        let mut indexes = self.lock();
        if let Some(keys) = indexes.get_mut(owner) {
            if keys.get(key) == Some(&version) {
                keys.remove(key);
            }
            if keys.is_empty() {
                indexes.remove(owner);
            }
        }
    }

    fn keys(&self, owner: &OwnerIndex) -> Vec<String> {
        self.lock()
            .get(owner)
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Index entries in all (for tests and leak checks).
    fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    /// Keeps the index in step with a put of `new` over `old` under the key's compute lock:
    /// the new owner's entry first, then the old owner's goes if the owner changed.
    fn on_put(&self, key: &str, old: Option<&Entry>, new: &Entry) {
        if old.is_some_and(|old| old.owner == new.owner && old.version == new.version) {
            // A touch or a rolling read: same owner, same version, nothing to change.
            return;
        }
        if let Some(owner) = &new.owner {
            self.add(owner, key, new.version);
        }
        // Same owner: the add above already moved the entry to the new version (or kept it,
        // for a touch), so there is nothing to remove.
        if let Some(old) = old.filter(|old| old.owner != new.owner) {
            self.on_remove(key, old);
        }
    }

    fn on_remove(&self, key: &str, old: &Entry) {
        if let Some(owner) = &old.owner {
            self.remove(owner, key, old.version);
        }
    }
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
///
/// Build one with [`MemoryStore::new`] (the defaults) or [`MemoryStore::builder`]. The settings
/// live on the builder because they shape the cache itself: changing them on a live store would
/// mean a new, empty cache.
///
/// # One serialising path per key
/// Every write to a key (a changed `set`, a `write_if`, a touch, a rolling `get`, a `destroy`)
/// runs as one moka `and_compute_with` call, and moka runs compute calls on one key one at a
/// time, in the order they were made. A touch or a rolling read therefore decides on the entry
/// as it is at that moment and cannot write back a copy older than a concurrent `set` or
/// `destroy`: a late touch never undoes a logout, and never replaces newer data with the data it
/// read. For the same reason a `write_if` compares the version and puts its entry with no other
/// write to the key in between. (moka's
/// plain `insert` and `invalidate` do not take that per-key lock, which is why they are not used.)
///
/// # Eviction
/// When the byte capacity is reached, the **least recently used** session goes first (moka's LRU
/// policy; a read, a rolling read, a touch or a write counts as a use). A new login is always
/// kept, however many old sessions are in the cache.
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<String, Arc<Entry>>,
    owners: Arc<OwnerIndexes>,
    max_bytes: u64,
    max_record_bytes: usize,
    expiry_resolution: ExpiryResolution,
}

/// Settings of a [`MemoryStore`], from [`MemoryStore::builder`].
#[derive(Debug, Clone)]
pub struct MemoryStoreBuilder {
    max_bytes: u64,
    max_record_bytes: usize,
    expiry_resolution: ExpiryResolution,
}

impl MemoryStoreBuilder {
    /// Bounds the total size of keys, records and bookkeeping (default [`DEFAULT_MAX_BYTES`]).
    /// When the bound is reached, the least recently used sessions are evicted.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Bounds the encoded size of one record (default [`DEFAULT_MAX_RECORD_BYTES`]); larger
    /// writes fail with [`Error::TooLarge`](session_core::Error::TooLarge).
    pub fn max_record_bytes(mut self, max_record_bytes: usize) -> Self {
        self.max_record_bytes = max_record_bytes;
        self
    }

    /// How far behind a rolling read may leave an entry's expiry before it rewrites it (default
    /// [`ExpiryResolution::Auto`]: a hundredth of the max-age, at most 60 s). A rolling read of
    /// an entry whose expiry is recent enough is a plain lookup, without taking the entry's
    /// lock or replacing it; [`ExpiryResolution::Exact`] replaces the entry on every rolling
    /// read. An expired session is never returned in any mode.
    pub fn expiry_resolution(mut self, resolution: ExpiryResolution) -> Self {
        self.expiry_resolution = resolution;
        self
    }

    /// The store, empty.
    pub fn build(self) -> MemoryStore {
        let owners = Arc::new(OwnerIndexes::default());
        let listener_owners = Arc::clone(&owners);
        let cache = Cache::builder()
            .max_capacity(self.max_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|key: &String, entry: &Arc<Entry>| {
                let key_len = u32::try_from(key.len()).unwrap_or(u32::MAX);
                entry
                    .weight
                    .saturating_add(key_len)
                    .saturating_add(ENTRY_OVERHEAD_BYTES)
            })
            .expire_after(ExpireAt)
            // Writes and destroys keep the owner index under the key's lock; expiry and
            // eviction happen inside moka, and are told here.
            .eviction_listener(move |key: Arc<String>, entry: Arc<Entry>, cause| {
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size) {
                    listener_owners.on_remove(&key, &entry);
                }
            })
            .build();
        MemoryStore {
            cache,
            owners,
            max_bytes: self.max_bytes,
            max_record_bytes: self.max_record_bytes,
            expiry_resolution: self.expiry_resolution,
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .field("weighted_bytes", &self.cache.weighted_size())
            .field("max_bytes", &self.max_bytes)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("expiry_resolution", &self.expiry_resolution)
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
        Self::builder().build()
    }

    /// The settings, at their defaults.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            max_bytes: DEFAULT_MAX_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            expiry_resolution: ExpiryResolution::Auto,
        }
    }

    /// The stored expiry (epoch milliseconds) of the live session under `key`, `None` when
    /// there is none: what rolling reads and touches moved it to, for inspection and tests.
    pub async fn expiry_of(&self, key: &SessionKey) -> Option<i64> {
        let entry = self.cache.get(key.as_str()).await?;
        entry.is_live_at(now_ms()).then_some(entry.expires_at)
    }

    /// The configured expiry resolution of rolling reads.
    pub fn expiry_resolution(&self) -> ExpiryResolution {
        self.expiry_resolution
    }

    /// A store with the same entries in another expiry resolution (clones share the entries).
    pub fn with_expiry_resolution(mut self, resolution: ExpiryResolution) -> Self {
        self.expiry_resolution = resolution;
        self
    }

    /// The configured capacity in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The configured maximum encoded record size in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
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

    /// A new entry holding `data` with a fresh version, after the checks every write makes.
    fn new_entry(&self, data: &SessionData, max_age: Duration) -> Result<Arc<Entry>> {
        let expires_at = write_expiry(data, max_age)?;
        let until = match Lifetime::from_data(data) {
            None => i64::MAX,
            Some(Ok(lifetime)) => lifetime.until,
            Some(Err(())) => i64::MIN,
        };
        let version = Version::generate();
        // The data is kept decoded, so the encoded size matters only for the limit and the
        // capacity charge. Serializing costs most of a `set` (JSON escaping), so walk the data
        // instead and encode only when the size could be over the limit. The nesting rule is the
        // one `encode` applies for every other store.
        check_nesting(data)?;
        let size = estimate_size(data);
        if size.upper_bound > self.max_record_bytes {
            encode(data, version, expires_at, self.max_record_bytes)?;
        }
        Ok(Arc::new(Entry {
            data: Arc::new(data.clone()),
            version,
            expires_at,
            until,
            weight: u32::try_from(size.approx).unwrap_or(u32::MAX),
            owner: owner_index(data)?,
        }))
    }

    /// The one serialising path of every write to `key`: under the key's compute lock, `Nop`
    /// when there is no entry, `Remove` when it has expired (moka's timer wheel is coarse; the
    /// entry's own expiry is the truth), otherwise what `live` decides for the live entry.
    async fn update_live(
        &self,
        key: &SessionKey,
        live: impl FnOnce(&Arc<Entry>) -> Op<Arc<Entry>>,
    ) {
        self.cache
            .entry_by_ref(key.as_str())
            .and_compute_with(|current| {
                std::future::ready(match current {
                    None => Op::Nop,
                    Some(current) if !current.value().is_live_at(now_ms()) => {
                        self.owners.on_remove(key.as_str(), current.value());
                        Op::Remove
                    }
                    Some(current) => {
                        let op = live(current.value());
                        match &op {
                            Op::Put(new) => {
                                self.owners.on_put(key.as_str(), Some(current.value()), new);
                            }
                            Op::Remove => self.owners.on_remove(key.as_str(), current.value()),
                            Op::Nop => {}
                        }
                        op
                    }
                })
            })
            .await;
    }

    /// Moves a live entry's expiry to `expires_at`, keeping its data and version, and returns
    /// them; `None` when there is no live entry. The path touches and rolling reads share.
    async fn extend(
        &self,
        key: &SessionKey,
        expires_at: i64,
    ) -> Option<(Arc<SessionData>, Version)> {
        let mut found = None;
        self.update_live(key, |entry| {
            found = Some((Arc::clone(&entry.data), entry.version));
            Op::Put(Arc::new(Entry {
                data: Arc::clone(&entry.data),
                version: entry.version,
                // Never past the end of the absolute lifetime (a live entry's is in the future).
                expires_at: expires_at.min(entry.until),
                until: entry.until,
                weight: entry.weight,
                owner: entry.owner.clone(),
            }))
        })
        .await;
        found
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        let expires_at = expires_at(max_age)?;
        if rolling {
            // Within the resolution: the entry as it is, with no lock and no replacement. It
            // was live when read, like any plain read racing a destroy.
            let max_age_ms = max_age_ms(max_age)?;
            if self.expiry_resolution.slack_ms(max_age_ms) > 0 {
                let Some(entry) = self.cache.get(key.as_str()).await else {
                    return Ok(None);
                };
                let now = now_ms();
                if !entry.is_live_at(now) {
                    return Ok(None);
                }
                if !self
                    .expiry_resolution
                    .must_move(entry.expires_at, now, max_age_ms)
                {
                    return Ok(Some(Loaded::new(
                        SessionData::clone(&entry.data),
                        entry.version,
                    )));
                }
            }
            let found = self.extend(key, expires_at).await;
            return Ok(found.map(|(data, version)| Loaded::new(SessionData::clone(&data), version)));
        }
        // A plain read writes nothing, so it needs no lock: it sees the entry before or after
        // any concurrent write, never a mix.
        let Some(entry) = self.cache.get(key.as_str()).await else {
            return Ok(None);
        };
        if !entry.is_live_at(now_ms()) {
            return Ok(None);
        }
        Ok(Some(Loaded::new(
            SessionData::clone(&entry.data),
            entry.version,
        )))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let entry = self.new_entry(data, max_age)?;
        self.cache
            .entry_by_ref(key.as_str())
            .and_compute_with(|current| {
                self.owners.on_put(
                    key.as_str(),
                    current.as_ref().map(|c| c.value().as_ref()),
                    &entry,
                );
                std::future::ready(Op::Put(entry))
            })
            .await;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let entry = self.new_entry(data, max_age)?;
        let written = entry.version;
        // Compared and written under the key's compute lock, like every other write here, so no
        // write to the key can land between the comparison and the put.
        let mut outcome = WriteOutcome::Missing;
        self.update_live(key, |current| {
            if current.version == expected {
                outcome = WriteOutcome::Written(written);
                Op::Put(entry)
            } else {
                outcome = WriteOutcome::Conflict;
                Op::Nop
            }
        })
        .await;
        Ok(outcome)
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        let expires_at = expires_at(max_age)?;
        Ok(self.extend(key, expires_at).await.is_some())
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.update_live(key, |_| Op::Remove).await;
        Ok(())
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        let now = now_ms();
        let mut sessions = Vec::new();
        for key in self.owners.keys(&owner.index()) {
            let (Some(entry), Ok(parsed)) = (self.cache.get(&key).await, SessionKey::parse(&key))
            else {
                continue;
            };
            sessions.extend(OwnedSession::from_record(
                owner,
                parsed,
                &entry.data,
                entry.expires_at,
                now,
            ));
        }
        Ok(sessions)
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        let index = owner.index();
        let mut ended = 0;
        for key in self.owners.keys(&index) {
            let Ok(key) = SessionKey::parse(&key) else {
                continue;
            };
            if Some(&key) == keep {
                continue;
            }
            // Under the key's lock: only a live entry that still names this owner goes.
            let mut removed = false;
            self.update_live(&key, |entry| {
                if entry.owner.as_ref() == Some(&index) {
                    removed = true;
                    Op::Remove
                } else {
                    Op::Nop
                }
            })
            .await;
            ended += u64::from(removed);
        }
        Ok(ended)
    }

    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        Ok(crate::scan::page(
            self.cache
                .iter()
                .filter(|(_, entry)| entry.is_live_at(now_ms()))
                .map(|(key, _)| key),
            cursor,
            page_size,
        ))
    }

    fn info(&self) -> StoreInfo {
        StoreInfo::new("memory")
    }
}

impl MemoryStore {
    /// Entries in the owner index, over all owners: sessions with an owner, plus those expired
    /// or evicted that moka has not yet reported (see [`run_pending_tasks`](Self::run_pending_tasks)).
    /// For leak checks.
    pub fn owner_index_len(&self) -> usize {
        self.owners.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, RwLock};

    use tokio::runtime::Runtime;

    use super::*;

    const HOUR: Duration = Duration::hours(1);
    /// Rounds per race and kind of racing call.
    const RACE_ROUNDS: usize = 20_000;

    fn payload(bytes: usize) -> SessionData {
        let mut d = SessionData::new();
        d.insert("p", "x".repeat(bytes)).unwrap();
        d
    }

    fn version(n: u64) -> SessionData {
        let mut d = SessionData::new();
        d.insert("v", n).unwrap();
        d
    }

    /// One of the two racing calls of a round.
    type RacingOp<'a> = dyn Fn(&Runtime, &SessionKey) + Sync + 'a;

    /// Runs `rounds` rounds. In each, `prepare` writes a fresh session, then `first` and `second`
    /// start at the same moment on two OS threads (each with its own runtime, so the two really
    /// run in parallel rather than taking turns on one worker), then `check` looks at the result
    /// and returns what went wrong, if anything. Panics with the first failure.
    fn race_rounds(
        rounds: usize,
        prepare: impl Fn(&Runtime) -> SessionKey,
        first: impl Fn(&Runtime, &SessionKey) + Sync,
        second: impl Fn(&Runtime, &SessionKey) + Sync,
        check: impl Fn(&Runtime, &SessionKey) -> Option<String>,
    ) {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let (start, done) = (Barrier::new(3), Barrier::new(3));
        let slot = RwLock::new(None::<SessionKey>);
        let ops: [&RacingOp<'_>; 2] = [&first, &second];
        let failure = std::thread::scope(|scope| {
            for op in ops {
                let (start, done, slot) = (&start, &done, &slot);
                scope.spawn(move || {
                    let rt = runtime();
                    loop {
                        start.wait();
                        // No key: the rounds are over.
                        let Some(key) = slot.read().unwrap().clone() else {
                            break;
                        };
                        op(&rt, &key);
                        done.wait();
                    }
                });
            }
            let rt = runtime();
            let mut failure = None;
            for round in 0..rounds {
                let key = prepare(&rt);
                *slot.write().unwrap() = Some(key.clone());
                start.wait();
                done.wait();
                if let Some(what) = check(&rt, &key) {
                    failure = Some(format!("round {round}: {what}"));
                    break;
                }
            }
            *slot.write().unwrap() = None;
            start.wait();
            failure
        });
        if let Some(failure) = failure {
            panic!("{failure}");
        }
    }

    /// The operation racing the write: a touch, or a rolling read.
    #[derive(Clone, Copy, Debug)]
    enum Extend {
        Touch,
        RollingGet,
    }

    fn extend(rt: &Runtime, store: &MemoryStore, key: &SessionKey, how: Extend) {
        rt.block_on(async {
            match how {
                Extend::Touch => store
                    .set(key, &SessionData::new(), HOUR, false)
                    .await
                    .unwrap(),
                Extend::RollingGet => drop(store.get(key, HOUR, true).await.unwrap()),
            }
        });
    }

    fn prepare(store: &MemoryStore) -> impl Fn(&Runtime) -> SessionKey {
        move |rt| {
            let key = SessionKey::generate();
            rt.block_on(store.set(&key, &version(1), HOUR, true))
                .unwrap();
            key
        }
    }

    #[test]
    fn a_destroy_racing_a_touch_or_a_rolling_read_always_wins() {
        for how in [Extend::Touch, Extend::RollingGet] {
            let store = MemoryStore::new();
            race_rounds(
                RACE_ROUNDS,
                prepare(&store),
                |rt, key| rt.block_on(store.destroy(key)).unwrap(),
                |rt, key| extend(rt, &store, key, how),
                |rt, key| {
                    let left = rt.block_on(store.get(key, HOUR, false)).unwrap();
                    left.map(|_| format!("{how:?} brought a destroyed session back"))
                },
            );
        }
    }

    #[test]
    fn a_changed_set_racing_a_touch_or_a_rolling_read_is_never_lost() {
        for how in [Extend::Touch, Extend::RollingGet] {
            let store = MemoryStore::new();
            race_rounds(
                RACE_ROUNDS,
                prepare(&store),
                |rt, key| {
                    rt.block_on(store.set(key, &version(2), HOUR, true))
                        .unwrap()
                },
                |rt, key| extend(rt, &store, key, how),
                |rt, key| {
                    let left = rt.block_on(store.get(key, HOUR, false)).unwrap();
                    (left != Some(version(2)))
                        .then(|| format!("{how:?} overwrote a newer write: {left:?}"))
                },
            );
        }
    }

    #[tokio::test]
    async fn touch_reports_whether_a_live_record_was_found() {
        let store = MemoryStore::new();
        let key = SessionKey::generate();
        assert!(!store.touch(&key, HOUR).await.unwrap());
        store.set(&key, &version(1), HOUR, true).await.unwrap();
        assert!(store.touch(&key, HOUR).await.unwrap());
        store.destroy(&key).await.unwrap();
        assert!(!store.touch(&key, HOUR).await.unwrap());
        assert_eq!(store.get(&key, HOUR, false).await.unwrap(), None);
    }

    #[tokio::test]
    async fn at_capacity_new_sessions_are_kept_and_the_least_recently_used_evicted() {
        // Every entry weighs the same: equal keys' lengths and payloads.
        let one = {
            let probe = MemoryStore::new();
            probe
                .set(&SessionKey::generate(), &payload(1000), HOUR, true)
                .await
                .unwrap();
            probe.run_pending_tasks().await;
            probe.weighted_bytes()
        };
        let store = MemoryStore::builder().max_bytes(100 * one).build();
        let old: Vec<SessionKey> = (0..100).map(|_| SessionKey::generate()).collect();
        for key in &old {
            store.set(key, &payload(1000), HOUR, true).await.unwrap();
            store.run_pending_tasks().await;
        }
        assert_eq!(store.entry_count(), 100);
        // The first ten are used again, so the next ten are now the least recently used.
        for key in &old[..10] {
            assert!(store.get(key, HOUR, false).await.unwrap().is_some());
        }
        store.run_pending_tasks().await;
        let new: Vec<SessionKey> = (0..10).map(|_| SessionKey::generate()).collect();
        for key in &new {
            store.set(key, &payload(1000), HOUR, true).await.unwrap();
            store.run_pending_tasks().await;
        }
        for (i, key) in new.iter().enumerate() {
            assert!(
                store.get(key, HOUR, false).await.unwrap().is_some(),
                "new login {i} was evicted"
            );
        }
        for (i, key) in old.iter().enumerate() {
            let kept = store.get(key, HOUR, false).await.unwrap().is_some();
            assert_eq!(
                kept,
                !(10..20).contains(&i),
                "old session {i}: kept = {kept}"
            );
        }
    }

    #[tokio::test]
    async fn data_nested_beyond_the_limit_is_refused_as_by_every_other_store() {
        let store = MemoryStore::new();
        let key = SessionKey::generate();
        store.set(&key, &version(1), HOUR, true).await.unwrap();
        let mut deep = serde_json::json!(0);
        for _ in 0..session_core::MAX_NESTING_DEPTH {
            deep = serde_json::json!([deep]);
        }
        let mut data = SessionData::new();
        data.insert("deep", deep).unwrap();
        let err = store.set(&key, &data, HOUR, true).await.unwrap_err();
        assert!(
            matches!(err, session_core::Error::TooDeep { .. }),
            "{err:?}"
        );
        // Nothing was written: the old record stays.
        assert_eq!(
            store.get(&key, HOUR, false).await.unwrap(),
            Some(version(1))
        );
    }

    #[tokio::test]
    async fn capacity_is_bounded_by_bytes_not_entries() {
        let store = MemoryStore::builder().max_bytes(200 * 1024).build();
        for _ in 0..1000 {
            store
                .set(&SessionKey::generate(), &payload(1024), HOUR, true)
                .await
                .unwrap();
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
        store.set(&key, &payload(10), HOUR, true).await.unwrap();
        let printed = format!("{store:?}");
        assert!(printed.contains("max_bytes") && !printed.contains(key.as_str()));
    }
}
