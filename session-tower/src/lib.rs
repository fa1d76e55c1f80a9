//! Server-side sessions for tower and axum, with koa-session's semantics, over any
//! [`SessionStore`](session_core::SessionStore).
//!
//! [`SessionLayer`] reads the session cookie, puts a [`Session`] handle in the request's
//! extensions (and, with the `axum` feature, makes it an extractor), loads the session from the
//! store only when the handler first uses it, and after the handler writes, touches or destroys
//! the record and sets the cookie.
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use std::sync::Arc;
//!
//! use axum::{Router, routing::get};
//! use http::{Request, header};
//! use session_tower::{KeyRing, Session, SessionError, SessionLayer};
//! use tower::ServiceExt as _;
//!
//! // With the `axum` feature, `Session` is an extractor and `SessionError` a response.
//! async fn count(session: Session) -> Result<String, SessionError> {
//!     let n = session.get::<u64>("count").await?.unwrap_or(0) + 1;
//!     session.insert("count", n).await?;
//!     Ok(n.to_string())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any Arc<dyn SessionStore>: session_config::connect_from_env() picks one from a URL.
//! let store = Arc::new(session_memory::MemoryStore::new());
//! let keys = KeyRing::new([b"a secret of at least 32 bytes!!!"])?;
//! let app = Router::new()
//!     .route("/", get(count))
//!     .layer(SessionLayer::new(store, keys).with_renew(true));
//!
//! let response = app.oneshot(Request::get("/").body(axum::body::Body::empty())?).await?;
//! let cookie = response.headers()[header::SET_COOKIE].to_str()?;
//! assert!(cookie.starts_with("sid=") && cookie.contains("HttpOnly"));
//! # Ok(())
//! # }
//! # main().unwrap();
//! # }
//! ```
//!
//! Without the feature the handle is in the request's extensions: with axum,
//! `Extension(session): Extension<Session>`; with any tower service,
//! `request.extensions().get::<Session>()`.
//!
//! # Options
//!
//! koa-session's names and defaults, set with the `with_*` methods of [`SessionLayer`]:
//!
//! | koa-session | method | default |
//! |---|---|---|
//! | `key` | [`with_key`](SessionLayer::with_key) | `"sid"` |
//! | `maxAge` | [`with_max_age`](SessionLayer::with_max_age) | one day |
//! | `maxAge: 'session'` | [`with_browser_session`](SessionLayer::with_browser_session) | `false` (the store still gets `max_age` as TTL) |
//! | `rolling` | [`with_rolling`](SessionLayer::with_rolling) | `false` |
//! | `renew` | [`with_renew`](SessionLayer::with_renew) | `false` |
//! | `httpOnly` | [`with_http_only`](SessionLayer::with_http_only) | `true` |
//! | `secure` | [`with_secure`](SessionLayer::with_secure) | `false` |
//! | `sameSite` | [`with_same_site`](SessionLayer::with_same_site) | [`SameSite::Lax`] |
//! | `signed` | [`SessionLayer::new`] with a [`KeyRing`] / [`SessionLayer::unsigned`] | signed |
//! | `path`, `domain` | [`with_path`](SessionLayer::with_path), [`with_domain`](SessionLayer::with_domain) | `/`, none |
//! | `prefix` | a store setting here: Redis `prefix`, MySQL `table`, MongoDB `collection` | the store's |
//!
//! # The cookie
//!
//! `sid=<session key>.<expiry ms>.<HMAC-SHA256, base64url>`. The session key is 256 bits from
//! the OS CSPRNG. The MAC (over `sid=<key>.<expiry>`) is made with the first key of the
//! [`KeyRing`] and checked against every key in constant time; a cookie verified by an older key
//! is re-signed with the first key in the same response. A cookie that fails to verify or parse
//! is ignored without touching the store, and so are several different cookies of the session's
//! name in one request ("cookie tossing" from a sibling subdomain or a narrower path), even if
//! one verifies. The expiry in the cookie is where the record expires, as last written; `renew`
//! decides from it without loading the session (koa-session keeps the same `_expire` inside the
//! session data instead). The store's own expiry stays authoritative.
//!
//! # After the handler
//!
//! What the middleware does once the handler returned, decided from what the handler did with
//! the session and the cookie the request carried:
//!
//! | the handler… | store | `Set-Cookie` |
//! |---|---|---|
//! | did not touch the session; no cookie, or one that does not verify | nothing | none |
//! | did not touch it; cookie, `rolling` or `renew` due | `touch` | fresh expiry; an expiring cookie if the touch found no record |
//! | did not touch it; cookie signed with the current key, neither `rolling` nor `renew` due | nothing | none |
//! | did not touch it; cookie signed with an older key, neither `rolling` nor `renew` due | nothing | re-signed, same expiry (none once that has passed) |
//! | read it (a record was found), nothing changed; `rolling` | nothing: the load was a rolling `get` | fresh expiry |
//! | read it, nothing changed; `renew` due | `touch` | fresh expiry; an expiring cookie if the touch found no record |
//! | read it, nothing changed; cookie signed with the current key, neither `rolling` nor `renew` due | nothing | none |
//! | read it, nothing changed; cookie signed with an older key, neither `rolling` nor `renew` due | nothing | re-signed, same expiry |
//! | changed it (`insert`, `remove`, `clear`, `replace`, or values in a new session) | `set(changed = true)` | fresh expiry |
//! | changed it and back again | as if it had only read it | as if it had only read it |
//! | used a new session (no cookie, or no record behind it) and left it empty | nothing | none without a cookie, else an expiring one |
//! | [`destroy`](Session::destroy)ed it | `destroy` the cookie's record, if a valid cookie named one | expiring cookie (none if no cookie came) |
//! | [`regenerate`](Session::regenerate)d it (or destroyed it, then stored values) | `destroy` the old id, `set` under the new one | new id, fresh expiry |
//! | regenerated it empty ([`regenerate_empty`](Session::regenerate_empty), or a session holding nothing) | `destroy` the old id | expiring cookie |
//! | failed to load it (a store error) | nothing | none: the response becomes `503` or `500` (see [Errors](#errors)) |
//!
//! `renew` is due when less than half of `max_age` remains on the cookie's expiry. A fresh expiry
//! is now + `max_age`; every cookie the layer sets is signed with the current key. Unsigned
//! cookies count as signed with the current key.
//!
//! A touch never re-creates a record. When it finds none (the session was destroyed elsewhere,
//! expired or was evicted), the browser is told to drop the cookie, so its next request carries
//! none and costs no store I/O, instead of a dead cookie being refreshed forever.
//!
//! # Errors
//!
//! A store error while loading or saving is logged once with `tracing` (never with the session
//! key) and turns the response into `503 Service Unavailable` when
//! [transient](session_core::Error::is_transient), otherwise `500 Internal Server Error`. A record
//! that cannot be decoded is treated as no session and counted in
//! [`SessionMetrics::decode_errors`]. A value of the wrong type (`get::<T>` of something that is
//! not a `T`) is neither: the handler gets [`SessionError::Value`] (a `500` if it propagates it)
//! and the session stays as it is.
//!
//! # Features
//!
//! | feature | enables |
//! |---|---|
//! | `axum` | `Session` as an axum extractor, `IntoResponse` for [`SessionError`] |

mod config;
mod cookie;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod keys;
mod layer;
mod metrics;
mod plan;
mod service;
mod session;
mod shared;
mod state;

pub use config::{DEFAULT_COOKIE_NAME, DEFAULT_MAX_AGE, DEFAULT_PATH, SameSite};
pub use error::{LayerError, SessionError};
#[cfg(feature = "axum")]
pub use extract::MissingSessionLayer;
pub use keys::{KeyRing, MIN_KEY_BYTES};
pub use layer::SessionLayer;
pub use metrics::SessionMetrics;
pub use service::SessionService;
pub use session::Session;
pub use session_core::{Duration, SessionData};
