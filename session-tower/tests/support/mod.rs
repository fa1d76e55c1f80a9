//! What the middleware tests share: a counting store, an app with one route per thing a handler
//! can do with its session, and a client. Needs no server.

// Always true in a test crate; it tells clippy this is test code, where `clippy.toml` allows
// `unwrap`, as it does for `#[test]` functions.
#![cfg(test)]
// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use session_core::{
    DecodeError, Duration, Error, Result as StoreResult, SessionData, SessionKey, SessionStore,
    async_trait,
};
use session_memory::MemoryStore;
use session_tower::{KeyRing, Session, SessionError, SessionLayer};
use tower::ServiceExt as _;

pub(crate) const OLD: &[u8] = b"old-key-old-key-old-key-old-key-";
pub(crate) const NEW: &[u8] = b"new-key-new-key-new-key-new-key-";

/// Which failure a [`CountingStore`] injects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fail {
    Never,
    /// Every call times out (transient).
    Timeout,
    /// Every call fails with a permanent backend error.
    Backend,
    /// Every `get` finds an unreadable record.
    Decode,
}

/// A real [`MemoryStore`] that counts the calls made to it and can be told to fail.
#[derive(Debug)]
pub(crate) struct CountingStore {
    pub(crate) inner: MemoryStore,
    pub(crate) gets: AtomicUsize,
    pub(crate) rolling_gets: AtomicUsize,
    pub(crate) writes: AtomicUsize,
    /// `touch`, and `set` with `changed = false`, which is the same operation.
    pub(crate) touches: AtomicUsize,
    pub(crate) destroys: AtomicUsize,
    fail: Mutex<Fail>,
}

impl CountingStore {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(CountingStore {
            inner: MemoryStore::new(),
            gets: AtomicUsize::new(0),
            rolling_gets: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            touches: AtomicUsize::new(0),
            destroys: AtomicUsize::new(0),
            fail: Mutex::new(Fail::Never),
        })
    }

    /// From now on, fail as `fail` says.
    pub(crate) fn fail_with(&self, fail: Fail) {
        *self.fail.lock().unwrap() = fail;
    }

    pub(crate) fn calls(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
            + self.writes.load(Ordering::SeqCst)
            + self.touches.load(Ordering::SeqCst)
            + self.destroys.load(Ordering::SeqCst)
    }

    fn failure(&self) -> StoreResult<()> {
        match *self.fail.lock().unwrap() {
            Fail::Never | Fail::Decode => Ok(()),
            Fail::Timeout => Err(Error::Timeout {
                backend: "test",
                after: StdDuration::from_millis(1),
            }),
            Fail::Backend => Err(Error::backend("test", std::io::Error::other("denied"))),
        }
    }
}

#[async_trait]
impl SessionStore for CountingStore {
    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> StoreResult<Option<SessionData>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        if rolling {
            self.rolling_gets.fetch_add(1, Ordering::SeqCst);
        }
        self.failure()?;
        if *self.fail.lock().unwrap() == Fail::Decode {
            return Err(Error::Decode(DecodeError::NotARecord));
        }
        self.inner.get(key, max_age, rolling).await
    }

    async fn set(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        changed: bool,
    ) -> StoreResult<()> {
        let counter = if changed { &self.writes } else { &self.touches };
        counter.fetch_add(1, Ordering::SeqCst);
        self.failure()?;
        self.inner.set(key, data, max_age, changed).await
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> StoreResult<bool> {
        self.touches.fetch_add(1, Ordering::SeqCst);
        self.failure()?;
        self.inner.touch(key, max_age).await
    }

    async fn destroy(&self, key: &SessionKey) -> StoreResult<()> {
        self.destroys.fetch_add(1, Ordering::SeqCst);
        self.failure()?;
        self.inner.destroy(key).await
    }
}

async fn noop() -> &'static str {
    "ok"
}

// Without the `axum` feature SessionError is not a response; map it to its status.
fn status(e: SessionError) -> StatusCode {
    e.status()
}

async fn read(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    // Three reads, one load.
    let _ = s.get::<u64>("count").await.map_err(status)?;
    let _ = s.get::<u64>("count").await.map_err(status)?;
    let n = s.get::<u64>("count").await.map_err(status)?;
    Ok(n.unwrap_or(0).to_string())
}

async fn incr(Extension(s): Extension<Session>) -> Result<String, StatusCode> {
    let n = s.get::<u64>("count").await.map_err(status)?.unwrap_or(0) + 1;
    s.insert("count", n).await.map_err(status)?;
    Ok(n.to_string())
}

/// Stores a string where `/read` and `/incr` expect a number.
async fn text(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    s.insert("count", "ten").await.map_err(status)?;
    Ok("ten")
}

/// Names the error `get::<u64>` returned.
async fn typed(Extension(s): Extension<Session>) -> (StatusCode, String) {
    match s.get::<u64>("count").await {
        Ok(n) => (StatusCode::OK, format!("{n:?}")),
        Err(e @ SessionError::Value(Error::TypeMismatch { .. })) => {
            (e.status(), "type mismatch".to_owned())
        }
        Err(e) => (e.status(), format!("{e:?}")),
    }
}

async fn destroy(Extension(s): Extension<Session>) -> &'static str {
    s.destroy().await;
    "bye"
}

async fn regenerate(Extension(s): Extension<Session>) -> Result<&'static str, StatusCode> {
    s.regenerate().await.map_err(status)?;
    Ok("new id")
}

async fn regenerate_empty(Extension(s): Extension<Session>) -> &'static str {
    s.regenerate_empty().await;
    "new id, no data"
}

async fn ignore_errors(Extension(s): Extension<Session>) -> String {
    // A handler that swallows the error still gets the middleware's status.
    s.get::<u64>("count")
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
        .to_string()
}

pub(crate) fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/noop", get(noop))
        .route("/read", get(read))
        .route("/incr", get(incr))
        .route("/text", get(text))
        .route("/typed", get(typed))
        .route("/destroy", get(destroy))
        .route("/regenerate", get(regenerate))
        .route("/regenerate-empty", get(regenerate_empty))
        .route("/ignore-errors", get(ignore_errors))
        .layer(layer)
}

/// A layer signing with `keys` over `store`.
pub(crate) fn signed(store: Arc<dyn SessionStore>, keys: &[&[u8]]) -> SessionLayer {
    SessionLayer::new(store, KeyRing::new(keys).unwrap())
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) set_cookie: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    /// The `name=value` part of the Set-Cookie, ready to send back.
    pub(crate) fn cookie(&self) -> String {
        let set = self.set_cookie.as_deref().expect("no Set-Cookie");
        set.split(';').next().unwrap().to_owned()
    }

    /// The Set-Cookie tells the browser to drop the cookie.
    pub(crate) fn expires_the_cookie(&self) -> bool {
        self.set_cookie
            .as_deref()
            .is_some_and(|set| set.contains("Max-Age=0"))
    }
}

/// Sends `GET path` with `cookie` as the `Cookie` header.
pub(crate) async fn send(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let mut cookies = res.headers().get_all(header::SET_COOKIE).iter();
    let set_cookie = cookies.next().map(|v| v.to_str().unwrap().to_owned());
    assert!(cookies.next().is_none(), "more than one Set-Cookie");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        set_cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A browser's side of the session cookie: it sends what it holds and obeys each Set-Cookie.
#[derive(Debug, Default)]
pub(crate) struct Browser {
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) fn holding(cookie: String) -> Self {
        Browser {
            cookie: Some(cookie),
        }
    }

    pub(crate) async fn get(&mut self, app: &Router, path: &str) -> Reply {
        let reply = send(app, path, self.cookie.as_deref()).await;
        if reply.set_cookie.is_some() {
            self.cookie = (!reply.expires_the_cookie()).then(|| reply.cookie());
        }
        reply
    }
}

/// The session key in a `sid=<key>.<expiry>[.<mac>]` cookie.
pub(crate) fn key_of(cookie: &str) -> SessionKey {
    let (_, value) = cookie.split_once('=').unwrap();
    SessionKey::parse(value.split('.').next().unwrap()).unwrap()
}
