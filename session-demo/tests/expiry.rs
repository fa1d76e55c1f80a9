//! Session lifetime through the demo on every backend, with real short lifetimes and sleeps
//! (the store's clock decides, so tokio's paused clock cannot be used): `rolling` moves the
//! expiry on every request and re-sets the cookie, `renew` only when less than half of the
//! lifetime remains, and neither lets an idle session outlive `max_age`.
//!
//! Needs the same servers as `backends.rs` (`REDIS_URL`, `REDIS_CLUSTER_URLS`, `MONGODB_URL`,
//! `MYSQL_URL`); a missing server skips loudly, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use common::{Client, KEY_A, Server, config, record};
use reqwest::StatusCode;
use session_core::{Duration, SessionStore};

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(StdDuration::from_millis(ms)).await;
}

/// Reads do not move the expiry of a session that is neither rolling nor renewing.
async fn without_rolling_an_idle_read_does_not_extend(store: Arc<dyn SessionStore>) {
    let mut config = config(&[KEY_A]);
    config.max_age = Duration::seconds(3);
    config.renew = false;
    let server = Server::demo(Arc::clone(&store), config).await;
    let mut c = Client::new(&server);
    let r = c.login("test", "test").await;
    assert_eq!(r.max_age(), Some(3));
    let key = c.session_key();

    sleep_ms(1200).await;
    let r = c.get("/users/me").await;
    assert_eq!((r.status, r.set_cookie), (StatusCode::OK, None));
    sleep_ms(2300).await; // 3.5 s after login
    assert_eq!(record(&*store, &key).await, None, "expired in the store");
    assert_eq!(c.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
}

/// Rolling: every request moves the store expiry and re-sets the cookie.
async fn rolling_extends_on_every_request(store: Arc<dyn SessionStore>) {
    let mut config = config(&[KEY_A]);
    config.max_age = Duration::seconds(3);
    config.renew = false;
    config.rolling = true;
    let server = Server::demo(Arc::clone(&store), config).await;
    let mut c = Client::new(&server);
    assert_eq!(c.login("test", "test").await.status, StatusCode::OK);
    let key = c.session_key();

    for _ in 0..3 {
        sleep_ms(1200).await;
        let r = c.get("/users/me").await;
        assert_eq!(r.status, StatusCode::OK, "still logged in");
        assert_eq!(r.max_age(), Some(3), "rolling re-sets the cookie");
    }
    // 3.6 s after login, more than max_age: only the rolling extensions keep it alive.
    assert!(record(&*store, &key).await.is_some());

    sleep_ms(3500).await;
    assert_eq!(
        record(&*store, &key).await,
        None,
        "an idle session still expires"
    );
    assert_eq!(c.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
}

/// Renew: nothing while more than half the lifetime remains, then touch + new cookie.
async fn renew_extends_when_less_than_half_remains(store: Arc<dyn SessionStore>) {
    let mut config = config(&[KEY_A]);
    config.max_age = Duration::seconds(4);
    config.renew = true;
    let server = Server::demo(Arc::clone(&store), config).await;
    let mut c = Client::new(&server);
    assert_eq!(c.login("test", "test").await.status, StatusCode::OK);
    let key = c.session_key();

    sleep_ms(1000).await; // 3 s left of 4: no renew
    let r = c.get("/users/me").await;
    assert_eq!((r.status, r.set_cookie), (StatusCode::OK, None));

    sleep_ms(1600).await; // 1.4 s left: renew
    let r = c.get("/users/me").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.max_age(), Some(4), "renewed cookie: {:?}", r.set_cookie);

    sleep_ms(1900).await; // 4.5 s after login: alive only thanks to the renew
    assert!(
        record(&*store, &key).await.is_some(),
        "renew moved the store expiry"
    );
    assert_eq!(c.get("/users/me").await.status, StatusCode::OK);

    sleep_ms(4500).await;
    assert_eq!(
        record(&*store, &key).await,
        None,
        "an idle session still expires"
    );
    assert_eq!(c.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
}

// The three scenarios run concurrently in one test per backend: they mostly sleep, and the test
// harness runs only as many tests at once as there are CPUs.
macro_rules! backend {
    ($backend:ident) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn idle_sessions_expire_unless_rolling_or_renew_extends_them() {
                let backend = stringify!($backend);
                let (Some(plain), Some(rolling), Some(renew)) = (
                    common::open(backend, "plain").await,
                    common::open(backend, "rolling").await,
                    common::open(backend, "renew").await,
                ) else {
                    return;
                };
                tokio::join!(
                    without_rolling_an_idle_read_does_not_extend(plain),
                    rolling_extends_on_every_request(rolling),
                    renew_extends_when_less_than_half_remains(renew),
                );
            }
        }
    };
}

backend!(memory);
backend!(redis);
backend!(redis_cluster);
backend!(mongo);
backend!(mysql);
