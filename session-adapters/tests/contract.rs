//! Our contract through the adapters, on every backend through its session-config URL: creating
//! never overwrites, a save, update or touch racing a logout never brings the session back, an
//! expired session is never returned, no field or expiry is lost, bad input is refused and
//! loses nothing.
//!
//! Needs `REDIS_URL`, `REDIS_CLUSTER_URLS`, `MONGODB_URL` and `MYSQL_URL` (defaults on
//! 127.0.0.1; `bash scripts/test.sh` starts the servers). Without a server a test is skipped
//! with a loud message, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_session::storage::{LoadError, SessionKey as ActixKey, SessionStore as _, UpdateError};
use futures::StreamExt;
use session_adapters::{ActixSessionStore, TowerSessionsStore};
use session_core::{Duration, SessionKey, SessionStore};
use time::OffsetDateTime;
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;

use common::open;

/// Rounds of each race, and how many run at once.
const ROUNDS: usize = 1000;
const AT_ONCE: usize = 16;

/// Runs `round(i)` for `i` in `0..ROUNDS`, [`AT_ONCE`] at a time.
async fn race<F: Future<Output = ()>>(round: impl Fn(usize) -> F) {
    futures::stream::iter(0..ROUNDS)
        .for_each_concurrent(AT_ONCE, round)
        .await;
}

fn tower_record(expiry_date: OffsetDateTime) -> Record {
    let data = [
        ("user".to_owned(), serde_json::json!("alice")),
        ("big".to_owned(), serde_json::json!(u64::MAX)),
        ("tiny".to_owned(), serde_json::json!(-5e-324)),
        (
            "nested".to_owned(),
            serde_json::json!({"a": [1, null, {"ü": ""}]}),
        ),
    ];
    Record {
        id: Id::default(),
        data: data.into_iter().collect(),
        expiry_date,
    }
}

fn in_a_minute() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::MINUTE
}

async fn tower_store(backend: &str, test: &str) -> Option<TowerSessionsStore> {
    Some(TowerSessionsStore::new(open(backend, test).await?))
}

async fn actix_store(backend: &str, test: &str) -> Option<ActixSessionStore> {
    Some(ActixSessionStore::new(open(backend, test).await?))
}

/// An id already holding a session (written by our own API) is skipped: `create` picks another
/// and the existing session keeps its data.
async fn tower_create_never_overwrites_an_existing_id(backend: &str) {
    let Some(store) = tower_store(backend, "tower_create").await else {
        return;
    };
    let taken = Id::default();
    let key = SessionKey::parse(&taken.to_string()).unwrap().digest();
    let theirs = session_testkit::data(serde_json::json!({"owner": "someone else"}));
    store
        .inner()
        .write(&key, &theirs, Duration::MINUTE)
        .await
        .unwrap();

    // Not a tower-sessions record: no session for tower-sessions, but not free either.
    assert_eq!(store.load(&taken).await.unwrap(), None);
    let mut record = tower_record(in_a_minute());
    record.id = taken;
    store.create(&mut record).await.unwrap();
    assert_ne!(record.id, taken, "create kept a taken id");
    let kept = store
        .inner()
        .get(&key, Duration::MINUTE, false)
        .await
        .unwrap();
    assert_eq!(kept, Some(theirs), "create overwrote an existing session");
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record));
}

/// A save over a record that is not a tower-sessions record (another middleware's session under
/// the same key) is a `Decode` error and leaves that record as it was.
async fn tower_a_save_never_overwrites_a_record_it_cannot_read(backend: &str) {
    let Some(store) = tower_store(backend, "tower_unreadable").await else {
        return;
    };
    let record = tower_record(in_a_minute());
    let key = SessionKey::parse(&record.id.to_string()).unwrap().digest();
    let theirs = session_testkit::data(serde_json::json!({"data": "not an object"}));
    store
        .inner()
        .write(&key, &theirs, Duration::MINUTE)
        .await
        .unwrap();
    let refused = store.save(&record).await;
    assert!(
        matches!(refused, Err(session_store::Error::Decode(_))),
        "{refused:?}"
    );
    let kept = store
        .inner()
        .get(&key, Duration::MINUTE, false)
        .await
        .unwrap();
    assert_eq!(kept, Some(theirs));
}

/// Data and expiry date come back exactly: every JSON value, the expiry to the nanosecond.
async fn tower_a_record_round_trips_with_its_exact_expiry(backend: &str) {
    let Some(store) = tower_store(backend, "tower_round_trip").await else {
        return;
    };
    let mut record = tower_record(in_a_minute());
    store.create(&mut record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));
    record.data.insert("n".to_owned(), serde_json::json!(2));
    record.expiry_date = in_a_minute() + Duration::nanoseconds(123);
    store.save(&record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));
    store.delete(&record.id).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
    store.delete(&record.id).await.unwrap();
}

/// A session past its expiry date is not returned, whether it ran out in the store or was saved
/// with a past date.
async fn tower_an_expired_session_is_never_returned(backend: &str) {
    let Some(store) = tower_store(backend, "tower_expired").await else {
        return;
    };
    let mut short = tower_record(OffsetDateTime::now_utc() + Duration::milliseconds(300));
    store.create(&mut short).await.unwrap();
    assert!(store.load(&short.id).await.unwrap().is_some());
    tokio::time::sleep(StdDuration::from_millis(450)).await;
    assert_eq!(store.load(&short.id).await.unwrap(), None);

    let mut record = tower_record(in_a_minute());
    store.create(&mut record).await.unwrap();
    record.expiry_date = OffsetDateTime::now_utc() - Duration::SECOND;
    store.save(&record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
}

/// A save racing a delete (a slow request finishing around a logout), in both orders, never
/// leaves a session behind.
async fn tower_a_save_racing_a_delete_never_resurrects_it(backend: &str) {
    let Some(store) = tower_store(backend, "tower_race").await else {
        return;
    };
    race(|i| {
        let store = store.clone();
        async move {
            let mut record = tower_record(in_a_minute());
            store.create(&mut record).await.unwrap();
            record.data.insert("late".to_owned(), serde_json::json!(i));
            let (save, delete) = (store.save(&record), store.delete(&record.id));
            if i % 2 == 0 {
                let (s, d) = futures::join!(save, delete);
                s.unwrap();
                d.unwrap();
            } else {
                let (d, s) = futures::join!(delete, save);
                s.unwrap();
                d.unwrap();
            }
            let left = store.load(&record.id).await.unwrap();
            assert_eq!(
                left, None,
                "round {i}: the save resurrected a deleted session"
            );
        }
    })
    .await;
}

/// 64 requests saving one session at once (last writer wins, as with tower-sessions' own
/// stores) all succeed, and the session ends up holding one of their records whole.
async fn tower_sixty_four_concurrent_saves_all_succeed(backend: &str) {
    let Some(store) = tower_store(backend, "tower_concurrent").await else {
        return;
    };
    let mut record = tower_record(in_a_minute());
    store.create(&mut record).await.unwrap();
    let saves = (0..64).map(|i| {
        let (store, mut record) = (store.clone(), record.clone());
        record.data = HashMap::from([("writer".to_owned(), serde_json::json!(i))]);
        async move { store.save(&record).await }
    });
    for saved in futures::future::join_all(saves).await {
        saved.unwrap();
    }
    let last = store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(last.data.len(), 1, "{:?}", last.data);
    assert!(last.data["writer"].as_u64().is_some_and(|i| i < 64));
}

/// An expiry date beyond our 100-year limit is an `Encode` error; the stored session stays.
async fn tower_bad_input_is_refused_and_keeps_the_session(backend: &str) {
    let Some(store) = tower_store(backend, "tower_bad_input").await else {
        return;
    };
    let mut record = tower_record(in_a_minute());
    store.create(&mut record).await.unwrap();
    let mut absurd = record.clone();
    absurd.expiry_date = OffsetDateTime::now_utc() + Duration::days(365 * 200);
    absurd.data.clear();
    assert!(matches!(
        store.save(&absurd).await,
        Err(session_store::Error::Encode(_))
    ));
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record));
}

fn state(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn copy(key: &ActixKey) -> ActixKey {
    ActixKey::try_from(key.as_ref().to_owned()).unwrap()
}

/// Save, load, update (same key), update_ttl, delete; saves draw distinct keys.
async fn actix_a_session_round_trips_and_keeps_its_key(backend: &str) {
    let Some(store) = actix_store(backend, "actix_round_trip").await else {
        return;
    };
    let first = state(&[("user", "\"alice\""), ("n", "1.0e3"), ("raw", "ünï ✓")]);
    let key = store.save(first.clone(), &Duration::MINUTE).await.unwrap();
    let other = store.save(first.clone(), &Duration::MINUTE).await.unwrap();
    assert_ne!(key, other);
    assert_eq!(store.load(&key).await.unwrap(), Some(first));
    let second = state(&[("user", "\"bob\"")]);
    let same = store
        .update(copy(&key), second.clone(), &Duration::MINUTE)
        .await
        .unwrap();
    assert_eq!(same, key);
    store.update_ttl(&key, &Duration::MINUTE).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), Some(second));
    store.delete(&key).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.delete(&key).await.unwrap();
    let foreign = ActixKey::try_from("not a key of ours".to_owned()).unwrap();
    assert_eq!(store.load(&foreign).await.unwrap(), None);
}

/// A session whose TTL ran out is not returned, and a late `update_ttl` or `update` does not
/// bring it back.
async fn actix_an_expired_session_is_never_returned(backend: &str) {
    let Some(store) = actix_store(backend, "actix_expired").await else {
        return;
    };
    let ttl = Duration::milliseconds(300);
    let key = store.save(state(&[("n", "1")]), &ttl).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    tokio::time::sleep(StdDuration::from_millis(450)).await;
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.update_ttl(&key, &Duration::MINUTE).await.unwrap();
    store
        .update(copy(&key), state(&[("n", "2")]), &Duration::MINUTE)
        .await
        .unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
}

/// `update` and `update_ttl` racing a `delete`, in rotating orders, never leave a session
/// behind.
async fn actix_update_and_touch_racing_a_delete_never_resurrect_it(backend: &str) {
    let Some(store) = actix_store(backend, "actix_race").await else {
        return;
    };
    race(|i| {
        let store = store.clone();
        async move {
            let key = store
                .save(state(&[("n", "0")]), &Duration::MINUTE)
                .await
                .unwrap();
            let late = state(&[("n", "1")]);
            let update = async {
                store
                    .update(copy(&key), late, &Duration::MINUTE)
                    .await
                    .unwrap();
            };
            let touch = async { store.update_ttl(&key, &Duration::MINUTE).await.unwrap() };
            let delete = async { store.delete(&key).await.unwrap() };
            match i % 3 {
                0 => drop(futures::join!(delete, update, touch)),
                1 => drop(futures::join!(update, delete, touch)),
                _ => drop(futures::join!(touch, update, delete)),
            }
            let left = store.load(&key).await.unwrap();
            assert_eq!(
                left, None,
                "round {i}: a late write resurrected a deleted session"
            );
        }
    })
    .await;
}

/// A record that is not an actix-session state (another middleware's session under the same
/// key) fails to load as `Deserialization`, and a change to it goes under a new key, leaving the
/// record as it was.
async fn actix_an_update_never_overwrites_a_record_it_cannot_read(backend: &str) {
    let Some(store) = actix_store(backend, "actix_unreadable").await else {
        return;
    };
    let key = SessionKey::generate();
    let theirs = session_testkit::data(serde_json::json!({"n": 1}));
    // Stored where the adapter looks for the actix key: under its digest.
    store
        .inner()
        .write(&key.digest(), &theirs, Duration::MINUTE)
        .await
        .unwrap();
    let actix_key = ActixKey::try_from(key.as_str().to_owned()).unwrap();
    let loaded = store.load(&actix_key).await;
    assert!(
        matches!(loaded, Err(LoadError::Deserialization(_))),
        "{loaded:?}"
    );
    let mine = state(&[("n", "2")]);
    let moved = store
        .update(copy(&actix_key), mine.clone(), &Duration::MINUTE)
        .await
        .unwrap();
    assert_ne!(moved, actix_key);
    assert_eq!(store.load(&moved).await.unwrap(), Some(mine));
    let kept = store
        .inner()
        .get(&key.digest(), Duration::MINUTE, false)
        .await
        .unwrap();
    assert_eq!(kept, Some(theirs));
}

/// A state above the store's record limit (1 MiB) is a `Serialization` error; the stored state
/// stays.
async fn actix_an_oversized_state_is_refused_and_keeps_the_session(backend: &str) {
    let Some(store) = actix_store(backend, "actix_bad_input").await else {
        return;
    };
    let small = state(&[("n", "1")]);
    let key = store.save(small.clone(), &Duration::MINUTE).await.unwrap();
    let huge = HashMap::from([("blob".to_owned(), "x".repeat(2 << 20))]);
    let refused = store.update(copy(&key), huge, &Duration::MINUTE).await;
    assert!(
        matches!(refused, Err(UpdateError::Serialization(_))),
        "{refused:?}"
    );
    assert_eq!(store.load(&key).await.unwrap(), Some(small));
}

// Both adapters over `Arc<dyn SessionStore>` and over a concrete store type.
#[allow(dead_code, reason = "compiles the generic uses only")]
fn adapters_take_concrete_stores_and_trait_objects(store: session_memory::MemoryStore) {
    let shared: Arc<dyn SessionStore> = Arc::new(store.clone());
    let _: TowerSessionsStore<session_memory::MemoryStore> = TowerSessionsStore::new(store.clone());
    let _: ActixSessionStore<session_memory::MemoryStore> = ActixSessionStore::new(store);
    let _: TowerSessionsStore = TowerSessionsStore::new(shared.clone());
    let _: ActixSessionStore = ActixSessionStore::new(shared);
}

on_every_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    tower_create_never_overwrites_an_existing_id,
    tower_a_save_never_overwrites_a_record_it_cannot_read,
    tower_a_record_round_trips_with_its_exact_expiry,
    tower_an_expired_session_is_never_returned,
    tower_a_save_racing_a_delete_never_resurrects_it,
    tower_sixty_four_concurrent_saves_all_succeed,
    tower_bad_input_is_refused_and_keeps_the_session,
    actix_a_session_round_trips_and_keeps_its_key,
    actix_an_expired_session_is_never_returned,
    actix_update_and_touch_racing_a_delete_never_resurrect_it,
    actix_an_update_never_overwrites_a_record_it_cannot_read,
    actix_an_oversized_state_is_refused_and_keeps_the_session,
);
