//! Records in the format before versions (`ss1`), for each backend's old-format test: the test
//! plants [`LegacyRecord::bytes`] raw in its server, and [`LegacyRecord::upgrade`] walks the store
//! through reading and rewriting it.

use std::future::Future;

use serde_json::json;
use session_core::{
    Duration, Loaded, SessionData, SessionKey, SessionStore, Version, WriteOutcome, now_ms,
};

use crate::data;

/// An `ss1` record, live for an hour, holding a value only exact number handling keeps.
#[derive(Debug, Clone)]
pub struct LegacyRecord {
    /// The record as an earlier release stored it.
    pub bytes: String,
    /// Its expiry, epoch milliseconds.
    pub expires_at: i64,
    /// The data it holds.
    pub data: SessionData,
}

impl LegacyRecord {
    /// A record expiring an hour from now.
    pub fn new() -> Self {
        let expires_at = now_ms() + 3_600_000;
        LegacyRecord {
            bytes: format!("ss1:{expires_at}:{{\"user\":\"alice\",\"big\":18446744073709551615}}"),
            expires_at,
            data: data(json!({"user": "alice", "big": u64::MAX})),
        }
    }

    /// With the record planted raw under `key`, checks that the store reads it at
    /// [`Version::LEGACY`]; that a `write_if` at another version is a conflict, after which
    /// `still_planted` (the caller's look at the raw storage) must hold; that a `write_if` at
    /// the legacy version writes new data at a new version, which loads back; and that the
    /// legacy version is then a conflict. Returns the new version, for the caller to find in the
    /// raw storage.
    ///
    /// # Panics
    /// When the store breaks any of these.
    pub async fn upgrade<F, Fut>(
        &self,
        store: &dyn SessionStore,
        key: &SessionKey,
        still_planted: F,
    ) -> Version
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = bool>,
    {
        let hour = Duration::hours(1);
        let loaded = store.load(key, hour, false).await.unwrap();
        assert_eq!(
            loaded,
            Some(Loaded::new(self.data.clone(), Version::LEGACY))
        );
        let newer = data(json!({"user": "alice", "n": 1}));
        let conflict = store.write_if(key, &newer, hour, Version::generate()).await;
        assert_eq!(conflict.unwrap(), WriteOutcome::Conflict);
        assert!(
            still_planted().await,
            "a conflicting write_if changed the record"
        );
        let outcome = store.write_if(key, &newer, hour, Version::LEGACY).await;
        let Ok(WriteOutcome::Written(version)) = outcome else {
            panic!("write_if at the legacy version answered {outcome:?}");
        };
        let loaded = store.load(key, hour, true).await.unwrap();
        assert_eq!(loaded, Some(Loaded::new(newer, version)));
        let stale = store.write_if(key, &self.data, hour, Version::LEGACY).await;
        assert_eq!(stale.unwrap(), WriteOutcome::Conflict);
        version
    }
}

impl Default for LegacyRecord {
    fn default() -> Self {
        Self::new()
    }
}
