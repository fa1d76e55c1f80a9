//! Hostile cookies through the session middleware (an axum router with `SessionLayer`, driven
//! in-process with `tower::ServiceExt::oneshot`), and 64 concurrent requests on one session.
//!
//! The stores are real (a `MemoryStore`, and `RedisStore` / `MySqlStore` against their servers)
//! wrapped in a [`CountingStore`], which records every call and its key, to prove that a bad cookie
//! never reaches the store.
//!
//! - Every malformed or forged cookie (tampered value, tampered signature, truncated, empty, over
//!   4 KB, non-ASCII, duplicated, signed with an unknown key) is "no session": a read sees an
//!   empty session, a write gets a fresh session under a new key, the store never hears of the
//!   cookie's key, and the answer is never a 500.
//! - A proptest property over 100 000 random and mutated cookies (bit flips, truncations,
//!   splices, case changes, parts swapped between two genuine cookies, re-encodings) accepts no
//!   forged one.
//! - 64 concurrent writes to one session on Redis and on MariaDB: all succeed and the final
//!   state is one of the states written.
//!
//! Needs `REDIS_URL` (default `redis://127.0.0.1:6379`) and `MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`) for the tests on those servers; start them with
//! `source scripts/services.sh && start_all`. Run with
//! `cargo test -p integration-tests --test attacks`. A missing server skips loudly, or fails
//! under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use session_core::SessionStore;
use session_memory::MemoryStore;
use session_mysql::MySqlStore;
use session_redis::RedisStore;
use session_testkit::{CountingStore, Op, mysql_url, reachable, redis_url, unique_name};
use session_tower::{KeyRing, Session, SessionError, SessionLayer};
use tower::ServiceExt as _;

const KEY: &[u8] = b"attack-tests-signing-key-0123456789";
const OTHER_KEY: &[u8] = b"a-key-this-application-never-had-!!";

// ---------------------------------------------------------------------------------------------
// The application.

/// `GET /read`: the session's `user`, or `anon`. `POST /write`: counts visits (creating a
/// session). `POST /login/{user}`: sets `user`. `POST /put/{i}`: writes state `i`. `GET /dump`:
/// the whole session as JSON.
fn app(store: Arc<dyn SessionStore>, keys: &[&[u8]]) -> (Router, SessionLayer) {
    let ring = KeyRing::new(keys.iter().copied()).unwrap();
    let layer = SessionLayer::new(store, ring);
    let router = Router::new()
        .route("/read", get(read))
        .route("/write", post(write))
        .route("/login/{user}", post(login))
        .route("/put/{i}", post(put))
        .route("/dump", get(dump))
        .layer(layer.clone());
    (router, layer)
}

async fn read(session: Session) -> std::result::Result<String, SessionError> {
    Ok(session
        .get::<String>("user")
        .await?
        .unwrap_or_else(|| "anon".to_owned()))
}

async fn write(session: Session) -> std::result::Result<String, SessionError> {
    let n = session.get::<u64>("visits").await?.unwrap_or(0) + 1;
    session.insert("visits", n).await?;
    Ok(n.to_string())
}

async fn login(
    session: Session,
    Path(user): Path<String>,
) -> std::result::Result<String, SessionError> {
    session.insert("user", user).await?;
    Ok("ok".to_owned())
}

async fn put(session: Session, Path(i): Path<u64>) -> std::result::Result<String, SessionError> {
    session.insert("writer", i).await?;
    session.insert("payload", "p".repeat(i as usize)).await?;
    Ok("ok".to_owned())
}

async fn dump(session: Session) -> std::result::Result<String, SessionError> {
    let data = session.data().await?;
    serde_json::to_string(&data).map_err(|e| SessionError::Value(session_core::Error::Encode(e)))
}

/// What came back.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: String,
    /// The `sid` values of `Set-Cookie` headers (empty for an expiring cookie).
    cookies: Vec<String>,
}

async fn send(router: &Router, method: &str, path: &str, cookie: Option<&HeaderValue>) -> Reply {
    send_cookies(router, method, path, cookie.cloned().as_slice()).await
}

/// Sends a request with one `Cookie` header per entry of `cookies`.
async fn send_cookies(router: &Router, method: &str, path: &str, cookies: &[HeaderValue]) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for cookie in cookies {
        request = request.header(header::COOKIE, cookie.clone());
    }
    let request = request.body(Body::empty()).unwrap();
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .filter_map(|h| h.strip_prefix("sid="))
        .map(|h| h.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    Reply {
        status,
        body,
        cookies,
    }
}

fn cookie_header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap()
}

/// Logs `user` in and returns the genuine cookie value.
async fn genuine(router: &Router, user: &str) -> String {
    let reply = send(router, "POST", &format!("/login/{user}"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply
        .cookies
        .into_iter()
        .next()
        .expect("login set no cookie")
}

/// The session key in a cookie value `<key>.<expiry>.<mac>`.
fn key_of(value: &str) -> &str {
    value.split('.').next().unwrap_or_default()
}

/// The key the store sees for the session of a cookie value: the id's digest (ids are hashed
/// at rest).
fn stored_key(value: &str) -> String {
    session_core::SessionKey::parse(key_of(value))
        .unwrap()
        .digest()
        .as_str()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Hand-picked hostile cookies.

/// Flips the ASCII case of the byte at `i`, or changes a digit, so the result always differs.
fn alter(value: &str, i: usize) -> String {
    let mut bytes = value.as_bytes().to_vec();
    let b = bytes[i];
    bytes[i] = match b {
        b'0'..=b'8' => b + 1,
        b'9' => b'0',
        b'a'..=b'z' => b.to_ascii_uppercase(),
        b'A'..=b'Z' => b.to_ascii_lowercase(),
        b'-' => b'_',
        b'_' => b'-',
        _ => b'x',
    };
    String::from_utf8(bytes).unwrap()
}

/// Every hostile `Cookie` header, named, built from the genuine value `g` (and `h`, a second
/// genuine value, and `foreign`, signed with a key the application does not have).
fn hostile(g: &str, foreign: &str) -> Vec<(String, Vec<u8>)> {
    let parts: Vec<&str> = g.split('.').collect();
    assert_eq!(parts.len(), 3, "unexpected cookie format {g:?}");
    let (key, expiry, mac) = (parts[0], parts[1], parts[2]);
    let key_end = key.len();
    let expiry_start = key_end + 1;
    let mac_start = g.len() - mac.len();
    let mut out: Vec<(String, String)> = vec![
        (
            "tampered key, first char".into(),
            format!("sid={}", alter(g, 0)),
        ),
        (
            "tampered key, last char".into(),
            format!("sid={}", alter(g, key_end - 1)),
        ),
        (
            "tampered expiry".into(),
            format!("sid={}", alter(g, expiry_start + 3)),
        ),
        (
            "expiry pushed a century ahead".into(),
            format!(
                "sid={key}.{}.{mac}",
                expiry.parse::<i64>().unwrap_or(0) + 3_155_760_000_000
            ),
        ),
        (
            "expiry with a leading zero".into(),
            format!("sid={key}.0{expiry}.{mac}"),
        ),
        (
            "expiry with a plus sign".into(),
            format!("sid={key}.+{expiry}.{mac}"),
        ),
        (
            "tampered signature, first char".into(),
            format!("sid={}", alter(g, mac_start)),
        ),
        (
            "tampered signature, last char".into(),
            format!("sid={}", alter(g, g.len() - 1)),
        ),
        (
            "signature of zeros".into(),
            format!("sid={key}.{expiry}.{}", "A".repeat(43)),
        ),
        ("signature removed".into(), format!("sid={key}.{expiry}")),
        ("signature with base64 padding".into(), format!("sid={g}=")),
        (
            "signature in the standard base64 alphabet".into(),
            format!(
                "sid={key}.{expiry}.{}",
                mac.replace('-', "+").replace('_', "/")
            ),
        ),
        ("signature doubled".into(), format!("sid={g}{mac}")),
        (
            "extra field".into(),
            format!("sid={key}.{expiry}.{expiry}.{mac}"),
        ),
        (
            "truncated by one".into(),
            format!("sid={}", &g[..g.len() - 1]),
        ),
        (
            "truncated to half".into(),
            format!("sid={}", &g[..g.len() / 2]),
        ),
        ("truncated to the key".into(), format!("sid={key}")),
        (
            "truncated to key and expiry".into(),
            format!("sid={key}.{expiry}."),
        ),
        ("empty value".into(), "sid=".into()),
        ("no value at all".into(), "sid".into()),
        ("empty quoted value".into(), "sid=\"\"".into()),
        ("only dots".into(), "sid=..".into()),
        (
            "over 4 KB, padding appended".into(),
            format!("sid={g}{}", "A".repeat(4200)),
        ),
        (
            "over 4 KB of garbage".into(),
            format!("sid={}", "A".repeat(5000)),
        ),
        (
            "over 4 KB key with a valid-looking tail".into(),
            format!("sid={}.{expiry}.{mac}", "k".repeat(4100)),
        ),
        (
            "key with a space".into(),
            format!("sid={} {}", &g[..5], &g[5..]),
        ),
        (
            "key with a control character".into(),
            format!("sid={}\t{}", &g[..5], &g[5..]),
        ),
        (
            "duplicate, both tampered".into(),
            format!("sid={}; sid={}", alter(g, 0), alter(g, g.len() - 1)),
        ),
        (
            "duplicate, tampered and empty".into(),
            format!("sid=; sid={}", alter(g, 3)),
        ),
        (
            "duplicate in two Cookie headers, both tampered".into(),
            format!("sid={}\u{0}sid={}", alter(g, 1), alter(g, 2)),
        ),
        (
            "signed with an unknown key".into(),
            format!("sid={foreign}"),
        ),
        ("unknown key's signature on our payload".into(), {
            let foreign_mac = foreign.rsplit('.').next().unwrap_or_default();
            format!("sid={key}.{expiry}.{foreign_mac}")
        }),
        ("our signature on the unknown key's payload".into(), {
            let (foreign_payload, _) = foreign.rsplit_once('.').unwrap_or_default();
            format!("sid={foreign_payload}.{mac}")
        }),
        (
            "value moved to another cookie name".into(),
            format!("SID={g}; sid_={g}"),
        ),
        (
            "SQL and NoSQL injection".into(),
            "sid=' OR 1=1 --.1.x; sid={\"$gt\":\"\"}".into(),
        ),
    ];
    // A re-encoding that changes nothing (a MAC without `-` or `_`) is the genuine cookie.
    out.retain(|(_, v)| *v != format!("sid={g}"));
    let mut named: Vec<(String, Vec<u8>)> =
        out.drain(..).map(|(n, v)| (n, v.into_bytes())).collect();
    // Raw bytes a browser or attacker may send that are not visible ASCII.
    let mut non_ascii = format!("sid={}", &g[..10]).into_bytes();
    non_ascii.extend_from_slice("é".as_bytes());
    non_ascii.extend_from_slice(&g.as_bytes()[10..]);
    named.push(("non-ASCII (UTF-8) in the key".into(), non_ascii));
    let mut latin1 = format!("sid={g}").into_bytes();
    latin1.push(0xe9);
    named.push(("non-ASCII (Latin-1) after the signature".into(), latin1));
    named.push((
        "non-ASCII value".into(),
        "sid=セッション".as_bytes().to_vec(),
    ));
    named
}

/// Every hostile cookie is "no session": a read sees `anon`, a write gets a fresh session under
/// a new key, nothing is ever asked of the store under the cookie's key, and nothing is a 500.
async fn hostile_cookies_are_no_session(store: Arc<dyn SessionStore>) {
    let counting = CountingStore::new(store);
    let (router, layer) = app(counting.clone(), &[KEY]);
    let (foreign_router, _) = app(counting.clone(), &[OTHER_KEY]);
    let g = genuine(&router, "alice").await;
    let foreign = genuine(&foreign_router, "mallory").await;
    let protected = [stored_key(&g), stored_key(&foreign)];
    counting.take();

    let cases = hostile(&g, &foreign);
    let rejected_before = layer.metrics().rejected_cookies();
    for (name, bytes) in &cases {
        // Two `Cookie` headers where the case says so (NUL separates them above).
        let headers: Vec<HeaderValue> = bytes
            .split(|b| *b == 0)
            .map(|b| HeaderValue::from_bytes(b).unwrap())
            .collect();
        for (method, path) in [("GET", "/read"), ("POST", "/write")] {
            let reply = send_cookies(&router, method, path, &headers).await;
            assert_eq!(reply.status, StatusCode::OK, "{name} {method} {path}");
            let calls = counting.take();
            for (op, key) in &calls {
                assert!(
                    !protected.contains(key),
                    "{name} {method} {path}: the store was asked to {op:?} the cookie's key"
                );
            }
            if method == "GET" {
                assert_eq!(reply.body, "anon", "{name}: a read saw a session");
                assert!(
                    calls.is_empty(),
                    "{name}: a read reached the store: {calls:?}"
                );
            } else {
                assert_eq!(reply.body, "1", "{name}: a write continued a session");
                assert!(
                    matches!(&calls[..], [(Op::Set, _)]),
                    "{name}: a write made other calls: {calls:?}"
                );
                let fresh = reply
                    .cookies
                    .iter()
                    .find(|v| !v.is_empty())
                    .unwrap_or_else(|| panic!("{name}: a write set no session cookie: {reply:?}"));
                assert!(
                    !protected
                        .iter()
                        .any(|k| fresh.starts_with(&format!("{k}."))),
                    "{name}: the fresh session reused the cookie's key"
                );
            }
        }
    }
    // Cookies that were present but unreadable are counted (non-ASCII headers are not readable
    // as text at all, so they count as absent).
    assert!(layer.metrics().rejected_cookies() >= rejected_before + cases.len() as u64);
    assert_eq!(layer.metrics().store_errors(), 0);

    // The victim's session is intact, and the genuine cookie still works.
    let reply = send(
        &router,
        "GET",
        "/read",
        Some(&cookie_header(&format!("sid={g}"))),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "alice")
    );
    assert_eq!(counting.take(), vec![(Op::Get, stored_key(&g))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cookies_are_no_session_on_memory() {
    hostile_cookies_are_no_session(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cookies_are_no_session_on_redis() {
    let Some(store) = redis_store("hostile cookies on redis").await else {
        return;
    };
    hostile_cookies_are_no_session(Arc::new(store)).await;
}

/// Several different session cookies in one request are no session at all, even when one (or
/// each) of them is genuine: nothing reaches the store. Picking one would let whoever planted the
/// other (a sibling subdomain, a narrower path: "cookie tossing") choose the victim's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_session_cookies_are_no_session_and_never_reach_the_store() {
    let counting = CountingStore::new(Arc::new(MemoryStore::new()));
    let (router, _) = app(counting.clone(), &[KEY]);
    let g = genuine(&router, "alice").await;
    let other = genuine(&router, "bob").await;
    counting.take();
    // Bob's key with Alice's expiry and signature: must not open Bob's session.
    let spliced = format!(
        "{}.{}",
        key_of(&other),
        g.split_once('.').map_or("", |(_, r)| r)
    );
    for header_value in [
        format!("sid={}; sid={g}", alter(&g, 0)),
        format!("sid={g}; sid={}", alter(&g, 0)),
        format!("sid={spliced}; sid={g}"),
        format!("sid=; sid={g}; sid={}", "A".repeat(5000)),
        format!("sid={other}; sid={g}"),
        format!("sid={g}; theme=dark; sid={other}"),
    ] {
        let reply = send(&router, "GET", "/read", Some(&cookie_header(&header_value))).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "anon"),
            "{header_value:.80}"
        );
        assert_eq!(counting.take(), vec![], "a duplicate reached the store");
    }
    // The genuine cookie alone, or repeated verbatim, is still Alice's session.
    for header_value in [format!("sid={g}"), format!("sid={g}; sid={g}")] {
        let reply = send(&router, "GET", "/read", Some(&cookie_header(&header_value))).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "alice")
        );
        assert_eq!(counting.take(), vec![(Op::Get, stored_key(&g))]);
    }
}

// ---------------------------------------------------------------------------------------------
// The property: no mutated or random cookie is accepted.

/// How a case builds its cookie value from the two genuine values. Positions are raw numbers
/// taken modulo the length of the value they apply to.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bit `bit` of the byte at `at`.
    BitFlip { at: u64, bit: u8 },
    /// Keep the bytes before `at`, or drop them.
    Truncate { at: u64, keep_head: bool },
    /// The head of one genuine value and the tail of the other.
    Splice { at_a: u64, at_b: u64 },
    /// Toggle the ASCII case of some bytes.
    Case(Vec<u64>),
    /// Key, expiry and MAC each taken from either genuine value (one mask bit per part).
    SwapParts(u8),
    /// An equivalent-looking re-encoding.
    Reencode { how: u8, at: u64 },
    /// Replace the byte at `at` with `with`.
    Replace { at: u64, with: u8 },
    /// Insert `with` at `at`.
    Insert { at: u64, with: u8 },
    /// `len` printable ASCII bytes expanded from `seed`.
    Random { seed: u64, len: usize },
    /// A random value of the genuine shape: 43 base64url characters, a 13-digit expiry and a
    /// 43-character MAC, expanded from the seed.
    Shaped(u64),
    /// Two mutations in a row.
    Twice(Box<Mutation>, Box<Mutation>),
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const REPLACEMENTS: &[u8] = b"AZaz09-_.=;,\" +/%\\";

impl Mutation {
    /// Mutation number `kind` (of 10) with its parameters drawn from `seed`.
    fn from_seed(kind: u8, seed: u64) -> Mutation {
        let mut next = splitmix(seed);
        let mut below = |n: u64| next() % n;
        match kind {
            0 => Mutation::BitFlip {
                at: below(u64::MAX),
                bit: below(8) as u8,
            },
            1 => Mutation::Truncate {
                at: below(u64::MAX),
                keep_head: below(2) == 0,
            },
            2 => Mutation::Splice {
                at_a: below(u64::MAX),
                at_b: below(u64::MAX),
            },
            3 => {
                let n = 1 + below(3);
                Mutation::Case((0..n).map(|_| below(u64::MAX)).collect())
            }
            4 => Mutation::SwapParts(below(8) as u8),
            5 => Mutation::Reencode {
                how: below(8) as u8,
                at: below(u64::MAX),
            },
            6 => Mutation::Replace {
                at: below(u64::MAX),
                with: REPLACEMENTS[below(REPLACEMENTS.len() as u64) as usize],
            },
            7 => Mutation::Insert {
                at: below(u64::MAX),
                with: REPLACEMENTS[below(REPLACEMENTS.len() as u64) as usize],
            },
            8 => Mutation::Random {
                seed: below(u64::MAX),
                len: below(160) as usize,
            },
            _ => Mutation::Shaped(below(u64::MAX)),
        }
    }
}

/// One mutation, or (one case in four) two in a row.
///
/// Each is drawn as a kind and a seed rather than with `prop_oneof!` and per-byte strategies:
/// in a debug build those cost several times more than the request through the middleware, and
/// 100 000 cases would take minutes.
fn mutation() -> impl Strategy<Value = Mutation> {
    (0u8..10, any::<u64>(), 0u8..40, any::<u64>()).prop_map(|(kind, seed, second, seed2)| {
        let first = Mutation::from_seed(kind, seed);
        if second < 10 {
            Mutation::Twice(
                Box::new(first),
                Box::new(Mutation::from_seed(second, seed2)),
            )
        } else {
            first
        }
    })
}

fn apply(m: &Mutation, base: &[u8], a: &str, b: &str) -> Vec<u8> {
    let at = |i: &u64, len: usize| {
        if len == 0 {
            0
        } else {
            (*i % len as u64) as usize
        }
    };
    match m {
        Mutation::BitFlip { at: i, bit } => {
            let mut v = base.to_vec();
            if !v.is_empty() {
                let i = at(i, v.len());
                v[i] ^= 1 << bit;
            }
            v
        }
        Mutation::Truncate { at: i, keep_head } => {
            let i = at(i, base.len());
            if *keep_head {
                base[..i].to_vec()
            } else {
                base[i..].to_vec()
            }
        }
        Mutation::Splice { at_a, at_b } => {
            let mut v = base[..at(at_a, base.len())].to_vec();
            let other = if base == a.as_bytes() { b } else { a };
            v.extend_from_slice(&other.as_bytes()[at(at_b, other.len())..]);
            v
        }
        Mutation::Case(indices) => {
            let mut v = base.to_vec();
            for i in indices {
                if !v.is_empty() {
                    let i = at(i, v.len());
                    v[i] = if v[i].is_ascii_lowercase() {
                        v[i].to_ascii_uppercase()
                    } else {
                        v[i].to_ascii_lowercase()
                    };
                }
            }
            v
        }
        Mutation::SwapParts(mask) => {
            let pa: Vec<&str> = a.split('.').collect();
            let pb: Vec<&str> = b.split('.').collect();
            let pick = |i: usize| if mask & (1 << i) == 0 { pa[i] } else { pb[i] };
            format!("{}.{}.{}", pick(0), pick(1), pick(2)).into_bytes()
        }
        Mutation::Reencode { how, at: i } => {
            let s = String::from_utf8_lossy(base).into_owned();
            let r = match how {
                // Percent-encode one byte.
                0 => {
                    let i = at(i, s.len());
                    match s.get(i..i + 1) {
                        Some(c) => format!("{}%{:02X}{}", &s[..i], c.as_bytes()[0], &s[i + 1..]),
                        None => s,
                    }
                }
                1 => s.replace('-', "+").replace('_', "/"),
                2 => format!("{s}="),
                3 => format!("{s}=="),
                4 => s.replacen('.', "..", 1),
                5 => s.replacen('.', "%2E", 1),
                6 => s.to_ascii_uppercase(),
                _ => format!(" {s}\t"),
            };
            r.into_bytes()
        }
        Mutation::Replace { at: i, with } => {
            let mut v = base.to_vec();
            if !v.is_empty() {
                let i = at(i, v.len());
                v[i] = *with;
            }
            v
        }
        Mutation::Insert { at: i, with } => {
            let mut v = base.to_vec();
            let i = at(i, v.len() + 1);
            v.insert(i, *with);
            v
        }
        Mutation::Random { seed, len } => {
            let mut next = splitmix(*seed);
            (0..*len).map(|_| 0x20 + (next() % 95) as u8).collect()
        }
        Mutation::Shaped(seed) => {
            let mut next = splitmix(*seed);
            let mut part = |n: usize| -> String {
                (0..n)
                    .map(|_| char::from(BASE64URL[(next() % 64) as usize]))
                    .collect()
            };
            let (key, mac) = (part(43), part(43));
            format!(
                "{key}.{}.{mac}",
                1_000_000_000_000 + next() % 9_000_000_000_000
            )
            .into_bytes()
        }
        Mutation::Twice(first, second) => {
            let once = apply(first, base, a, b);
            apply(second, &once, a, b)
        }
    }
}

/// A small deterministic generator (SplitMix64) for bytes expanded from a seed.
fn splitmix(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// How a case wraps its value into a `Cookie` header.
fn wrap(how: u8, value: &[u8], decoy: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match how {
        0 => {}
        1 => out.extend_from_slice(b"theme=dark; "),
        2 => {
            out.extend_from_slice(b"sid=");
            out.extend_from_slice(decoy);
            out.extend_from_slice(b"; ");
        }
        _ => out.extend_from_slice(b"sid=\"\"; "),
    }
    out.extend_from_slice(b"sid=");
    out.extend_from_slice(value);
    out
}

/// The `sid` values a server reading `header` could take: the trimmed value of each `sid` pair,
/// with one pair of surrounding quotes removed, as the middleware (and RFC 6265) reads them.
fn sid_values(header: &[u8]) -> Vec<Vec<u8>> {
    header
        .split(|b| *b == b';')
        .filter_map(|pair| {
            let eq = pair.iter().position(|b| *b == b'=')?;
            let (name, value) = (&pair[..eq], &pair[eq + 1..]);
            (name.trim_ascii() == b"sid").then(|| {
                let v = value.trim_ascii();
                match v {
                    [b'"', inner @ .., b'"'] => inner.to_vec(),
                    _ => v.to_vec(),
                }
            })
        })
        .collect()
}

/// 100 000 random and mutated cookies: none that differs from the two genuine values (after the
/// trimming and unquoting every cookie reader does) ever reaches the store.
#[test]
fn no_mutated_or_random_cookie_is_accepted() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let counting = CountingStore::new(Arc::new(MemoryStore::new()));
    let (router, layer) = app(counting.clone(), &[KEY]);
    let (a, b) = runtime.block_on(async {
        (
            genuine(&router, "alice").await,
            genuine(&router, "bob").await,
        )
    });
    counting.take();
    let genuine_values = [a.as_bytes().to_vec(), b.as_bytes().to_vec()];

    let config = ProptestConfig {
        cases: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    let cases = std::cell::Cell::new(0u64);
    let strategy = (mutation(), any::<bool>(), 0u8..6, mutation());
    let result = runner.run(&strategy, |(m, from_b, how, decoy_m)| {
        cases.set(cases.get() + 1);
        let (base, decoy_base) = if from_b { (&b, &a) } else { (&a, &b) };
        let value = apply(&m, base.as_bytes(), &a, &b);
        let decoy = apply(&decoy_m, decoy_base.as_bytes(), &a, &b);
        let header_bytes = wrap(how, &value, &decoy);
        let Ok(header_value) = HeaderValue::from_bytes(&header_bytes) else {
            // Bytes no HTTP request can carry (CR, LF, NUL…): nothing to send.
            return Ok(());
        };
        let legit = header_value.to_str().is_ok()
            && sid_values(&header_bytes)
                .iter()
                .any(|v| genuine_values.contains(v));
        let reply = runtime.block_on(send(&router, "GET", "/read", Some(&header_value)));
        let calls = counting.take();
        if reply.status != StatusCode::OK {
            return Err(TestCaseError::fail(format!(
                "status {} for {header_value:?}",
                reply.status
            )));
        }
        if !legit && (!calls.is_empty() || reply.body != "anon") {
            return Err(TestCaseError::fail(format!(
                "forged cookie accepted: {header_value:?} → {} {calls:?}",
                reply.body
            )));
        }
        Ok(())
    });
    let elapsed = started.elapsed();
    eprintln!(
        "property: {} cases in {elapsed:?}, {} rejected cookies counted",
        cases.get(),
        layer.metrics().rejected_cookies()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(cases.get() >= 100_000, "only {} cases ran", cases.get());
}

// ---------------------------------------------------------------------------------------------
// 64 concurrent requests on one session.

async fn redis_store(test: &str) -> Option<RedisStore> {
    let store = reachable("redis", test, RedisStore::connect(&redis_url()).await)?;
    Some(store.with_prefix(format!("{}:", unique_name("attacks"))))
}

async fn mysql_store(test: &str) -> Option<MySqlStore> {
    let store = reachable("mysql", test, MySqlStore::connect(&mysql_url()).await)?
        .with_table_name(&unique_name("attacks"))
        .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// 64 requests writing different states to one session at once: every one succeeds, all keep
/// the session's key, and the session ends in exactly one of the states written.
async fn concurrent_writes_leave_one_written_state(store: Arc<dyn SessionStore>) {
    let (router, layer) = app(store, &[KEY]);
    let g = genuine(&router, "alice").await;
    let cookie = cookie_header(&format!("sid={g}"));
    let requests = (0..64u64).map(|i| {
        let router = router.clone();
        let cookie = cookie.clone();
        tokio::spawn(async move {
            (
                i,
                send(&router, "POST", &format!("/put/{i}"), Some(&cookie)).await,
            )
        })
    });
    for joined in futures::future::join_all(requests).await {
        let (i, reply) = joined.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "request {i}: {reply:?}");
        let cookie = reply
            .cookies
            .first()
            .unwrap_or_else(|| panic!("request {i} set no cookie"));
        assert_eq!(key_of(cookie), key_of(&g), "request {i} moved the session");
    }
    let reply = send(&router, "GET", "/dump", Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut state: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    // The session's absolute lifetime, stamped at login, is the middleware's, not a writer's.
    let lifetime = state.as_object_mut().unwrap().remove("$lifetime");
    assert!(
        lifetime.is_some(),
        "the absolute lifetime was lost: {state}"
    );
    let writer = state["writer"]
        .as_u64()
        .unwrap_or_else(|| panic!("no writer in {state}"));
    let expected = serde_json::json!({
        "user": "alice",
        "writer": writer,
        "payload": "p".repeat(writer as usize),
    });
    assert!(
        writer < 64 && state == expected,
        "final state {state} is not one that was written"
    );
    assert_eq!(layer.metrics().store_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_one_session_leave_one_written_state_on_redis() {
    let Some(store) = redis_store("concurrent writes on redis").await else {
        return;
    };
    concurrent_writes_leave_one_written_state(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_one_session_leave_one_written_state_on_mysql() {
    let Some(store) = mysql_store("concurrent writes on mysql").await else {
        return;
    };
    concurrent_writes_leave_one_written_state(Arc::new(store.clone())).await;
    let drop_table = format!("DROP TABLE IF EXISTS `{}`", store.table_name());
    let _ = sqlx::query(sqlx::AssertSqlSafe(drop_table))
        .execute(store.pool())
        .await;
}
