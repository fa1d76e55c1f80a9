//! Metrics, spans and lifecycle hooks of the middleware, against real servers.
//!
//! - Each counter and the store-latency histogram move as `session_tower::metrics` documents,
//!   step by step through a login, a request, a re-login, a logout, a stale cookie, an expiry,
//!   a rolling request, an unreadable record, a write conflict and store errors of both kinds,
//!   on the memory store and on Redis, read with `metrics-util`'s `DebuggingRecorder`.
//! - Every log line and every span (opened and closed, with all fields) of a login / request /
//!   logout / failed-login flow is captured on every backend, and no session id (nor the digest
//!   the store keys it by) and no session value appears in it.
//!
//! Needs the servers `scripts/test.sh` starts (`REDIS_URL`, `REDIS_CLUSTER_URLS`, `MYSQL_URL`,
//! `POSTGRES_URL`, `MONGODB_URL`); an unreachable server fails the run under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use session_config::{ConfigError, StoreConfig};
use session_core::{Duration, Result, SessionData, SessionKey, SessionStore};
use session_testkit::proxy::{FaultProxy, Mode};
use session_testkit::{capture_logs_and_spans, reachable, redis_url, store_url, unique_name};
use session_tower::metrics as m;
use session_tower::{Instrumented, KeyRing, Session, SessionEvent, SessionLayer};
use web::{call, id_of};

const KEY: &[u8] = b"observability-test-signing-key-0123456789";

/// Opens the store `backend` in the namespace `namespace`, from its URL.
async fn open(backend: &str, namespace: &str) -> Result<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(&store_url(backend, namespace, &[])).unwrap();
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    }
}

fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route(
            "/login/{user}",
            get(|session: Session, Path(user): Path<String>| async move {
                session.regenerate().await.unwrap();
                session
                    .insert("secret", format!("value-of-{user}"))
                    .await
                    .unwrap();
                session
                    .set_owner(&user, [("ua", "observability test")])
                    .await
                    .unwrap();
                "ok"
            }),
        )
        .route(
            "/failed-login/{user}",
            get(|session: Session, Path(user): Path<String>| async move {
                let tries: u32 = session.get("tries").await.unwrap().unwrap_or(0);
                session.insert("tries", tries + 1).await.unwrap();
                tracing::warn!(user = user.as_str(), "login refused: wrong password");
                StatusCode::UNAUTHORIZED
            }),
        )
        .route(
            "/whoami",
            get(|session: Session| async move {
                session
                    .owner()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| "-".to_owned())
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move {
                // Loaded first, so that the hook hears whose session ended.
                session.owner().await.unwrap();
                session.destroy().await;
                "bye"
            }),
        )
        .layer(layer)
}

/// What the recorder saw since the last look: counters by name (summed over labels, and by
/// label set), histogram sample counts by `(backend, operation)`.
#[derive(Debug, Default)]
struct Seen {
    counters: HashMap<String, u64>,
    labelled: HashMap<(String, Vec<(String, String)>), u64>,
    samples: HashMap<(String, String), usize>,
}

impl Seen {
    fn of(snapshotter: &Snapshotter) -> Seen {
        let mut seen = Seen::default();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let name = key.name().to_owned();
            let labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            match value {
                DebugValue::Counter(n) if n > 0 => {
                    *seen.counters.entry(name.clone()).or_default() += n;
                    *seen.labelled.entry((name, labels)).or_default() += n;
                }
                DebugValue::Histogram(samples) if !samples.is_empty() => {
                    assert_eq!(name, m::STORE_OPERATION_DURATION);
                    let label =
                        |k: &str| labels.iter().find(|(name, _)| name == k).unwrap().1.clone();
                    *seen
                        .samples
                        .entry((label("backend"), label("operation")))
                        .or_default() += samples.len();
                }
                _ => {}
            }
        }
        seen
    }

    /// Asserts that exactly the counters `expected` moved, by exactly those amounts.
    fn counted(&self, step: &str, expected: &[(&str, u64)]) {
        let expected: HashMap<String, u64> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        assert_eq!(self.counters, expected, "{step}: counters moved otherwise");
    }
}

/// Events the hook heard.
type Heard = Arc<Mutex<Vec<SessionEvent>>>;

fn layer_with_hook(store: Arc<dyn SessionStore>, heard: &Heard) -> SessionLayer {
    let heard = Arc::clone(heard);
    SessionLayer::new(store, KeyRing::new([KEY]).unwrap())
        .with_hook(move |event| heard.lock().unwrap().push(event.clone()))
}

fn owner(user: &str) -> Option<session_core::Owner> {
    Some(session_core::Owner::new(user).unwrap())
}

/// Drives the middleware over `store` (of OpenTelemetry system `system`) through every event
/// and checks each counter, the histogram and the hooks. `raw_put` writes bytes under a stored
/// key, for an unreadable record (`None`: the backend has no raw access here).
async fn metrics_move_as_documented(
    store: Arc<dyn SessionStore>,
    system: &str,
    raw_put: Option<&(dyn Fn(String) -> futures::future::BoxFuture<'static, ()> + Sync)>,
) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let heard: Heard = Arc::default();
    let app = router(layer_with_hook(Arc::clone(&store), &heard));
    let take = || std::mem::take(&mut *heard.lock().unwrap());

    let (_, alice) = call(&app, "/login/alice", None).await;
    let alice = alice.unwrap();
    let seen = Seen::of(&snapshotter);
    seen.counted("login", &[(m::CREATED, 1)]);
    assert!(
        seen.samples[&(system.to_owned(), "write".to_owned())] >= 1,
        "{seen:?}"
    );
    assert_eq!(
        take(),
        [SessionEvent::Created {
            owner: owner("alice")
        }]
    );

    assert_eq!(call(&app, "/whoami", Some(&alice)).await.0, "alice");
    let seen = Seen::of(&snapshotter);
    seen.counted("request", &[(m::LOADED, 1)]);
    assert_eq!(seen.samples[&(system.to_owned(), "load".to_owned())], 1);
    assert_eq!(take(), []);

    let (_, again) = call(&app, "/login/alice", Some(&alice)).await;
    let again = again.unwrap();
    Seen::of(&snapshotter).counted("re-login", &[(m::LOADED, 1), (m::REGENERATED, 1)]);
    assert_eq!(
        take(),
        [SessionEvent::Regenerated {
            owner: owner("alice")
        }]
    );

    call(&app, "/logout", Some(&again)).await;
    let seen = Seen::of(&snapshotter);
    seen.counted("logout", &[(m::LOADED, 1), (m::DESTROYED, 1)]);
    assert!(seen.samples[&(system.to_owned(), "destroy".to_owned())] >= 1);
    assert_eq!(
        take(),
        [SessionEvent::Destroyed {
            owner: owner("alice")
        }]
    );

    assert_eq!(call(&app, "/whoami", Some(&again)).await.0, "-");
    Seen::of(&snapshotter).counted("stale cookie", &[(m::MISSED, 1)]);

    // A real expiry: a one-second session, used after it ran out.
    let short = router(
        layer_with_hook(Arc::clone(&store), &heard)
            .with_max_age(Duration::seconds(1))
            .unwrap(),
    );
    let (_, bob) = call(&short, "/login/bob", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    Seen::of(&snapshotter);
    take();
    assert_eq!(call(&short, "/whoami", Some(&bob.unwrap())).await.0, "-");
    Seen::of(&snapshotter).counted("expired", &[(m::EXPIRED_ON_READ, 1)]);
    assert_eq!(take(), [SessionEvent::ExpiredOnRead { owner: None }]);

    let rolling = router(layer_with_hook(Arc::clone(&store), &heard).with_rolling(true));
    let (_, carol) = call(&rolling, "/login/carol", None).await;
    Seen::of(&snapshotter);
    call(&rolling, "/whoami", Some(&carol.unwrap())).await;
    Seen::of(&snapshotter).counted("rolling", &[(m::LOADED, 1), (m::RENEWED, 1)]);

    if let Some(raw_put) = raw_put {
        let (_, dave) = call(&app, "/login/dave", None).await;
        let dave = dave.unwrap();
        let stored = SessionKey::parse(id_of(&dave)).unwrap().digest();
        raw_put(stored.as_str().to_owned()).await;
        Seen::of(&snapshotter);
        assert_eq!(call(&app, "/whoami", Some(&dave)).await.0, "-");
        Seen::of(&snapshotter).counted("unreadable", &[(m::DECODE_FAILURES, 1)]);
    }

    // Store-level reports, through the same wrapper the layer applies.
    let instrumented = Instrumented::new(Arc::clone(&store));
    let key = SessionKey::generate();
    let mut data = SessionData::new();
    data.insert("n", 1).unwrap();
    let day = Duration::days(1);
    instrumented.write(&key, &data, day).await.unwrap();
    let version = instrumented
        .load(&key, day, false)
        .await
        .unwrap()
        .unwrap()
        .version;
    let first = instrumented
        .write_if(&key, &data, day, version)
        .await
        .unwrap();
    assert!(first.written().is_some());
    let second = instrumented
        .write_if(&key, &data, day, version)
        .await
        .unwrap();
    assert_eq!(second, session_core::WriteOutcome::Conflict);
    let mut huge = SessionData::new();
    huge.insert("blob", "x".repeat(2 * 1024 * 1024)).unwrap();
    let refused = instrumented.write(&key, &huge, day).await.unwrap_err();
    assert!(!refused.is_transient());
    let seen = Seen::of(&snapshotter);
    seen.counted("store", &[(m::WRITE_CONFLICTS, 1), (m::STORE_ERRORS, 1)]);
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        seen.labelled[&(
            m::STORE_ERRORS.to_owned(),
            labels(&[("backend", system), ("kind", "permanent")])
        )],
        1
    );
    assert_eq!(seen.samples[&(system.to_owned(), "write_if".to_owned())], 2);
    instrumented.destroy(&key).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_move_as_documented_on_memory() {
    let store = open("memory", &unique_name("metrics")).await.unwrap();
    metrics_move_as_documented(store, "memory", None).await;
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_move_as_documented_on_redis() {
    let namespace = unique_name("metrics");
    let Some(store) = reachable("redis", "metrics", open("redis", &namespace).await) else {
        return;
    };
    let client = ::redis::Client::open(redis_url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let prefix = format!("{namespace}:");
    let put = move |key: String| -> futures::future::BoxFuture<'static, ()> {
        let mut conn = conn.clone();
        let key = format!("{prefix}{key}");
        Box::pin(async move {
            let () = ::redis::cmd("SET")
                .arg(key)
                .arg("not a session record")
                .query_async(&mut conn)
                .await
                .unwrap();
        })
    };
    metrics_move_as_documented(store, "redis", Some(&put)).await;

    // A transient failure: a store behind a proxy of its own that stops forwarding.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let upstream = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let hasty = session_redis::RedisStore::connect(&format!("redis://{}", proxy.addr()))
        .await
        .unwrap()
        .with_timeout(std::time::Duration::from_millis(200));
    proxy.set_mode(Mode::Stall).await.unwrap();
    let hasty = Instrumented::new(Arc::new(hasty));
    let e = hasty
        .load(&SessionKey::generate(), Duration::days(1), false)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let seen = Seen::of(&snapshotter);
    assert_eq!(
        seen.labelled[&(
            m::STORE_ERRORS.to_owned(),
            vec![
                ("backend".to_owned(), "redis".to_owned()),
                ("kind".to_owned(), "transient".to_owned())
            ]
        )],
        1
    );
}

/// Captures everything logged and every span of a login, a request, a failed login and a
/// logout on `backend`, and checks that no id, digest or value is in it.
async fn no_id_or_value_in_logs_or_spans(backend: &'static str, system: &str) {
    let namespace = unique_name("logs");
    let Some(store) = reachable(backend, "logs", open(backend, &namespace).await) else {
        return;
    };
    let logs = capture_logs_and_spans();
    let app = router(SessionLayer::new(store, KeyRing::new([KEY]).unwrap()));
    let user = format!("{namespace}-user");
    let (_, first) = call(&app, &format!("/failed-login/{user}"), None).await;
    let first = first.unwrap();
    let (_, cookie) = call(&app, &format!("/login/{user}"), Some(&first)).await;
    let cookie = cookie.unwrap();
    assert_eq!(call(&app, "/whoami", Some(&cookie)).await.0, user);
    call(&app, "/logout", Some(&cookie)).await;
    call(&app, &format!("/failed-login/{user}"), Some(&cookie)).await;
    let text = logs.text();
    drop(logs);

    // The capture works: the store spans are there with their attributes.
    assert!(
        text.contains(&format!("db.system=\"{system}\""))
            || text.contains(&format!("db.system={system}")),
        "{backend}: no store span in:\n{text}"
    );
    assert!(
        text.contains("db.operation.name=\"load\"") || text.contains("db.operation.name=load"),
        "{text}"
    );
    assert!(text.contains("login refused"), "{text}");
    for cookie in [&first, &cookie] {
        let id = id_of(cookie);
        let digest = SessionKey::parse(id).unwrap().digest();
        assert!(
            !text.contains(id),
            "{backend}: a session id is in the logs:\n{text}"
        );
        assert!(
            !text.contains(digest.as_str()),
            "{backend}: a stored key is in the logs:\n{text}"
        );
    }
    assert!(
        !text.contains(&format!("value-of-{user}")),
        "{backend}: a session value is in the logs:\n{text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_memory() {
    no_id_or_value_in_logs_or_spans("memory", "memory").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_redis() {
    no_id_or_value_in_logs_or_spans("redis", "redis").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_redis_cluster() {
    no_id_or_value_in_logs_or_spans("redis_cluster", "redis").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_mysql() {
    no_id_or_value_in_logs_or_spans("mysql", "mysql").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_postgres() {
    no_id_or_value_in_logs_or_spans("postgres", "postgresql").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_sqlite() {
    no_id_or_value_in_logs_or_spans("sqlite", "sqlite").await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_or_value_in_logs_or_spans_on_mongo() {
    no_id_or_value_in_logs_or_spans("mongo", "mongodb").await;
}
