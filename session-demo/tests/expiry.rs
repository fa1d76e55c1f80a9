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
use session_core::{Duration, SessionKey, SessionStore};

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(StdDuration::from_millis(ms)).await;
}

/// The demo over `store` with sessions of `max_age_s` seconds, `rolling` and `renew` as given, a
/// client logged in to it, and the client's session key. The client needs the server alive.
async fn logged_in(
    store: &Arc<dyn SessionStore>,
    max_age_s: i64,
    rolling: bool,
    renew: bool,
) -> (Server, Client, SessionKey) {
    let mut config = config(&[KEY_A]);
    config.max_age = Duration::seconds(max_age_s);
    config.rolling = rolling;
    config.renew = renew;
    let server = Server::demo(Arc::clone(store), config).await;
    let mut client = Client::new(&server);
    let r = client.login("test", "test").await;
    assert_eq!((r.status, r.max_age()), (StatusCode::OK, Some(max_age_s)));
    let key = client.session_key();
    (server, client, key)
}

/// After `idle_ms` without a request, more than the lifetime, the session is gone from the
/// store and the client is logged out.
async fn expires_when_idle_for(
    store: &dyn SessionStore,
    c: &mut Client,
    key: &SessionKey,
    idle_ms: u64,
) {
    sleep_ms(idle_ms).await;
    assert_eq!(
        record(store, key).await,
        None,
        "an idle session still expires"
    );
    assert_eq!(c.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
}

/// Reads do not move the expiry of a session that is neither rolling nor renewing.
async fn without_rolling_an_idle_read_does_not_extend(store: Arc<dyn SessionStore>) {
    let (_server, mut c, key) = logged_in(&store, 3, false, false).await;

    sleep_ms(1200).await;
    let r = c.get("/users/me").await;
    assert_eq!((r.status, r.set_cookie), (StatusCode::OK, None));
    // 3.5 s after login.
    expires_when_idle_for(&*store, &mut c, &key, 2300).await;
}

/// Rolling: every request moves the store expiry and re-sets the cookie.
async fn rolling_extends_on_every_request(store: Arc<dyn SessionStore>) {
    let (_server, mut c, key) = logged_in(&store, 3, true, false).await;

    for _ in 0..3 {
        sleep_ms(1200).await;
        let r = c.get("/users/me").await;
        assert_eq!(r.status, StatusCode::OK, "still logged in");
        assert_eq!(r.max_age(), Some(3), "rolling re-sets the cookie");
    }
    // 3.6 s after login, more than max_age: only the rolling extensions keep it alive.
    assert!(record(&*store, &key).await.is_some());

    expires_when_idle_for(&*store, &mut c, &key, 3500).await;
}

/// Renew: nothing while more than half the lifetime remains, then touch + new cookie.
async fn renew_extends_when_less_than_half_remains(store: Arc<dyn SessionStore>) {
    let (_server, mut c, key) = logged_in(&store, 4, false, true).await;

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

    expires_when_idle_for(&*store, &mut c, &key, 4500).await;
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
