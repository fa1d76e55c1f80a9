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

use support::{Browser, NEW, app, counted, counted_memory, key_of, loads, send, signed};

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

#[tokio::test]
async fn rolling_expires_the_cookie_of_a_destroyed_session_and_then_costs_no_store_io() {
    let (memory, store) = counted_memory();
    let app = app(signed(store.clone(), &[NEW]).with_rolling(true));
    let mut browser = Browser::holding(send(&app, "/incr", None).await.cookie());
    // Logged out elsewhere, or evicted.
    let key = key_of(browser.cookie.as_deref().unwrap());
    memory.destroy(&key).await.unwrap();

    let r = browser.get(&app, "/noop").await;
    assert_eq!(store.count(Op::Touch), 1);
    assert!(r.expires_the_cookie(), "{:?}", r.set_cookie);
    assert_eq!(browser.cookie, None);
    let calls = store.total();
    let r = browser.get(&app, "/noop").await;
    assert_eq!((r.set_cookie, store.total()), (None, calls));
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
async fn rolling_expires_the_cookie_of_an_expired_session() {
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
    assert!(r.expires_the_cookie(), "{:?}", r.set_cookie);
    let calls = store.total();
    browser.get(&app, "/noop").await;
    assert_eq!(store.total(), calls);
}

#[tokio::test]
async fn a_due_renew_expires_the_cookie_of_a_destroyed_session() {
    let (memory, store) = counted_memory();
    // Unsigned, so the test can write the cookie's expiry itself.
    let layer = SessionLayer::unsigned(store.clone())
        .with_renew(true)
        .with_max_age(Duration::seconds(100))
        .unwrap();
    let app = app(layer);
    let key = key_of(&send(&app, "/incr", None).await.cookie());
    memory.destroy(&key).await.unwrap();
    // 40 s left of 100: renew is due.
    let mut browser = Browser::holding(format!("sid={}.{}", key.as_str(), now_ms() + 40_000));

    let r = browser.get(&app, "/noop").await;
    assert_eq!(store.count(Op::Touch), 1);
    assert!(r.expires_the_cookie(), "{:?}", r.set_cookie);
    let calls = store.total();
    browser.get(&app, "/noop").await;
    assert_eq!(store.total(), calls);
}

#[tokio::test]
async fn destroy_removes_the_record_and_expires_the_cookie() {
    let (memory, store) = counted_memory();
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = key_of(&cookie);
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
        .get(&key_of(&cookie), Duration::hours(1), false)
        .await;
    let stored = stored.unwrap().unwrap();
    assert_eq!(
        stored.get::<String>("count").unwrap().as_deref(),
        Some("ten")
    );
}
