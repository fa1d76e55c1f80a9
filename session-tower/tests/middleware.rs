//! What each kind of request costs the store and which cookie it gets, through the real service
//! stack (axum router, layer, a counting [`MemoryStore`](session_memory::MemoryStore)). Needs no
//! server.

mod support;

use std::sync::Arc;

use http::StatusCode;
use session_core::{Duration, SessionStore as _, now_ms};
use session_memory::MemoryStore;
use session_testkit::{CountingStore, Failure, Op};
use session_tower::SessionLayer;

use support::{Browser, NEW, app, counted, counted_memory, key_of, loads, send, signed, stored_of};

#[tokio::test]
async fn untouched_session_without_cookie_costs_no_io_and_sets_no_cookie() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/noop", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.total(), 0);
}

#[tokio::test]
async fn reading_a_new_session_costs_no_io_and_writes_nothing() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/read", None).await;
    assert_eq!(r.body, "0");
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.total(), 0);
}

#[tokio::test]
async fn a_change_is_written_once_and_an_unchanged_session_is_loaded_once_and_not_written() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/incr", None).await;
    assert_eq!(r.body, "1");
    assert_eq!(store.count(Op::Set), 1);
    let set = r.set_cookie.clone().unwrap();
    for attribute in ["Max-Age=86400", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let cookie = r.cookie();
    assert_eq!(cookie.split('.').count(), 3, "{cookie}: key.expiry.mac");

    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(r.set_cookie, None);
    assert_eq!(loads(&store), 1, "three reads, one load");
    assert_eq!(store.count(Op::Set), 1);
    assert_eq!(store.count(Op::Touch), 0);

    let r = send(&app, "/incr", Some(&cookie)).await;
    assert_eq!(r.body, "2");
    assert_eq!(key_of(&r.cookie()), key_of(&cookie), "same id");
}

#[tokio::test]
async fn rolling_touches_an_untouched_session_and_loads_rolling_when_read() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]).with_rolling(true));
    let cookie = send(&app, "/incr", None).await.cookie();

    let r = send(&app, "/noop", Some(&cookie)).await;
    assert_eq!(store.count(Op::Touch), 1);
    assert_eq!(loads(&store), 0);
    assert!(r.set_cookie.unwrap().contains("Max-Age=86400"));

    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(store.count(Op::RollingGet), 1);
    assert_eq!(
        store.count(Op::Touch),
        1,
        "the rolling get moved the expiry"
    );
    assert_eq!(store.count(Op::Set), 1);
    assert!(r.set_cookie.is_some());
}

#[tokio::test]
async fn without_rolling_an_unchanged_session_is_not_touched() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    assert_eq!(send(&app, "/noop", Some(&cookie)).await.set_cookie, None);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.set_cookie, None);
    assert_eq!(store.count(Op::Touch), 0);
    assert_eq!(store.count(Op::RollingGet), 0);
}

#[tokio::test]
async fn renew_touches_only_when_less_than_half_the_lifetime_remains() {
    let store = counted();
    // Unsigned, so the test can write the cookie's expiry itself.
    let layer = SessionLayer::unsigned(store.clone())
        .with_renew(true)
        .with_max_age(Duration::seconds(100))
        .unwrap();
    let app = app(layer);
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = key_of(&cookie);

    // 99 s left: nothing to do.
    let r = send(&app, "/noop", Some(&cookie)).await;
    assert_eq!(r.set_cookie, None);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.count(Op::Touch), 0);

    // 40 s left (< 50): renewed, with and without loading the session.
    let aging = format!("sid={}.{}", key.as_str(), now_ms() + 40_000);
    for path in ["/noop", "/read"] {
        let r = send(&app, path, Some(&aging)).await;
        let set = r.set_cookie.unwrap();
        assert!(set.contains("Max-Age=100"), "{path}: {set}");
        let expiry: i64 = set
            .split(';')
            .next()
            .and_then(|c| c.rsplit('.').next())
            .and_then(|e| e.parse().ok())
            .unwrap_or(0);
        assert!(
            expiry > now_ms() + 90_000,
            "{path}: fresh expiry in the cookie"
        );
    }
    assert_eq!(store.count(Op::Touch), 2);
    assert_eq!(store.count(Op::Set), 1);
}

/// A session that is gone is not refreshed: no `Set-Cookie` at all. Neither a fresh cookie
/// (which would keep a dead cookie alive forever) nor an expiring one (which could clear the
/// cookie a concurrent login just set under the same name); the record is not re-created.
#[tokio::test]
async fn rolling_never_refreshes_nor_clears_the_cookie_of_a_destroyed_session() {
    let (memory, store) = counted_memory();
    let app = app(signed(store.clone(), &[NEW]).with_rolling(true));
    let mut browser = Browser::holding(send(&app, "/incr", None).await.cookie());
    // Logged out elsewhere, or evicted.
    let key = stored_of(browser.cookie.as_deref().unwrap());
    memory.destroy(&key).await.unwrap();

    for _ in 0..2 {
        let r = browser.get(&app, "/noop").await;
        assert_eq!(r.set_cookie, None);
    }
    assert_eq!(store.count(Op::Touch), 2);
    assert!(
        memory
            .get(&key, Duration::hours(1), false)
            .await
            .unwrap()
            .is_none(),
        "the touch re-created the record"
    );
}

#[tokio::test]
async fn rolling_never_refreshes_the_cookie_of_an_expired_session() {
    let store = counted();
    let layer = signed(store.clone(), &[NEW])
        .with_rolling(true)
        .with_max_age(Duration::milliseconds(100))
        .unwrap();
    let app = app(layer);
    let mut browser = Browser::holding(send(&app, "/incr", None).await.cookie());
    // The cookie's Max-Age is rounded up to a second: the browser still sends it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let r = browser.get(&app, "/noop").await;
    assert_eq!(store.count(Op::Touch), 1);
    assert_eq!(r.set_cookie, None);
}

#[tokio::test]
async fn a_due_renew_never_refreshes_the_cookie_of_a_destroyed_session() {
    let (memory, store) = counted_memory();
    // Unsigned, so the test can write the cookie's expiry itself.
    let layer = SessionLayer::unsigned(store.clone())
        .with_renew(true)
        .with_max_age(Duration::seconds(100))
        .unwrap();
    let app = app(layer);
    let key = key_of(&send(&app, "/incr", None).await.cookie());
    memory.destroy(&key.digest()).await.unwrap();
    // 40 s left of 100: renew is due.
    let mut browser = Browser::holding(format!("sid={}.{}", key.as_str(), now_ms() + 40_000));

    let r = browser.get(&app, "/noop").await;
    assert_eq!(store.count(Op::Touch), 1);
    assert_eq!(r.set_cookie, None);
}

#[tokio::test]
async fn destroy_removes_the_record_and_expires_the_cookie() {
    let (memory, store) = counted_memory();
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = stored_of(&cookie);
    let r = send(&app, "/destroy", Some(&cookie)).await;
    let set = r.set_cookie.unwrap();
    assert!(
        set.starts_with("sid=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    assert_eq!(store.count(Op::Destroy), 1);
    assert_eq!(loads(&store), 0, "destroy needs no load");
    let gone = memory.get(&key, Duration::hours(1), false).await;
    assert!(matches!(gone, Ok(None)), "{gone:?}");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "0");
    // Nothing to destroy without a cookie.
    let r = send(&app, "/destroy", None).await;
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.count(Op::Destroy), 1);
}

#[tokio::test]
async fn regenerate_moves_the_data_to_a_new_id_and_destroys_the_old_record() {
    let (memory, store) = counted_memory();
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let r = send(&app, "/regenerate", Some(&cookie)).await;
    let new_cookie = r.cookie();
    assert_ne!(key_of(&new_cookie), key_of(&cookie));
    let old = memory
        .get(&key_of(&cookie), Duration::hours(1), false)
        .await;
    assert!(matches!(old, Ok(None)), "{old:?}");
    assert_eq!(send(&app, "/read", Some(&new_cookie)).await.body, "1");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "0");

    let r = send(&app, "/regenerate-empty", Some(&new_cookie)).await;
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    let old = memory
        .get(&key_of(&new_cookie), Duration::hours(1), false)
        .await;
    assert!(matches!(old, Ok(None)), "{old:?}");
}

#[tokio::test]
async fn store_errors_answer_503_when_transient_and_500_otherwise_without_a_cookie() {
    for (failure, status) in [
        (Failure::Timeout, StatusCode::SERVICE_UNAVAILABLE),
        (Failure::Backend, StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let memory = Arc::new(MemoryStore::new());
        let healthy = app(signed(memory.clone(), &[NEW]));
        let cookie = send(&healthy, "/incr", None).await.cookie();
        let store = CountingStore::failing(memory, failure);
        let layer = signed(store.clone(), &[NEW]);
        let app = app(layer.clone());
        // Saving fails.
        let r = send(&app, "/incr", None).await;
        assert_eq!((r.status, r.set_cookie), (status, None), "{failure:?}");
        // Loading fails, even when the handler swallows the error.
        let r = send(&app, "/ignore-errors", Some(&cookie)).await;
        assert_eq!((r.status, r.set_cookie), (status, None), "{failure:?}");
        assert_eq!(layer.metrics().store_errors(), 2);
        assert_eq!(loads(&store), 1);
    }
}

#[tokio::test]
async fn an_undecodable_record_is_no_session_and_is_counted() {
    let memory = Arc::new(MemoryStore::new());
    let healthy = app(signed(memory.clone(), &[NEW]));
    let cookie = send(&healthy, "/incr", None).await.cookie();
    let layer = signed(CountingStore::failing(memory, Failure::Decode), &[NEW]);
    let app = app(layer.clone());
    let r = send(&app, "/incr", Some(&cookie)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"));
    assert_ne!(
        key_of(&r.cookie()),
        key_of(&cookie),
        "a fresh id, not the unreadable one"
    );
    assert_eq!(layer.metrics().decode_errors(), 1);
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_500_value_error_and_the_session_survives() {
    let (memory, store) = counted_memory();
    let layer = signed(store.clone(), &[NEW]);
    let app = app(layer.clone());
    let cookie = send(&app, "/text", None).await.cookie();

    let r = send(&app, "/typed", Some(&cookie)).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "type mismatch")
    );
    // Not a store failure, not an unreadable record: the session and its cookie stay.
    assert_eq!(r.set_cookie, None);
    assert_eq!(layer.metrics().store_errors(), 0);
    assert_eq!(layer.metrics().decode_errors(), 0);
    assert_eq!(store.count(Op::Destroy), 0);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let stored = memory
        .get(&stored_of(&cookie), Duration::hours(1), false)
        .await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(
        stored.get::<String>("count").unwrap().as_deref(),
        Some("ten")
    );
}

/// A real memory store under constant contention: before every conditional write, another
/// writer rewrites the record (same data, new version), so every `write_if` loses.
#[derive(Debug)]
struct Contended(MemoryStore);

#[session_core::async_trait]
impl session_core::SessionStore for Contended {
    async fn load(
        &self,
        key: &session_core::SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> session_core::Result<Option<session_core::Loaded>> {
        self.0.load(key, max_age, rolling).await
    }
    async fn write(
        &self,
        key: &session_core::SessionKey,
        data: &session_core::SessionData,
        max_age: Duration,
    ) -> session_core::Result<()> {
        self.0.write(key, data, max_age).await
    }
    async fn write_if(
        &self,
        key: &session_core::SessionKey,
        data: &session_core::SessionData,
        max_age: Duration,
        expected: session_core::Version,
    ) -> session_core::Result<session_core::WriteOutcome> {
        if let Some(current) = self.0.load(key, max_age, false).await? {
            self.0.write(key, &current.data, max_age).await?;
        }
        self.0.write_if(key, data, max_age, expected).await
    }
    async fn touch(
        &self,
        key: &session_core::SessionKey,
        max_age: Duration,
    ) -> session_core::Result<bool> {
        self.0.touch(key, max_age).await
    }
    async fn destroy(&self, key: &session_core::SessionKey) -> session_core::Result<()> {
        self.0.destroy(key).await
    }
    async fn list_owned(
        &self,
        owner: &session_core::Owner,
    ) -> session_core::Result<Vec<session_core::OwnedSession>> {
        self.0.list_owned(owner).await
    }
    async fn destroy_owned(
        &self,
        owner: &session_core::Owner,
        keep: Option<&session_core::SessionKey>,
    ) -> session_core::Result<u64> {
        self.0.destroy_owned(owner, keep).await
    }
}

/// A save that loses every conditional write answers `409 Conflict` after its bounded retries
/// and writes none of its changes: never a silent loss, never an endless loop.
#[tokio::test]
async fn a_save_that_always_loses_answers_409_and_writes_nothing() {
    let memory = MemoryStore::new();
    let contended = Arc::new(Contended(memory.clone()));
    let app = app(signed(contended, &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = stored_of(&cookie);
    let before = memory.get(&key, Duration::hours(1), false).await.unwrap();
    let r = send(&app, "/incr", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.set_cookie, None);
    assert_eq!(
        memory.get(&key, Duration::hours(1), false).await.unwrap(),
        before
    );
}
