//! What the adapter tests share: a store on each backend from its session-config URL, the cookie
//! handling of a browser, and the macro that runs a test on every backend.

#![allow(dead_code, reason = "each test file uses its own part of this module")]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use session_config::{ConfigError, StoreConfig};
use session_core::{Duration, Result, SessionKey, SessionStore};
use session_testkit::{reachable, store_url, unique_name};

/// Length of the MAC that signed cookies (the `cookie` crate's signed jar, used by both
/// tower-sessions and actix-session) put in front of the value: base64 of an HMAC-SHA256.
const SIGNATURE_LEN: usize = 44;

/// The store `backend` (`memory`, `redis`, `redis_cluster`, `mongo`, `mysql`) in a fresh
/// namespace, opened from its session-config URL; `None` after a loud message when its server is
/// unreachable (a panic under `CI=true`).
pub(crate) async fn open(backend: &str, test: &str) -> Option<Arc<dyn SessionStore>> {
    let config = StoreConfig::from_url(&store_url(backend, &unique_name(test), &[])).unwrap();
    let connected: Result<Arc<dyn SessionStore>> = match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) => Err(e),
        Err(e) => panic!("{config}: {e}"),
    };
    reachable(backend, test, connected)
}

/// What a `Set-Cookie` header did to the session cookie `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CookieChange {
    /// No `Set-Cookie` for it.
    None,
    /// A live cookie: `name=value`, ready for a `Cookie` header.
    Set(String),
    /// A removal (`Max-Age=0` or an expiry in the past).
    Removed,
}

/// The change the response's `Set-Cookie` values make to cookie `name`.
pub(crate) fn cookie_change<'a>(
    name: &str,
    set_cookies: impl IntoIterator<Item = &'a str>,
) -> CookieChange {
    let prefix = format!("{name}=");
    let Some(header) = set_cookies.into_iter().find(|c| c.starts_with(&prefix)) else {
        return CookieChange::None;
    };
    let pair = header.split(';').next().unwrap().trim();
    let lower = header.to_ascii_lowercase();
    if lower.contains("max-age=0") || pair == prefix || lower.contains("expires=thu, 01 jan 1970") {
        CookieChange::Removed
    } else {
        CookieChange::Set(pair.to_owned())
    }
}

/// The cookie of a live session from a response, or a panic naming `what`.
pub(crate) fn live_cookie(change: CookieChange, what: &str) -> String {
    match change {
        CookieChange::Set(cookie) => cookie,
        other => panic!("{what}: expected a session cookie, got {other:?}"),
    }
}

/// The store key inside a signed session cookie `name=<mac><key>`. The MAC is base64 (with `+`,
/// `/`, `=`) and may arrive percent-encoded; the key never needs encoding.
pub(crate) fn key_in(cookie: &str) -> SessionKey {
    let value = cookie.split_once('=').unwrap().1.as_bytes();
    let mut decoded = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%' {
            let hex = std::str::from_utf8(&value[i + 1..i + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            decoded.push(value[i]);
            i += 1;
        }
    }
    SessionKey::parse(std::str::from_utf8(&decoded[SIGNATURE_LEN..]).unwrap()).unwrap()
}

/// `cookie` with one character of its key (not of its signature) changed: a forged cookie.
/// Keys are at least 22 characters, at the end of the value.
pub(crate) fn tampered(cookie: &str) -> String {
    let at = cookie.len() - 10;
    let mut bytes = cookie.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Whether the store holds a live session under the key in `cookie` (kept at rest as its
/// digest).
pub(crate) async fn stored(store: &dyn SessionStore, cookie: &str) -> bool {
    store
        .get(&key_in(cookie).digest(), Duration::SECOND, false)
        .await
        .unwrap()
        .is_some()
}

/// An app under test, driven as a browser drives it.
pub(crate) trait Client {
    /// `GET path` with `cookie` (asserting `200 OK`): the body and what happened to the session
    /// cookie.
    fn send(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> impl Future<Output = (String, CookieChange)>;

    /// The body of `GET path` with `cookie`.
    fn body(&self, path: &str, cookie: &str) -> impl Future<Output = String> {
        async move { self.send(path, Some(cookie)).await.0 }
    }
}

/// A whole visit to an app whose routes are `/login` (a new id, then user `alice`), `/incr`
/// (a counter), `/whoami` (the user or `anonymous`), `/cycle` (a new id, same data) and
/// `/logout`: anonymous, log in, count, cycle the id, a forged cookie, log out. `store` is the
/// app's store, checked directly.
pub(crate) async fn a_visit(app: &impl Client, store: &dyn SessionStore) {
    let (who, change) = app.send("/whoami", None).await;
    assert_eq!((who.as_str(), change), ("anonymous", CookieChange::None));

    let first = live_cookie(app.send("/login", None).await.1, "login");
    assert!(stored(store, &first).await);
    assert_eq!(app.body("/whoami", &first).await, "alice");
    for expected in 1..=3 {
        let (n, change) = app.send("/incr", Some(&first)).await;
        assert_eq!(n, expected.to_string());
        // A save keeps the id.
        assert_eq!(live_cookie(change, "incr"), first);
    }

    // A new id keeps the data and removes the old record.
    let second = live_cookie(app.send("/cycle", Some(&first)).await.1, "cycle");
    assert_ne!(second, first);
    assert!(
        !stored(store, &first).await,
        "the old id still has a record"
    );
    assert_eq!(app.body("/whoami", &first).await, "anonymous");
    assert_eq!(app.body("/incr", &second).await, "4");

    // A forged cookie opens nothing and leaves the real session alone.
    let forged = tampered(&second);
    assert_eq!(app.body("/whoami", &forged).await, "anonymous");
    assert_eq!(app.body("/incr", &forged).await, "1");
    assert_eq!(app.body("/incr", &second).await, "5");
    assert_eq!(app.body("/whoami", &second).await, "alice");

    // Logging out removes the cookie and the record, for good.
    let (_, change) = app.send("/logout", Some(&second)).await;
    assert_eq!(change, CookieChange::Removed);
    assert!(!stored(store, &second).await, "the record survived logout");
    assert_eq!(app.body("/whoami", &second).await, "anonymous");
}

/// On an app (routes as for [`a_visit`]) whose sessions end after 1 s without a request:
/// requests 400 ms apart keep the session for longer than 1 s; 1.4 s without one end it, in
/// the store as well as for the app.
pub(crate) async fn inactivity_ends_the_session(app: &impl Client, store: &dyn SessionStore) {
    let cookie = live_cookie(app.send("/login", None).await.1, "login");
    for _ in 0..4 {
        tokio::time::sleep(StdDuration::from_millis(400)).await;
        assert_eq!(app.body("/whoami", &cookie).await, "alice");
    }
    tokio::time::sleep(StdDuration::from_millis(1400)).await;
    assert!(
        !stored(store, &cookie).await,
        "the store returned an expired session"
    );
    assert_eq!(app.body("/whoami", &cookie).await, "anonymous");
}

/// Stamps out, for every backend, one test per listed `async fn(backend: &str)`, with the given
/// test attribute (`tokio::test`, `actix_web::test`).
#[macro_export]
macro_rules! on_every_backend {
    (#[$attr:meta] $($test:ident),+ $(,)?) => {
        $crate::on_every_backend!(@backends #[$attr] [$($test),+] memory, redis, redis_cluster, mongo, mysql);
    };
    (@backends #[$attr:meta] $tests:tt $($backend:ident),+) => {$(
        $crate::on_every_backend!(@one #[$attr] $backend $tests);
    )+};
    (@one #[$attr:meta] $backend:ident [$($test:ident),+]) => {
        mod $backend {
            $(
                #[$attr]
                async fn $test() {
                    super::$test(stringify!($backend)).await;
                }
            )+
        }
    };
}
