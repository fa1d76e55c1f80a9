//! The demo's HTTP API through the session middleware, once per backend, each store built by
//! `session-config` from a URL only: the same application code serves sessions from memory,
//! Redis, Redis Cluster, MongoDB and MySQL.
//!
//! Needs: `REDIS_URL` (default `redis://127.0.0.1:6379`), `REDIS_CLUSTER_URLS` (comma-separated,
//! default `redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103`),
//! `MONGODB_URL` (default `mongodb://127.0.0.1:27017`), `MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`). `source scripts/services.sh && start_all` starts them.
//! A missing server skips its tests loudly, or fails them under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;

use common::{Client, Server, config, key_of, open, record};
use reqwest::StatusCode;
use serde_json::json;
use session_core::SessionStore;

/// login → me → counter → logout, checking the store directly at each step.
async fn login_counting_and_logout_keep_the_store_in_step(store: Arc<dyn SessionStore>) {
    let server = Server::demo(Arc::clone(&store), config(&[common::KEY_A])).await;
    let mut a = Client::new(&server);

    let r = a.get("/users/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.set_cookie, None, "asking costs no session");

    let r = a.login("test", "wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.set_cookie, None, "a failed login creates no session");
    let r = a.login("nobody", "test").await;
    assert_eq!((r.status, r.set_cookie), (StatusCode::UNAUTHORIZED, None));

    // An anonymous session first: the counter works without login.
    let r = a.get("/count").await;
    assert_eq!(r.json, json!({ "count": 1 }));
    let anonymous = a.session_key();
    let stored = record(&*store, &anonymous).await.expect("no record");
    assert_eq!(stored.get::<u64>("count").ok().flatten(), Some(1));

    let r = a.login("test", "test").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, json!({ "username": "test" }));
    let logged_in = a.session_key();
    assert_ne!(logged_in, anonymous, "login regenerates the session id");
    assert_eq!(
        record(&*store, &anonymous).await,
        None,
        "the old record is destroyed"
    );
    let stored = record(&*store, &logged_in).await.expect("no record");
    assert_eq!(
        stored.get::<String>("user").ok().flatten().as_deref(),
        Some("test")
    );
    assert_eq!(
        stored.get::<u64>("count").ok().flatten(),
        Some(1),
        "data kept"
    );

    let r = a.get("/users/me").await;
    assert_eq!(
        (r.status, r.json),
        (StatusCode::OK, json!({ "username": "test" }))
    );
    assert_eq!(a.get("/count").await.json, json!({ "count": 2 }));
    assert_eq!(a.get("/count").await.json, json!({ "count": 3 }));
    let stored = record(&*store, &logged_in).await.expect("no record");
    assert_eq!(stored.get::<u64>("count").ok().flatten(), Some(3));

    let before_logout = a.cookie.clone();
    let r = a.post("/users/logout", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let set = r.set_cookie.unwrap_or_default();
    assert!(
        set.contains("Max-Age=0"),
        "logout expires the cookie: {set}"
    );
    assert_eq!(a.cookie, None);
    assert_eq!(
        record(&*store, &logged_in).await,
        None,
        "logout destroys the record"
    );

    // Replaying the old cookie neither logs in nor resurrects the record.
    let mut replay = Client::new(&server);
    replay.cookie = before_logout;
    assert_eq!(
        replay.get("/users/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(record(&*store, &logged_in).await, None);

    assert_eq!(a.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.get("/count").await.json,
        json!({ "count": 1 }),
        "a fresh session"
    );
}

/// Two clients, two sessions: neither ever sees the other's data.
async fn clients_never_see_each_others_sessions(store: Arc<dyn SessionStore>) {
    let server = Server::demo(Arc::clone(&store), config(&[common::KEY_A])).await;
    let mut a = Client::new(&server);
    let mut b = Client::new(&server);

    assert_eq!(a.login("test", "test").await.status, StatusCode::OK);
    assert_eq!(a.get("/count").await.json, json!({ "count": 1 }));
    assert_eq!(a.get("/count").await.json, json!({ "count": 2 }));

    assert_eq!(b.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.get("/count").await.json, json!({ "count": 1 }));
    assert_eq!(b.get("/count").await.json, json!({ "count": 2 }));
    assert_eq!(b.get("/users/me").await.status, StatusCode::UNAUTHORIZED);
    assert_ne!(a.session_key(), b.session_key());

    assert_eq!(a.get("/count").await.json, json!({ "count": 3 }));
    assert_eq!(a.get("/users/me").await.json, json!({ "username": "test" }));

    // B logging out does not touch A.
    assert_eq!(
        b.post("/users/logout", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(a.get("/users/me").await.json, json!({ "username": "test" }));
    let stored = record(&*store, &a.session_key()).await.expect("no record");
    assert_eq!(stored.get::<u64>("count").ok().flatten(), Some(3));
    assert_eq!(
        key_of(a.cookie.as_deref().unwrap_or_default()),
        a.session_key()
    );
}

macro_rules! backend {
    ($backend:ident) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn login_counting_and_logout_keep_the_store_in_step() {
                let Some(store) = open(stringify!($backend), "flow").await else {
                    return;
                };
                super::login_counting_and_logout_keep_the_store_in_step(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn clients_never_see_each_others_sessions() {
                let Some(store) = open(stringify!($backend), "isolation").await else {
                    return;
                };
                super::clients_never_see_each_others_sessions(store).await;
            }
        }
    };
}

backend!(memory);
backend!(redis);
backend!(redis_cluster);
backend!(mongo);
backend!(mysql);
