//! The session cookie through the real service stack: signatures, key rotation, unsigned
//! cookies, cookie tossing, and the options that shape the cookie. Needs no server.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt as _;
use session_core::{Duration, SessionStore, now_ms};
use session_memory::MemoryStore;
use session_testkit::{CountingStore, Op};
use session_tower::{LayerError, SameSite, SessionLayer};
use tower::ServiceExt as _;

use support::{NEW, OLD, app, counted, key_of, send, signed};

#[tokio::test]
async fn a_forged_signature_is_ignored_without_a_store_lookup() {
    let store = counted();
    let layer = signed(store.clone(), &[NEW]);
    let app = app(layer.clone());
    let cookie = send(&app, "/incr", None).await.cookie();
    let calls = store.total();

    let mut forged = cookie.clone();
    let last = forged.pop().unwrap_or('A');
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = send(&app, "/noop", Some(&forged)).await;
    assert_eq!((r.set_cookie, store.total()), (None, calls));
    let r = send(&app, "/read", Some(&forged)).await;
    assert_eq!(r.body, "0", "the forged cookie's session is not visible");
    assert_eq!(store.total(), calls, "no store lookup for a forged cookie");
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));

    // The same value signed by a key outside the ring.
    let stranger = app_with_keys(store.clone(), &[OLD]);
    let foreign = send(&stranger, "/incr", None).await.cookie();
    let r = send(&app, "/read", Some(&foreign)).await;
    assert_eq!(r.body, "0");
    assert_eq!(layer.metrics().rejected_cookies(), 3);
}

#[tokio::test]
async fn two_different_session_cookies_are_no_session_even_if_both_verify() {
    let store = counted();
    let app = app(signed(store.clone(), &[NEW]));
    let victim = send(&app, "/incr", None).await.cookie();
    let planted = send(&app, "/incr", None).await.cookie();
    let calls = store.total();
    // Cookie tossing: a sibling subdomain or a narrower path planted a genuine cookie of its own.
    for header in [
        format!("{planted}; {victim}"),
        format!("{victim}; other=1; {planted}"),
    ] {
        let r = send(&app, "/read", Some(&header)).await;
        assert_eq!(r.body, "0", "{header}: one of the duplicates was used");
    }
    assert_eq!(store.total(), calls, "duplicates reached the store");
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
        http::HeaderValue::from_bytes(format!("lang=fran\u{e7}ais; {victim}").as_bytes()).unwrap(),
    );
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"1");
}

fn app_with_keys(store: Arc<CountingStore>, keys: &[&[u8]]) -> Router {
    app(signed(store, keys))
}

#[tokio::test]
async fn unsigned_cookies_carry_no_mac_and_still_work() {
    let store = counted();
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
    let store = counted();
    let before = app_with_keys(store.clone(), &[OLD]);
    let rotated = app_with_keys(store.clone(), &[NEW, OLD]);
    let only_new = app_with_keys(store.clone(), &[NEW]);
    let old_cookie = send(&before, "/incr", None).await.cookie();
    assert_eq!(send(&only_new, "/read", Some(&old_cookie)).await.body, "0");

    // Untouched: re-signed without any store I/O.
    let calls = store.total();
    let r = send(&rotated, "/noop", Some(&old_cookie)).await;
    assert_eq!(store.total(), calls);
    let resigned = r.cookie();
    assert_ne!(resigned, old_cookie);
    assert_eq!(key_of(&resigned), key_of(&old_cookie));
    assert_eq!(send(&only_new, "/read", Some(&resigned)).await.body, "1");

    // Read: accepted, re-signed, not written.
    let writes = store.count(Op::Set);
    let r = send(&rotated, "/read", Some(&old_cookie)).await;
    assert_eq!(r.body, "1");
    assert_eq!(send(&only_new, "/read", Some(&r.cookie())).await.body, "1");
    assert_eq!(store.count(Op::Set), writes);

    // A cookie signed with the current key is not re-signed.
    let r = send(&rotated, "/read", Some(&resigned)).await;
    assert_eq!(r.set_cookie, None);
}

#[tokio::test]
async fn the_cookie_options_shape_the_set_cookie() {
    let store = counted();
    let layer = signed(store, &[NEW])
        .with_key("app")
        .unwrap()
        .with_path("/app")
        .unwrap()
        .with_domain("example.com")
        .unwrap()
        .with_max_age(Duration::minutes(5))
        .unwrap()
        .with_http_only(false)
        .with_secure(true)
        .with_same_site(SameSite::Strict);
    let set = send(&app(layer), "/incr", None).await.set_cookie.unwrap();
    assert!(set.starts_with("app="), "{set}");
    for attribute in [
        "; Max-Age=300",
        "; Path=/app",
        "; Domain=example.com",
        "; Secure",
        "; SameSite=Strict",
    ] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("HttpOnly"), "{set}");

    let store = counted();
    let layer = signed(store, &[NEW]).with_browser_session(true);
    let set = send(&app(layer), "/incr", None).await.set_cookie.unwrap();
    assert!(!set.contains("Max-Age"), "{set}");
}

#[test]
fn invalid_options_are_rejected_with_typed_errors() {
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
        layer.clone().with_domain("example.com "),
        Err(LayerError::InvalidCookieAttribute {
            attribute: "Domain"
        })
    ));
    assert!(matches!(
        layer.clone().with_max_age(Duration::ZERO),
        Err(LayerError::InvalidMaxAge)
    ));
}

#[test]
fn layer_debug_shows_the_options_and_only_the_number_of_keys() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let printed = format!("{:?}", signed(store, &[NEW, OLD]));
    assert!(printed.contains("name: \"sid\""), "{printed}");
    assert!(printed.contains("KeyRing(<2 redacted keys>)"), "{printed}");
}
