//! What the middleware tests share: an app with one route per thing a handler can do with its
//! session, a client, and a browser. The store that counts calls is the test kit's. Needs no
//! server.

// Always true in a test crate; it tells clippy this is test code, where `clippy.toml` allows
// `unwrap`, as it does for `#[test]` functions.
#![cfg(test)]
// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use session_core::{Error, SessionKey, SessionStore};
use session_memory::MemoryStore;
use session_testkit::{CountingStore, Op};
use session_tower::{KeyRing, Session, SessionError, SessionLayer};
use tower::ServiceExt as _;

pub(crate) const OLD: &[u8] = b"old-key-old-key-old-key-old-key-";
pub(crate) const NEW: &[u8] = b"new-key-new-key-new-key-new-key-";

/// A [`CountingStore`] over a fresh [`MemoryStore`].
pub(crate) fn counted() -> Arc<CountingStore> {
    CountingStore::new(Arc::new(MemoryStore::new()))
}

/// A [`CountingStore`] over a fresh [`MemoryStore`], and that store, to look behind the
/// middleware's back.
pub(crate) fn counted_memory() -> (Arc<MemoryStore>, Arc<CountingStore>) {
    let memory = Arc::new(MemoryStore::new());
    (memory.clone(), CountingStore::new(memory))
}

/// Loads, rolling or not.
pub(crate) fn loads(store: &CountingStore) -> usize {
    store.count(Op::Get) + store.count(Op::RollingGet)
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

/// The key the store keeps the session of a `sid=…` cookie under (ids are hashed at rest).
pub(crate) fn stored_of(cookie: &str) -> SessionKey {
    key_of(cookie).digest()
}

/// The session key in a `sid=<key>.<expiry>[.<mac>]` cookie.
pub(crate) fn key_of(cookie: &str) -> SessionKey {
    let (_, value) = cookie.split_once('=').unwrap();
    SessionKey::parse(value.split('.').next().unwrap()).unwrap()
}
