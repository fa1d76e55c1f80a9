//! Behaviour through the real service stack (axum router + layer + MemoryStore), no network.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use session_core::{
    DecodeError, Duration, Error, Result as StoreResult, SessionData, SessionKey, SessionStore,
    async_trait, now_ms,
};
use session_memory::MemoryStore;
use tower::ServiceExt as _;

use crate::{KeyRing, LayerError, Session, SessionError, SessionLayer};

const OLD: &[u8] = b"old-key-old-key-old-key-old-key-";
const NEW: &[u8] = b"new-key-new-key-new-key-new-key-";

/// Which failure a [`CountingStore`] injects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    Never,
    Timeout,
    Backend,
    Decode,
}

/// A real MemoryStore that counts the calls made to it and can be told to fail.
#[derive(Debug)]
struct CountingStore {
    inner: MemoryStore,
    gets: AtomicUsize,
    rolling_gets: AtomicUsize,
    writes: AtomicUsize,
    touches: AtomicUsize,
    destroys: AtomicUsize,
    fail: Fail,
}

impl CountingStore {
    fn new(fail: Fail) -> Arc<Self> {
        Arc::new(CountingStore {
            inner: MemoryStore::new(),
            gets: AtomicUsize::new(0),
            rolling_gets: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            touches: AtomicUsize::new(0),
            destroys: AtomicUsize::new(0),
            fail,
        })
    }

    fn calls(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
            + self.writes.load(Ordering::SeqCst)
            + self.touches.load(Ordering::SeqCst)
            + self.destroys.load(Ordering::SeqCst)
    }

    fn failure(&self) -> StoreResult<()> {
        match self.fail {
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
        if self.fail == Fail::Decode {
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

fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/noop", get(noop))
        .route("/read", get(read))
        .route("/incr", get(incr))
        .route("/destroy", get(destroy))
        .route("/regenerate", get(regenerate))
        .route("/regenerate-empty", get(regenerate_empty))
        .route("/ignore-errors", get(ignore_errors))
        .layer(layer)
}

fn signed(store: Arc<dyn SessionStore>, keys: &[&[u8]]) -> SessionLayer {
    SessionLayer::new(store, KeyRing::new(keys).unwrap_or_else(|e| panic!("{e}")))
}

struct Reply {
    status: StatusCode,
    set_cookie: Option<String>,
    body: String,
}

impl Reply {
    /// The `name=value` part of the Set-Cookie, ready to send back.
    fn cookie(&self) -> String {
        let set = self
            .set_cookie
            .as_deref()
            .unwrap_or_else(|| panic!("no Set-Cookie"));
        set.split(';').next().unwrap_or_default().to_owned()
    }
}

async fn send(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let req = req.body(Body::empty()).unwrap_or_else(|e| panic!("{e}"));
    let res = app
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = res.status();
    let mut cookies = res.headers().get_all(header::SET_COOKIE).iter();
    let set_cookie = cookies
        .next()
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    assert!(cookies.next().is_none(), "more than one Set-Cookie");
    let body = res
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    Reply {
        status,
        set_cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn key_of(cookie: &str) -> SessionKey {
    let value = cookie.split_once('=').map(|(_, v)| v).unwrap_or_default();
    let key = value.split('.').next().unwrap_or_default();
    SessionKey::parse(key).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn untouched_session_without_cookie_costs_no_io_and_sets_no_cookie() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/noop", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.calls(), 0);
}

#[tokio::test]
async fn reading_a_new_session_costs_no_io_and_writes_nothing() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/read", None).await;
    assert_eq!(r.body, "0");
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.calls(), 0);
}

#[tokio::test]
async fn a_change_is_written_once_and_an_unchanged_session_is_loaded_once_and_not_written() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let r = send(&app, "/incr", None).await;
    assert_eq!(r.body, "1");
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
    let set = r.set_cookie.clone().unwrap_or_default();
    for attribute in ["Max-Age=86400", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let cookie = r.cookie();
    assert_eq!(cookie.split('.').count(), 3, "{cookie}: key.expiry.mac");

    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(r.set_cookie, None);
    assert_eq!(
        store.gets.load(Ordering::SeqCst),
        1,
        "three reads, one load"
    );
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
    assert_eq!(store.touches.load(Ordering::SeqCst), 0);

    let r = send(&app, "/incr", Some(&cookie)).await;
    assert_eq!(r.body, "2");
    assert_eq!(key_of(&r.cookie()), key_of(&cookie), "same id");
}

#[tokio::test]
async fn a_forged_signature_is_ignored_without_a_store_lookup() {
    let store = CountingStore::new(Fail::Never);
    let layer = signed(store.clone(), &[NEW]);
    let app = app(layer.clone());
    let cookie = send(&app, "/incr", None).await.cookie();
    let calls = store.calls();

    let mut forged = cookie.clone();
    let last = forged.pop().unwrap_or('A');
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = send(&app, "/noop", Some(&forged)).await;
    assert_eq!((r.set_cookie, store.calls()), (None, calls));
    let r = send(&app, "/read", Some(&forged)).await;
    assert_eq!(r.body, "0", "the forged cookie's session is not visible");
    assert_eq!(store.calls(), calls, "no store lookup for a forged cookie");
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=0"));

    // The same value signed by a key outside the ring.
    let stranger = app_with_keys(store.clone(), &[OLD]);
    let foreign = send(&stranger, "/incr", None).await.cookie();
    let r = send(&app, "/read", Some(&foreign)).await;
    assert_eq!(r.body, "0");
    assert_eq!(layer.metrics().rejected_cookies(), 3);
}

#[tokio::test]
async fn two_different_session_cookies_are_no_session_even_if_both_verify() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let victim = send(&app, "/incr", None).await.cookie();
    let planted = send(&app, "/incr", None).await.cookie();
    let calls = store.calls();
    // Cookie tossing: a sibling subdomain or a narrower path planted a genuine cookie of its own.
    for header in [
        format!("{planted}; {victim}"),
        format!("{victim}; other=1; {planted}"),
    ] {
        let r = send(&app, "/read", Some(&header)).await;
        assert_eq!(r.body, "0", "{header}: one of the duplicates was used");
    }
    assert_eq!(store.calls(), calls, "duplicates reached the store");
    // The same cookie sent twice is still that one cookie; an unrelated UTF-8 cookie hides nothing.
    assert_eq!(
        send(&app, "/read", Some(&format!("{victim}; {victim}")))
            .await
            .body,
        "1"
    );
    let mut req = Request::get("/read");
    req = req.header(
        header::COOKIE,
        http::HeaderValue::from_bytes(format!("lang=fran\u{e7}ais; {victim}").as_bytes())
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| match e {});
    let body = res
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    assert_eq!(&body[..], b"1");
}

fn app_with_keys(store: Arc<CountingStore>, keys: &[&[u8]]) -> Router {
    app(signed(store, keys))
}

#[tokio::test]
async fn unsigned_cookies_carry_no_mac_and_still_work() {
    let store = CountingStore::new(Fail::Never);
    let app = app(SessionLayer::unsigned(store.clone()));
    let cookie = send(&app, "/incr", None).await.cookie();
    assert_eq!(cookie.split('.').count(), 2, "{cookie}: key.expiry");
    assert_eq!(send(&app, "/incr", Some(&cookie)).await.body, "2");
    // A made-up id finds nothing and is not adopted.
    let made_up = format!("sid={}.{}", "a".repeat(43), now_ms() + 60_000);
    let r = send(&app, "/incr", Some(&made_up)).await;
    assert_eq!(r.body, "1");
    assert_ne!(key_of(&r.cookie()).as_str(), "a".repeat(43));
}

#[tokio::test]
async fn a_cookie_signed_with_an_older_key_is_accepted_and_re_signed_with_the_first() {
    let store = CountingStore::new(Fail::Never);
    let before = app_with_keys(store.clone(), &[OLD]);
    let rotated = app_with_keys(store.clone(), &[NEW, OLD]);
    let only_new = app_with_keys(store.clone(), &[NEW]);
    let old_cookie = send(&before, "/incr", None).await.cookie();
    assert_eq!(send(&only_new, "/read", Some(&old_cookie)).await.body, "0");

    // Untouched: re-signed without any store I/O.
    let calls = store.calls();
    let r = send(&rotated, "/noop", Some(&old_cookie)).await;
    assert_eq!(store.calls(), calls);
    let resigned = r.cookie();
    assert_ne!(resigned, old_cookie);
    assert_eq!(key_of(&resigned), key_of(&old_cookie));
    assert_eq!(send(&only_new, "/read", Some(&resigned)).await.body, "1");

    // Read: accepted, re-signed, not written.
    let writes = store.writes.load(Ordering::SeqCst);
    let r = send(&rotated, "/read", Some(&old_cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(send(&only_new, "/read", Some(&r.cookie())).await.body, "1");
    assert_eq!(store.writes.load(Ordering::SeqCst), writes);

    // A cookie signed with the current key is not re-signed.
    let r = send(&rotated, "/read", Some(&resigned)).await;
    assert_eq!(r.set_cookie, None);
}

#[tokio::test]
async fn rolling_touches_an_untouched_session_and_loads_rolling_when_read() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]).with_rolling(true));
    let cookie = send(&app, "/incr", None).await.cookie();

    let r = send(&app, "/noop", Some(&cookie)).await;
    assert_eq!(store.touches.load(Ordering::SeqCst), 1);
    assert_eq!(store.gets.load(Ordering::SeqCst), 0);
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=86400"));

    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(store.rolling_gets.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.touches.load(Ordering::SeqCst),
        1,
        "the rolling get moved the expiry"
    );
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
    assert!(r.set_cookie.is_some());
}

#[tokio::test]
async fn without_rolling_an_unchanged_session_is_not_touched() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    assert_eq!(send(&app, "/noop", Some(&cookie)).await.set_cookie, None);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.set_cookie, None);
    assert_eq!(store.touches.load(Ordering::SeqCst), 0);
    assert_eq!(store.rolling_gets.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn renew_touches_only_when_less_than_half_the_lifetime_remains() {
    let store = CountingStore::new(Fail::Never);
    // Unsigned, so the test can write the cookie's expiry itself.
    let layer = SessionLayer::unsigned(store.clone())
        .with_renew(true)
        .with_max_age(Duration::seconds(100))
        .unwrap_or_else(|e| panic!("{e}"));
    let app = app(layer);
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = key_of(&cookie);

    // 99 s left: nothing to do.
    let r = send(&app, "/noop", Some(&cookie)).await;
    assert_eq!(r.set_cookie, None);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.touches.load(Ordering::SeqCst), 0);

    // 40 s left (< 50): renewed, with and without loading the session.
    let aging = format!("sid={}.{}", key.as_str(), now_ms() + 40_000);
    for path in ["/noop", "/read"] {
        let r = send(&app, path, Some(&aging)).await;
        let set = r.set_cookie.unwrap_or_default();
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
    assert_eq!(store.touches.load(Ordering::SeqCst), 2);
    assert_eq!(store.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn destroy_removes_the_record_and_expires_the_cookie() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let key = key_of(&cookie);
    let r = send(&app, "/destroy", Some(&cookie)).await;
    let set = r.set_cookie.unwrap_or_default();
    assert!(
        set.starts_with("sid=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    assert_eq!(store.destroys.load(Ordering::SeqCst), 1);
    assert_eq!(
        store.gets.load(Ordering::SeqCst),
        0,
        "destroy needs no load"
    );
    let gone = store.inner.get(&key, Duration::hours(1), false).await;
    assert!(matches!(gone, Ok(None)), "{gone:?}");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "0");
    // Nothing to destroy without a cookie.
    let r = send(&app, "/destroy", None).await;
    assert_eq!(r.set_cookie, None);
    assert_eq!(store.destroys.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn regenerate_moves_the_data_to_a_new_id_and_destroys_the_old_record() {
    let store = CountingStore::new(Fail::Never);
    let app = app(signed(store.clone(), &[NEW]));
    let cookie = send(&app, "/incr", None).await.cookie();
    let r = send(&app, "/regenerate", Some(&cookie)).await;
    let new_cookie = r.cookie();
    assert_ne!(key_of(&new_cookie), key_of(&cookie));
    let old = store
        .inner
        .get(&key_of(&cookie), Duration::hours(1), false)
        .await;
    assert!(matches!(old, Ok(None)), "{old:?}");
    assert_eq!(send(&app, "/read", Some(&new_cookie)).await.body, "1");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "0");

    let r = send(&app, "/regenerate-empty", Some(&new_cookie)).await;
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    let old = store
        .inner
        .get(&key_of(&new_cookie), Duration::hours(1), false)
        .await;
    assert!(matches!(old, Ok(None)), "{old:?}");
}

#[tokio::test]
async fn transient_store_errors_are_503_and_others_500() -> Result<(), LayerError> {
    for (fail, status) in [
        (Fail::Timeout, StatusCode::SERVICE_UNAVAILABLE),
        (Fail::Backend, StatusCode::INTERNAL_SERVER_ERROR),
    ] {
        let store = CountingStore::new(fail);
        let layer = signed(store.clone(), &[NEW]);
        let app = app(layer.clone());
        // Saving fails.
        let r = send(&app, "/incr", None).await;
        assert_eq!((r.status, r.set_cookie), (status, None), "{fail:?}");
        // Loading fails, even when the handler swallows the error.
        let cookie = format!(
            "sid={}",
            crate::cookie::value(
                &layer.shared_config(),
                &SessionKey::generate(),
                now_ms() + 1000
            )
        );
        let r = send(&app, "/ignore-errors", Some(&cookie)).await;
        assert_eq!((r.status, r.set_cookie), (status, None), "{fail:?}");
        assert_eq!(layer.metrics().store_errors(), 2);
        assert_eq!(store.gets.load(Ordering::SeqCst), 1);
    }
    Ok(())
}

#[tokio::test]
async fn an_undecodable_record_is_no_session_and_is_counted() {
    let store = CountingStore::new(Fail::Decode);
    let layer = signed(store.clone(), &[NEW]);
    let app = app(layer.clone());
    let key = SessionKey::generate();
    let cookie = format!(
        "sid={}",
        crate::cookie::value(&layer.shared_config(), &key, now_ms() + 1000)
    );
    let r = send(&app, "/incr", Some(&cookie)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"));
    assert_ne!(
        key_of(&r.cookie()),
        key,
        "a fresh id, not the unreadable one"
    );
    assert_eq!(layer.metrics().decode_errors(), 1);
}

#[test]
fn invalid_options_are_typed_errors() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let layer = SessionLayer::unsigned(store);
    assert!(matches!(
        layer.clone().with_key("a b"),
        Err(LayerError::InvalidCookieName { .. })
    ));
    assert!(matches!(
        layer.clone().with_path("/a;b"),
        Err(LayerError::InvalidCookieAttribute { attribute: "Path" })
    ));
    assert!(matches!(
        layer.clone().with_max_age(Duration::ZERO),
        Err(LayerError::InvalidMaxAge)
    ));
    assert!(matches!(
        KeyRing::new([b"too short"]),
        Err(LayerError::KeyTooShort { .. })
    ));
    assert!(layer.with_key("__Host-sid").is_ok());
}

#[test]
fn debug_output_hides_the_signing_keys() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let printed = format!("{:?}", signed(store, &[NEW]));
    assert!(!printed.contains("new-key"), "{printed}");
    assert!(printed.contains("SessionLayer"), "{printed}");
}
