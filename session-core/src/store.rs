//! The [`SessionStore`] trait.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use time::Duration;

use crate::{
    Error, OwnedSession, Owner, Result, ScanCursor, ScanPage, SessionData, SessionHandle,
    SessionKey, StoreInfo, Version,
};

/// A session as [`SessionStore::load`] read it: the data and the version of the record it came
/// from, to hand to [`SessionStore::write_if`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// The session data.
    pub data: SessionData,
    /// The version of the record the data was read from.
    pub version: Version,
}

impl Loaded {
    /// A loaded session (for store implementations).
    pub fn new(data: SessionData, version: Version) -> Self {
        Loaded { data, version }
    }
}

/// What a conditional write ([`SessionStore::write_if`]) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum WriteOutcome {
    /// The record was at the expected version and now holds the new data, at this new version.
    Written(Version),
    /// The record exists, unexpired, at another version: someone else wrote it since it was
    /// read. Nothing was written.
    Conflict,
    /// There is no live record: it was never written, has expired, or was destroyed. Nothing was
    /// written; a conditional write never re-creates a session.
    Missing,
}

impl WriteOutcome {
    /// The new version when the data was written.
    pub fn written(self) -> Option<Version> {
        match self {
            WriteOutcome::Written(version) => Some(version),
            WriteOutcome::Conflict | WriteOutcome::Missing => None,
        }
    }
}

/// Where sessions live: the koa-session store contract with typed keys and errors.
///
/// The trait is object-safe, so an application can pick its backend at run time and hold an
/// `Arc<dyn SessionStore>`. See the [crate documentation](crate) for a complete example store.
///
/// # Guarantees every implementation makes
///
/// | call | does | never does |
/// |---|---|---|
/// | `get(k, _, false)` | returns the data of an existing, unexpired record | returns an expired record, even before the backend's TTL sweeper ran |
/// | `get(k, max_age, true)` | as above, and moves the expiry to now + `max_age` in the same operation | takes two round trips where the backend can do one |
/// | `load(k, max_age, rolling)` | as `get`, and also returns the record's [`Version`] | — |
/// | `write_if(k, data, max_age, v)` | writes `data` with a new version and expiry now + `max_age` only if the live record is at version `v` | writes on a version mismatch; re-creates a missing, expired or destroyed record |
/// | `set(k, data, max_age, true)` | the same as `write(k, data, max_age)` | — |
/// | `write(k, data, max_age)` | upserts `data` with expiry now + `max_age` | — |
/// | `set(k, data, max_age, false)` | the same as `touch(k, max_age)` | writes `data`; re-creates a missing, expired or destroyed record |
/// | `touch(k, max_age)` | moves the expiry of an existing, unexpired record to now + `max_age`; answers whether there was one | writes anything else; re-creates a missing, expired or destroyed record |
/// | `destroy(k)` | removes the record | fails because the record is already gone |
/// | `list_owned(o)` | returns every live session whose data names owner `o`, by handle | returns an expired or destroyed session, or one whose owner changed; costs a round trip per session |
/// | `destroy_owned(o, keep)` | removes every live session of `o` but `keep`, in batches | misses a live session of `o`; removes another owner's session |
///
/// Expiry is absolute epoch milliseconds from the application's clock
/// ([`now_ms`](crate::now_ms)), never the database's.
///
/// Every write of data (`write`, `set(…, true)`, a successful `write_if`) gives the record a
/// fresh [`Version`]; touches and rolling reads move only the expiry and keep it. Records written
/// by releases before versions existed load with [`Version::LEGACY`] and are stored in the
/// current format on their next write.
#[async_trait]
pub trait SessionStore: Debug + Send + Sync {
    /// Loads the session under `key` with the version of its record.
    ///
    /// Returns `Ok(None)` if the record is missing or expired. When `rolling` is true, an existing
    /// record's expiry moves to now + `max_age` in the same operation as the read (its version
    /// stays); a missing record is not created. When `rolling` is false, `max_age` is only
    /// validated.
    ///
    /// # Errors
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge) for a non-positive `max_age`;
    /// [`Error::Decode`](crate::Error::Decode) when the stored bytes are unreadable (the record is
    /// left as it is); transient errors when the server is unreachable or slow.
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>>;

    /// Loads the session under `key`: [`load`](Self::load) without the version.
    ///
    /// Provided on top of `load`; the same guarantees and errors.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>> {
        Ok(self
            .load(key, max_age, rolling)
            .await?
            .map(|loaded| loaded.data))
    }

    /// Saves or touches the session under `key`: koa-session's `set`.
    ///
    /// With `changed == true`, does what [`write`](Self::write) does. With `changed == false`,
    /// does exactly what [`touch`](Self::touch) does and ignores `data`: only an existing,
    /// unexpired record gets the new expiry; a missing, expired or destroyed record stays absent,
    /// so a late touch can never undo a logout.
    ///
    /// Provided: stores implement `write` and `touch`, and this dispatches to them.
    ///
    /// # Errors
    /// As [`write`](Self::write) or [`touch`](Self::touch).
    async fn set(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        changed: bool,
    ) -> Result<()> {
        if changed {
            self.write(key, data, max_age).await
        } else {
            self.touch(key, max_age).await.map(drop)
        }
    }

    /// Writes `data` under `key` with expiry now + `max_age`, creating or replacing the record
    /// (an expired record not yet swept is replaced too).
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when the encoded record exceeds the store's
    /// limit and [`Error::TooDeep`](crate::Error::TooDeep) when the data nests deeper than
    /// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH) (nothing is written, the old record stays);
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge); backend errors.
    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()>;

    /// Writes `data` under `key` with expiry now + `max_age` and a fresh version, only if the
    /// record is live and still at version `expected` (the one [`load`](Self::load) returned),
    /// checked and written in one operation.
    ///
    /// Answers [`WriteOutcome::Written`] with the new version,
    /// [`WriteOutcome::Conflict`] when the live record is at another version (nothing written),
    /// or [`WriteOutcome::Missing`] when there is no live record (missing, expired or
    /// destroyed; nothing written, never re-created). A record loaded with
    /// [`Version::LEGACY`] is accepted with that version and rewritten in the current format.
    ///
    /// # Errors
    /// As [`write`](Self::write); on an error nothing is known about whether the write happened
    /// unless the error says so (a timeout may have come after the server applied it).
    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome>;

    /// Moves the expiry of the existing, unexpired record under `key` to now + `max_age`, in one
    /// operation, and never changes its data. Returns `true` when such a record was found,
    /// `false` when it is missing, expired or destroyed; then nothing is written, so a touch
    /// arriving after a logout can never bring the session back.
    ///
    /// The middleware uses the answer to stop refreshing the cookie of a session that is gone.
    ///
    /// # Errors
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge); backend errors.
    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool>;

    /// Removes the session under `key`. Succeeds when there is nothing to remove.
    ///
    /// # Errors
    /// Backend errors only.
    async fn destroy(&self, key: &SessionKey) -> Result<()>;

    /// The live sessions of `owner`: those whose data holds `owner` under
    /// [`OWNER_FIELD`](crate::OWNER_FIELD) (set by the middleware at login), in no particular
    /// order.
    ///
    /// Never lists an expired or destroyed session, nor one whose owner changed, even when the
    /// store's index lags behind (a two-step update interrupted by a failure): entries are
    /// checked against the records themselves. Reads at most a bounded number of round trips
    /// per batch of sessions, never one per session.
    ///
    /// # Errors
    /// Backend errors; a record that does not decode is left out, not an error.
    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>>;

    /// Ends every live session of `owner` except the one under `keep` ("log out other
    /// devices"; `None` logs out everywhere), in batches, and answers how many it ended.
    ///
    /// Never misses a live session of `owner`: a session is in its owner's index before its
    /// record says who owns it, on every backend.
    ///
    /// # Errors
    /// Backend errors; sessions ended before the error stay ended.
    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64>;

    /// Ends the session of `owner` named by `handle` (from [`list_owned`](Self::list_owned)) and
    /// answers whether there was one. A handle of another owner's session ends nothing.
    ///
    /// Provided on top of `list_owned` and `destroy`.
    ///
    /// # Errors
    /// As [`list_owned`](Self::list_owned) and [`destroy`](Self::destroy).
    async fn destroy_by_handle(&self, owner: &Owner, handle: &SessionHandle) -> Result<bool> {
        for session in self.list_owned(owner).await? {
            if session.handle() == handle {
                self.destroy(session.key()).await?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One page of every session in the store, for operators' tools (counting, listing,
    /// finding a session by handle): about `page_size` keys, as stored, from `cursor` on
    /// ([`ScanCursor::start`] for the first page).
    ///
    /// Holds at most one page in memory, whatever the store's size; never blocks the server
    /// (Redis `SCAN` on every primary, never `KEYS`; keyset pagination on SQL; a cursor on
    /// MongoDB). A session written or destroyed during a scan may or may not be seen; one that
    /// exists for the whole scan is seen at least once (exactly once except on Redis, whose
    /// `SCAN` may repeat a key). Expired records not yet swept may be listed; loading them
    /// answers `None`.
    ///
    /// Provided: answers [`Error::Unsupported`]; stores that can enumerate override it.
    ///
    /// # Errors
    /// [`Error::Unsupported`]; backend errors.
    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        let _ = (cursor, page_size);
        Err(Error::Unsupported {
            backend: self.info().system,
            operation: "scan",
        })
    }

    /// Deletes at most `limit` records that expired before this call (a store may cap the batch
    /// lower) and answers how many it deleted: call it until it answers 0 to purge everything,
    /// one bounded batch at a time (an operator's tool shows progress between batches).
    ///
    /// Provided: answers [`Error::Unsupported`], right for stores whose server drops expired
    /// records itself (Redis TTLs, MongoDB's TTL index, the memory store's cache).
    ///
    /// # Errors
    /// [`Error::Unsupported`]; backend errors.
    async fn purge_expired(&self, limit: u32) -> Result<u64> {
        let _ = limit;
        Err(Error::Unsupported {
            backend: self.info().system,
            operation: "purge-expired",
        })
    }

    /// What the store is and where its server is, for traces and metrics labels. Never a
    /// password.
    ///
    /// Provided: a store of system `"unknown"` with no server.
    fn info(&self) -> StoreInfo {
        StoreInfo::new("unknown")
    }
}

/// Implements [`SessionStore`] for a wrapper by forwarding every method, the provided ones
/// included, to the store an expression names: for a type that adds something around a store
/// (a background task, a guard) without changing what it does.
///
/// ```
/// use std::sync::Arc;
///
/// use session_core::{SessionStore, delegate_store};
///
/// #[derive(Debug)]
/// struct WithCleanup {
///     store: Arc<dyn SessionStore>,
///     // … the handle of a cleanup task, say
/// }
///
/// delegate_store!(WithCleanup, |this| this.store);
/// ```
#[macro_export]
macro_rules! delegate_store {
    ($ty:ty, |$this:ident| $inner:expr) => {
        $crate::delegate_store!(@impl [] $ty, |$this| $inner);
    };
    (@impl [$($generics:tt)*] $ty:ty, |$this:ident| $inner:expr) => {
        #[$crate::async_trait]
        impl<$($generics)*> $crate::SessionStore for $ty {
            async fn load(
                &self,
                key: &$crate::SessionKey,
                max_age: $crate::Duration,
                rolling: bool,
            ) -> $crate::Result<Option<$crate::Loaded>> {
                let $this = self;
                $inner.load(key, max_age, rolling).await
            }
            async fn get(
                &self,
                key: &$crate::SessionKey,
                max_age: $crate::Duration,
                rolling: bool,
            ) -> $crate::Result<Option<$crate::SessionData>> {
                let $this = self;
                $inner.get(key, max_age, rolling).await
            }
            async fn set(
                &self,
                key: &$crate::SessionKey,
                data: &$crate::SessionData,
                max_age: $crate::Duration,
                changed: bool,
            ) -> $crate::Result<()> {
                let $this = self;
                $inner.set(key, data, max_age, changed).await
            }
            async fn write(
                &self,
                key: &$crate::SessionKey,
                data: &$crate::SessionData,
                max_age: $crate::Duration,
            ) -> $crate::Result<()> {
                let $this = self;
                $inner.write(key, data, max_age).await
            }
            async fn write_if(
                &self,
                key: &$crate::SessionKey,
                data: &$crate::SessionData,
                max_age: $crate::Duration,
                expected: $crate::Version,
            ) -> $crate::Result<$crate::WriteOutcome> {
                let $this = self;
                $inner.write_if(key, data, max_age, expected).await
            }
            async fn touch(
                &self,
                key: &$crate::SessionKey,
                max_age: $crate::Duration,
            ) -> $crate::Result<bool> {
                let $this = self;
                $inner.touch(key, max_age).await
            }
            async fn destroy(&self, key: &$crate::SessionKey) -> $crate::Result<()> {
                let $this = self;
                $inner.destroy(key).await
            }
            async fn list_owned(
                &self,
                owner: &$crate::Owner,
            ) -> $crate::Result<Vec<$crate::OwnedSession>> {
                let $this = self;
                $inner.list_owned(owner).await
            }
            async fn destroy_owned(
                &self,
                owner: &$crate::Owner,
                keep: Option<&$crate::SessionKey>,
            ) -> $crate::Result<u64> {
                let $this = self;
                $inner.destroy_owned(owner, keep).await
            }
            async fn destroy_by_handle(
                &self,
                owner: &$crate::Owner,
                handle: &$crate::SessionHandle,
            ) -> $crate::Result<bool> {
                let $this = self;
                $inner.destroy_by_handle(owner, handle).await
            }
            async fn scan(
                &self,
                cursor: &$crate::ScanCursor,
                page_size: u32,
            ) -> $crate::Result<$crate::ScanPage> {
                let $this = self;
                $inner.scan(cursor, page_size).await
            }
            async fn purge_expired(&self, limit: u32) -> $crate::Result<u64> {
                let $this = self;
                $inner.purge_expired(limit).await
            }
            fn info(&self) -> $crate::StoreInfo {
                let $this = self;
                $inner.info()
            }
        }
    };
}

delegate_store!(@impl [S: SessionStore + ?Sized] Arc<S>, |this| (**this));
delegate_store!(@impl [S: SessionStore + ?Sized] Box<S>, |this| (**this));
