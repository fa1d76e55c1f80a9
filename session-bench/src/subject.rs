//! What is measured: a [`Subject`] performs one [`Workload`] operation on session number `i`.
//! Ours ([`Ours`], any `SessionStore`) and the tower-sessions stores are generic here; the raw
//! drivers live in `raw.rs`.

use std::sync::Arc;

use session_core::{Duration, SessionData, SessionKey, SessionStore, WriteOutcome, async_trait};

use crate::measure::{BoxError, Op};

/// The store-level workloads of issue 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// A plain read.
    Get,
    /// A read that moves the expiry.
    RollingGet,
    /// A write of changed data.
    SetChanged,
    /// A touch: only the expiry moves.
    SetUnchanged,
    /// A removal of an existing session (each operation a different one).
    Destroy,
    /// One request: a rolling read, and on every fifth request a changed write.
    Mix,
    /// Writing session `n` (used to seed, not reported).
    Seed,
}

impl Workload {
    /// The reported workloads, in report order.
    pub(crate) const REPORTED: [Workload; 6] = [
        Workload::Get,
        Workload::RollingGet,
        Workload::SetChanged,
        Workload::SetUnchanged,
        Workload::Destroy,
        Workload::Mix,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::RollingGet => "rolling get",
            Workload::SetChanged => "set changed",
            Workload::SetUnchanged => "set unchanged (touch)",
            Workload::Destroy => "destroy",
            Workload::Mix => "request mix",
            Workload::Seed => "seed",
        }
    }

    /// `true` when operation `n` of the mix also writes.
    pub(crate) fn mix_writes(n: u64) -> bool {
        n % 5 == 0
    }
}

/// Session lifetime used everywhere: one day.
pub(crate) const MAX_AGE: Duration = Duration::days(1);

/// A system under test.
#[async_trait]
pub(crate) trait Subject: Send + Sync {
    /// Performs one operation of `w` on session `i`; `n` is the operation's sequence number.
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError>;
    /// Removes everything this subject wrote.
    async fn cleanup(&self) -> Result<(), BoxError>;
}

/// The operation closure the load loop runs: Seed and Destroy use a fresh session per operation,
/// the others cycle over the first `keyspace` sessions.
pub(crate) fn op(subject: Arc<dyn Subject>, w: Workload, keyspace: usize) -> Op {
    Arc::new(move |n| {
        let subject = Arc::clone(&subject);
        let i = match w {
            Workload::Seed | Workload::Destroy => usize::try_from(n).unwrap_or(usize::MAX),
            _ => usize::try_from(n % keyspace as u64).unwrap_or(0),
        };
        Box::pin(async move { subject.call(w, i, n).await })
    })
}

/// A session of about `bytes` bytes once encoded (`ss2:<version>:<expiry>:` + JSON).
pub(crate) fn payload(bytes: usize) -> SessionData {
    let mut data = SessionData::new();
    let _ = data.insert("user_id", 42_u64);
    let _ = data.insert("pad", "x".repeat(bytes.saturating_sub(40)));
    data
}

fn missing() -> BoxError {
    "a seeded session was not found".into()
}

/// Our store behind the `SessionStore` trait object, as the middleware holds it.
pub(crate) struct Ours {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) keys: Vec<SessionKey>,
    pub(crate) data: SessionData,
    pub(crate) cleanup: Option<crate::backends::Cleanup>,
    /// Saves the request mix's writes as the middleware now does: `write_if` at the version the
    /// rolling `load` returned, instead of an unconditional `write`.
    pub(crate) versioned: bool,
}

impl Ours {
    /// Deterministic keys `<tag>-<i>` padded to 43 characters, the length of generated keys.
    pub(crate) fn keys(tag: &str, n: usize) -> Vec<SessionKey> {
        (0..n)
            .map(|i| {
                let k = format!(
                    "{tag}-{i:0>width$}",
                    width = 42usize.saturating_sub(tag.len())
                );
                SessionKey::parse(&k).unwrap_or_else(|e| panic!("bench key: {e}"))
            })
            .collect()
    }
}

#[async_trait]
impl Subject for Ours {
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
        let key = &self.keys[i];
        let s = &self.store;
        match w {
            Workload::Get => s
                .get(key, MAX_AGE, false)
                .await?
                .map(drop)
                .ok_or_else(missing),
            Workload::RollingGet => s
                .get(key, MAX_AGE, true)
                .await?
                .map(drop)
                .ok_or_else(missing),
            Workload::SetChanged | Workload::Seed => {
                Ok(s.set(key, &self.data, MAX_AGE, true).await?)
            }
            Workload::SetUnchanged => Ok(s.set(key, &self.data, MAX_AGE, false).await?),
            Workload::Destroy => Ok(s.destroy(key).await?),
            Workload::Mix if self.versioned => {
                let loaded = s.load(key, MAX_AGE, true).await?.ok_or_else(missing)?;
                if Workload::mix_writes(n) {
                    let mut data = loaded.data;
                    data.insert("n", n)?;
                    // A conflict (two tasks of the load on one session) is a normal answer.
                    let outcome = s.write_if(key, &data, MAX_AGE, loaded.version).await?;
                    if outcome == WriteOutcome::Missing {
                        return Err(missing());
                    }
                }
                Ok(())
            }
            Workload::Mix => {
                let mut data = s.get(key, MAX_AGE, true).await?.ok_or_else(missing)?;
                if Workload::mix_writes(n) {
                    data.insert("n", n)?;
                    s.set(key, &data, MAX_AGE, true).await?;
                }
                Ok(())
            }
        }
    }

    async fn cleanup(&self) -> Result<(), BoxError> {
        match &self.cleanup {
            Some(c) => c().await,
            None => Ok(()),
        }
    }
}

/// Defines a subject over a tower-sessions store for one version of `tower-sessions-core`
/// (the MongoDB store still implements 0.11, the others 0.14).
macro_rules! tower_subject {
    ($name:ident, $core:ident, $seed:ident) => {
        /// A tower-sessions store doing the load/save work its middleware does: a rolling read
        /// is `load` + `save` (tower-sessions has no touch; `Expiry::OnInactivity` with
        /// `always_save` re-saves the whole record), a changed or unchanged set is `save`.
        pub(crate) struct $name {
            pub(crate) store: Arc<dyn $core::session_store::SessionStore>,
            pub(crate) ids: Vec<$core::session::Id>,
            pub(crate) data: std::collections::HashMap<String, serde_json::Value>,
            pub(crate) cleanup: Option<crate::backends::Cleanup>,
        }

        impl $name {
            /// Deterministic ids (`base + i`), so cleanup can find every one.
            pub(crate) fn ids(base: i128, n: usize) -> Vec<$core::session::Id> {
                (0..n)
                    .map(|i| $core::session::Id(base + i as i128))
                    .collect()
            }

            fn record(&self, i: usize) -> $core::session::Record {
                $core::session::Record {
                    id: self.ids[i],
                    data: self.data.clone(),
                    expiry_date: expiry(),
                }
            }
        }

        #[async_trait]
        impl Subject for $name {
            async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
                let s = &self.store;
                let id = &self.ids[i];
                match w {
                    Workload::Get => s.load(id).await?.map(drop).ok_or_else(missing),
                    Workload::RollingGet => {
                        let mut record = s.load(id).await?.ok_or_else(missing)?;
                        record.expiry_date = expiry();
                        Ok(s.save(&record).await?)
                    }
                    Workload::SetChanged | Workload::SetUnchanged => {
                        Ok(s.save(&self.record(i)).await?)
                    }
                    Workload::Seed => $seed(s, id, self.record(i)).await,
                    Workload::Destroy => Ok(s.delete(id).await?),
                    Workload::Mix => {
                        // One save covers both the new expiry and, on every fifth request, the
                        // changed data: what the middleware does for a modified session.
                        let mut record = s.load(id).await?.ok_or_else(missing)?;
                        if Workload::mix_writes(n) {
                            record
                                .data
                                .insert("n".to_owned(), serde_json::Value::from(n));
                        }
                        record.expiry_date = expiry();
                        Ok(s.save(&record).await?)
                    }
                }
            }

            async fn cleanup(&self) -> Result<(), BoxError> {
                match &self.cleanup {
                    Some(c) => c().await,
                    None => Ok(()),
                }
            }
        }
    };
}

tower_subject!(TowerSessions, tower_sessions, seed_014);
tower_subject!(TowerSessions011, tower_sessions_core_011, seed_011);

/// Seeds with `create`, not `save`: the Redis store's `save` is `SET … XX`, which never creates.
/// Deleting first keeps the deterministic id (`create` picks a new id when the old one exists).
async fn seed_014(
    s: &Arc<dyn tower_sessions::session_store::SessionStore>,
    id: &tower_sessions::session::Id,
    mut record: tower_sessions::session::Record,
) -> Result<(), BoxError> {
    s.delete(id).await?;
    s.create(&mut record).await?;
    if record.id != *id {
        return Err("tower-sessions changed the seeded id".into());
    }
    Ok(())
}

/// tower-sessions-core 0.11 has no `create`; the MongoDB store's `save` is an upsert.
async fn seed_011(
    s: &Arc<dyn tower_sessions_core_011::session_store::SessionStore>,
    _id: &tower_sessions_core_011::session::Id,
    record: tower_sessions_core_011::session::Record,
) -> Result<(), BoxError> {
    Ok(s.save(&record).await?)
}

fn expiry() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + MAX_AGE
}

/// The tower-sessions record data equivalent to [`payload`].
pub(crate) fn tower_payload(bytes: usize) -> std::collections::HashMap<String, serde_json::Value> {
    payload(bytes).into_map().into_iter().collect()
}
