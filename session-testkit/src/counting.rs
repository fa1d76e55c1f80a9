//! A real store that records every call made to it, and can be told to fail.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use session_core::{
    DecodeError, Duration, Error, Loaded, OwnedSession, Owner, Result, SessionData, SessionKey,
    SessionStore, Version, WriteOutcome, async_trait,
};

/// Which store method a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `get(rolling = false)` or `load(rolling = false)`.
    Get,
    /// `get(rolling = true)` or `load(rolling = true)`.
    RollingGet,
    /// `set(changed = true)` or `write`.
    Set,
    /// `write_if`.
    WriteIf,
    /// `set(changed = false)` or `touch`: both only move the expiry.
    Touch,
    /// `destroy`.
    Destroy,
}

/// The error a [`CountingStore`] answers with instead of asking its inner store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every call: [`Error::Timeout`].
    Timeout,
    /// Every call: [`Error::Backend`].
    Backend,
    /// Every `get` and `load`: [`Error::Decode`]; other calls reach the inner store.
    Decode,
    /// Every `list_owned` and `destroy_owned` (and so `destroy_by_handle`):
    /// [`Error::Unavailable`]; the session calls reach the inner store.
    Owners,
}

/// A real store, wrapped to record every call with its key (and, if asked, to fail), so a test
/// can prove what reached the store and what never did.
///
/// ```
/// # async fn run() {
/// use std::sync::Arc;
/// use session_core::{Duration, SessionKey, SessionStore};
/// use session_testkit::{CountingStore, Op};
///
/// let store = CountingStore::new(Arc::new(session_memory::MemoryStore::new()));
/// let key = SessionKey::generate();
/// store.get(&key, Duration::hours(1), false).await.unwrap();
/// assert_eq!(store.take(), vec![(Op::Get, key.as_str().to_owned())]);
/// # }
/// ```
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn SessionStore>,
    failure: Option<Failure>,
    calls: Mutex<Vec<(Op, String)>>,
}

impl CountingStore {
    /// Records the calls and passes them on to `inner`.
    pub fn new(inner: Arc<dyn SessionStore>) -> Arc<CountingStore> {
        Arc::new(CountingStore {
            inner,
            failure: None,
            calls: Mutex::new(Vec::new()),
        })
    }

    /// Records the calls and answers them with `failure`.
    pub fn failing(inner: Arc<dyn SessionStore>, failure: Failure) -> Arc<CountingStore> {
        Arc::new(CountingStore {
            inner,
            failure: Some(failure),
            calls: Mutex::new(Vec::new()),
        })
    }

    /// The injected failure of the owner calls, if any.
    fn owners_reachable(&self) -> Result<()> {
        match self.failure {
            Some(Failure::Owners) => Err(Error::unavailable(
                "counting",
                std::io::Error::other("injected failure"),
            )),
            _ => Ok(()),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<(Op, String)>> {
        // A test that panicked while holding the lock has failed already; keep what it left.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, op: Op, key: &SessionKey) -> Result<()> {
        self.calls().push((op, key.as_str().to_owned()));
        match self.failure {
            None => Ok(()),
            Some(Failure::Timeout) => Err(Error::Timeout {
                backend: "counting",
                after: StdDuration::from_millis(1),
            }),
            Some(Failure::Backend) => Err(Error::backend(
                "counting",
                std::io::Error::other("injected failure"),
            )),
            Some(Failure::Decode) if matches!(op, Op::Get | Op::RollingGet) => {
                Err(Error::Decode(DecodeError::NotARecord))
            }
            Some(Failure::Decode | Failure::Owners) => Ok(()),
        }
    }

    /// Takes the calls recorded so far, oldest first.
    pub fn take(&self) -> Vec<(Op, String)> {
        std::mem::take(&mut *self.calls())
    }

    /// How many calls of kind `op` were recorded since the last [`take`](Self::take).
    pub fn count(&self, op: Op) -> usize {
        self.calls().iter().filter(|(o, _)| *o == op).count()
    }

    /// How many calls of any kind were recorded since the last [`take`](Self::take).
    pub fn total(&self) -> usize {
        self.calls().len()
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        self.record(if rolling { Op::RollingGet } else { Op::Get }, key)?;
        self.inner.load(key, max_age, rolling).await
    }

    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>> {
        self.record(if rolling { Op::RollingGet } else { Op::Get }, key)?;
        self.inner.get(key, max_age, rolling).await
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        self.record(Op::Set, key)?;
        self.inner.write(key, data, max_age).await
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        self.record(Op::WriteIf, key)?;
        self.inner.write_if(key, data, max_age, expected).await
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        self.record(Op::Touch, key)?;
        self.inner.touch(key, max_age).await
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.record(Op::Destroy, key)?;
        self.inner.destroy(key).await
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        self.owners_reachable()?;
        self.inner.list_owned(owner).await
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        self.owners_reachable()?;
        self.inner.destroy_owned(owner, keep).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use session_core::{Duration, Error, SessionKey, SessionStore, WriteOutcome};
    use session_memory::MemoryStore;

    use super::{CountingStore, Failure, Op};
    use crate::data;

    #[tokio::test]
    async fn every_call_is_recorded_with_its_kind_and_key_and_reaches_the_store() {
        let store = CountingStore::new(Arc::new(MemoryStore::new()));
        let key = SessionKey::generate();
        let d = data(json!({"a": 1}));
        let hour = Duration::hours(1);
        store.set(&key, &d, hour, true).await.unwrap();
        store.set(&key, &d, hour, false).await.unwrap();
        assert!(
            store.touch(&key, hour).await.unwrap(),
            "touch found the record"
        );
        assert_eq!(store.get(&key, hour, true).await.unwrap(), Some(d.clone()));
        assert_eq!(store.get(&key, hour, false).await.unwrap(), Some(d.clone()));
        let loaded = store.load(&key, hour, false).await.unwrap().unwrap();
        let outcome = store.write_if(&key, &d, hour, loaded.version).await;
        assert!(
            matches!(outcome, Ok(WriteOutcome::Written(_))),
            "{outcome:?}"
        );
        store.destroy(&key).await.unwrap();
        assert!(
            !store.touch(&key, hour).await.unwrap(),
            "touch found a destroyed record"
        );
        assert_eq!((store.count(Op::Touch), store.total()), (3, 9));
        let k = key.as_str().to_owned();
        assert_eq!(
            store.take(),
            vec![
                (Op::Set, k.clone()),
                (Op::Touch, k.clone()),
                (Op::Touch, k.clone()),
                (Op::RollingGet, k.clone()),
                (Op::Get, k.clone()),
                (Op::Get, k.clone()),
                (Op::WriteIf, k.clone()),
                (Op::Destroy, k.clone()),
                (Op::Touch, k),
            ]
        );
        assert_eq!(store.total(), 0, "take empties the record");
    }

    #[tokio::test]
    async fn a_failing_store_answers_with_its_failure_and_records_the_call() {
        let key = SessionKey::generate();
        let hour = Duration::hours(1);
        let timeout = CountingStore::failing(Arc::new(MemoryStore::new()), Failure::Timeout);
        assert!(timeout.destroy(&key).await.unwrap_err().is_timeout());
        let backend = CountingStore::failing(Arc::new(MemoryStore::new()), Failure::Backend);
        assert!(matches!(
            backend.get(&key, hour, false).await,
            Err(Error::Backend { .. })
        ));
        let decode = CountingStore::failing(Arc::new(MemoryStore::new()), Failure::Decode);
        decode
            .set(&key, &data(json!({})), hour, true)
            .await
            .unwrap();
        assert!(decode.get(&key, hour, true).await.unwrap_err().is_decode());
        assert_eq!(decode.take().len(), 2);
    }
}
