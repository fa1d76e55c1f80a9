//! What both adapters do the same way: create a session without overwriting one, and replace a
//! live session's data without re-creating a gone one.

// Without any adapter feature nothing here is used.
#![cfg_attr(
    not(any(feature = "tower-sessions", feature = "actix-session")),
    allow(dead_code)
)]

use std::time::Duration as StdDuration;

use session_core::{Duration, Error, Result, SessionData, SessionKey, SessionStore, WriteOutcome};

/// The `max_age` handed to a non-rolling `load`, which only validates it: the frameworks'
/// loads carry no lifetime.
pub(crate) const PROBE_MAX_AGE: Duration = Duration::SECOND;

/// How many fresh ids [`create`] draws before it gives up. Ids are random (128 bits for
/// tower-sessions, 256 for ours), so a second draw is already a once-in-the-universe event; the
/// bound only keeps a misbehaving store from looping forever.
pub(crate) const CREATE_ATTEMPTS: u32 = 8;

/// How many conditional writes [`replace`] tries before it reports [`Error::WriteConflict`].
/// Each try reloads the record's current version, so only requests saving the same session at
/// the same moment make it try again. The frameworks' saves are last-writer-wins and must not
/// fail for contention alone, so the bound is generous: 64 simultaneous saves of one session on a
/// loaded two-core machine needed more than 20 tries now and then.
pub(crate) const REPLACE_ATTEMPTS: u32 = 64;

/// The longest wait between two tries of [`replace`], in milliseconds.
const MAX_WAIT_MS: u64 = 64;

/// Waits after conflict number `attempt`: a random time up to 2^`attempt` ms, at most
/// [`MAX_WAIT_MS`]. Random, so that requests that collided once spread out instead of colliding
/// again in lockstep; doubling, so that a crowd of writers on one session thins out quickly.
async fn wait_after_conflict(attempt: u32) {
    let ceiling = 1_u64
        .checked_shl(attempt)
        .unwrap_or(u64::MAX)
        .min(MAX_WAIT_MS);
    // Without OS randomness, waiting the longest time is still correct, only slower.
    let ms = getrandom::u64().map_or(ceiling, |r| r % (ceiling + 1));
    tokio::time::sleep(StdDuration::from_millis(ms)).await;
}

/// Whether a session is live under `key`, for [`create`]. A record that cannot be decoded counts
/// as taken: it is someone's data, and a new session must not overwrite it.
async fn is_taken<S: SessionStore + ?Sized>(store: &S, key: &SessionKey) -> Result<bool> {
    match store.load(key, PROBE_MAX_AGE, false).await {
        Ok(found) => Ok(found.is_some()),
        Err(e) if e.is_decode() => Ok(true),
        Err(e) => Err(e),
    }
}

/// Writes `data` as a new session under the first id `candidate` or `fresh` yields that is not
/// taken, and returns that id.
///
/// Our trait has no "insert unless present", so the check is a read before the write: the
/// closest the trait allows. Two creates could only collide between that read and the write if
/// both drew the same random id in the same instant, a chance of about 2⁻¹²⁸; what the read does
/// rule out is overwriting a session that already exists under an id chosen by someone else (an
/// id set by hand, or a tower-sessions `Id` reused after `cycle_id`).
///
/// # Errors
/// Store errors; [`Error::WriteConflict`] when [`CREATE_ATTEMPTS`] ids in a row were taken.
pub(crate) async fn create<S, Id>(
    store: &S,
    mut candidate: Id,
    key_of: impl Fn(&Id) -> Result<SessionKey>,
    mut fresh: impl FnMut() -> Id,
    data: &SessionData,
    max_age: Duration,
) -> Result<Id>
where
    S: SessionStore + ?Sized,
{
    for _ in 0..CREATE_ATTEMPTS {
        let key = key_of(&candidate)?;
        if !is_taken(store, &key).await? {
            store.write(&key, data, max_age).await?;
            return Ok(candidate);
        }
        tracing::warn!("session id already taken; drawing a new one");
        candidate = fresh();
    }
    Err(Error::WriteConflict {
        attempts: CREATE_ATTEMPTS,
    })
}

/// What [`replace`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replaced {
    /// The live record now holds the new data.
    Written,
    /// There was no live record (never written, expired, destroyed): nothing was written.
    Missing,
    /// The live record is not one this adapter can read (undecodable bytes, or data in another
    /// middleware's shape): nothing was written, the record is left as it is.
    Unreadable,
}

/// Replaces the data of the live session under `key`, last writer wins, without ever
/// re-creating a session that is gone, and without overwriting a record that `readable` rejects.
///
/// The frameworks' saves are unconditional upserts; ours is a read of the record's version and a
/// [`write_if`](SessionStore::write_if) at that version. `write_if` never re-creates a missing
/// record, so a logout (or an expiry) between the read and the write makes the save write
/// nothing instead of undoing it. A conflict (another request wrote in between) reads the newer
/// version and writes again: the framework's own semantics are last-writer-wins for the whole
/// record, and this keeps them.
///
/// # Errors
/// Store errors; [`Error::WriteConflict`] after [`REPLACE_ATTEMPTS`] conflicts in a row.
pub(crate) async fn replace<S: SessionStore + ?Sized>(
    store: &S,
    key: &SessionKey,
    data: &SessionData,
    max_age: Duration,
    readable: impl Fn(&SessionData) -> bool,
) -> Result<Replaced> {
    for attempt in 1..=REPLACE_ATTEMPTS {
        let loaded = match store.load(key, PROBE_MAX_AGE, false).await {
            Ok(Some(loaded)) if readable(&loaded.data) => loaded,
            Ok(Some(_)) => return Ok(Replaced::Unreadable),
            Ok(None) => return Ok(Replaced::Missing),
            Err(e) if e.is_decode() => return Ok(Replaced::Unreadable),
            Err(e) => return Err(e),
        };
        match store.write_if(key, data, max_age, loaded.version).await? {
            WriteOutcome::Written(_) => return Ok(Replaced::Written),
            WriteOutcome::Missing => return Ok(Replaced::Missing),
            WriteOutcome::Conflict => wait_after_conflict(attempt).await,
        }
    }
    Err(Error::WriteConflict {
        attempts: REPLACE_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use session_memory::MemoryStore;

    fn data(n: i64) -> SessionData {
        let mut d = SessionData::new();
        d.insert("n", n).unwrap();
        d
    }

    async fn read(store: &MemoryStore, key: &SessionKey) -> Option<SessionData> {
        store.get(key, Duration::MINUTE, false).await.unwrap()
    }

    /// A store holding `data(1)` under `taken`, and what `create` does there when it is offered
    /// `taken` first and `next` after it.
    async fn create_on_taken(
        taken: &SessionKey,
        next: SessionKey,
    ) -> (MemoryStore, Result<SessionKey>) {
        let store = MemoryStore::new();
        store
            .write(taken, &data(1), Duration::MINUTE)
            .await
            .unwrap();
        let outcome = create(
            &store,
            taken.clone(),
            |k| Ok(k.clone()),
            move || next.clone(),
            &data(2),
            Duration::MINUTE,
        )
        .await;
        (store, outcome)
    }

    #[tokio::test]
    async fn create_skips_a_taken_id_and_keeps_its_record() {
        let (taken, fresh) = (SessionKey::generate(), SessionKey::generate());
        let (store, chosen) = create_on_taken(&taken, fresh.clone()).await;
        assert_eq!(chosen.unwrap(), fresh);
        assert_eq!(read(&store, &taken).await, Some(data(1)));
        assert_eq!(read(&store, &fresh).await, Some(data(2)));
    }

    #[tokio::test]
    async fn create_gives_up_when_every_id_is_taken() {
        let taken = SessionKey::generate();
        let (store, outcome) = create_on_taken(&taken, taken.clone()).await;
        assert!(
            matches!(outcome, Err(Error::WriteConflict { attempts }) if attempts == CREATE_ATTEMPTS)
        );
        assert_eq!(read(&store, &taken).await, Some(data(1)));
    }

    #[tokio::test]
    async fn replace_writes_a_live_record_and_never_recreates_a_gone_one() {
        let store = MemoryStore::new();
        let key = SessionKey::generate();
        let replace = |n| {
            let store = &store;
            let key = &key;
            async move { super::replace(store, key, &data(n), Duration::MINUTE, |_| true).await }
        };
        assert_eq!(replace(1).await.unwrap(), Replaced::Missing);
        assert_eq!(read(&store, &key).await, None);
        store.write(&key, &data(1), Duration::MINUTE).await.unwrap();
        assert_eq!(replace(2).await.unwrap(), Replaced::Written);
        assert_eq!(read(&store, &key).await, Some(data(2)));
        store.destroy(&key).await.unwrap();
        assert_eq!(replace(3).await.unwrap(), Replaced::Missing);
        assert_eq!(read(&store, &key).await, None);
    }

    #[tokio::test]
    async fn replace_leaves_a_record_it_cannot_read() {
        let store = MemoryStore::new();
        let key = SessionKey::generate();
        store.write(&key, &data(1), Duration::MINUTE).await.unwrap();
        let outcome = replace(&store, &key, &data(2), Duration::MINUTE, |_| false).await;
        assert_eq!(outcome.unwrap(), Replaced::Unreadable);
        assert_eq!(read(&store, &key).await, Some(data(1)));
    }
}
