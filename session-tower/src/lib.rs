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
//! | `partitioned` | [`with_partitioned`](SessionLayer::with_partitioned) | `false` |
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
//! # Security
//!
//! What each setting defends against. [`SessionLayer::validate`] refuses combinations a browser
//! would silently drop (the rules are listed there).
//!
//! - **Session id from the CSPRNG, 256 bits.** Guessing or enumerating another user's session
//!   is hopeless; the id carries no user data.
//! - **Signed cookies** ([`SessionLayer::new`] with a [`KeyRing`]). A forged, truncated or
//!   tampered cookie is rejected before any store lookup, so garbage cookies cost no database
//!   round trip; the MAC covers the cookie name, so a value cannot be replayed under another
//!   cookie. Keys rotate without logging anybody out.
//! - **New id at login** ([`Session::regenerate`]). Session fixation: an id planted in the
//!   victim's browser before login is worthless afterwards.
//! - **Several different session cookies in one request are no session** (see
//!   [The cookie](#the-cookie)). Cookie tossing from a sibling subdomain or a narrower path
//!   cannot pick the victim's session.
//! - **`HttpOnly`** (default on). Script injected into a page (XSS) cannot read the id and send
//!   it elsewhere; it can still act within the page while it runs.
//! - **`Secure`** ([`with_secure`](SessionLayer::with_secure)). A network attacker on plain
//!   HTTP (public Wi-Fi, a downgrade) never sees the id. Turn it on wherever HTTPS is served.
//! - **`SameSite`** (default `Lax`). Cross-site request forgery: another site's forms and
//!   scripts do not carry the cookie, except top-level `GET` navigations with `Lax`. `Strict`
//!   drops those too. `None` (needed when the front end lives on another *site*) gives this
//!   up: pair it with CORS restricted to exact origins and CSRF tokens or `Origin` checks on
//!   state-changing routes; it requires `Secure`.
//! - **The `__Host-` name prefix** (`with_key("__Host-sid")`). A cookie of that name can only
//!   be set by this exact host over HTTPS, with `Path=/` and no `Domain`: a compromised or
//!   hostile sibling subdomain, or a plain-HTTP response, cannot plant or overwrite it (cookie
//!   tossing, session fixation through a subdomain). `__Secure-` gives the HTTPS-only part of
//!   that guarantee while allowing a `Domain`. Prefer `__Host-` whenever the session is for one
//!   host.
//! - **`Partitioned`** ([`with_partitioned`](SessionLayer::with_partitioned)). For an
//!   application embedded cross-site: browsers keep its cookie per top-level site, so an
//!   embedding site cannot be used to track the user across sites, and third-party cookie
//!   blocking does not break the embedded session.
//! - **Ids hashed at rest** ([`with_ids_at_rest`](SessionLayer::with_ids_at_rest), default
//!   [`IdsAtRest::Sha256`]). A leaked Redis dump, database backup, replica or a `SELECT` by a
//!   support engineer holds only `base64url(SHA-256(id))`: nothing in it can be replayed as a
//!   cookie, and a cookie carrying a stored key is hashed again and finds no session. The
//!   digest is plain rather than keyed because the ids are 256 random bits (a keyed digest would
//!   add a secret whose rotation ends every session); an operator can still find a cookie's
//!   record with `sha256sum`.
//! - **Absolute lifetime** ([`with_absolute_lifetime`](SessionLayer::with_absolute_lifetime),
//!   seven days by default). A session stolen once and kept busy by the thief (`rolling` or
//!   `renew` would otherwise keep it alive forever) still ends a fixed time after it was created
//!   or after the login that restarted it. The end is stored in the record, so every store
//!   refuses the session past it, whatever the cookie says.
//! - **Idle expiry enforced by the store** ([`with_max_age`](SessionLayer::with_max_age)). A
//!   stolen or forgotten session dies after `max_age` without activity, whatever the cookie
//!   says: the expiry in the cookie is advisory, the store's TTL decides.
//! - **Logout destroys the record** ([`Session::destroy`]). A copied cookie stops working at
//!   logout, not only when it expires; [`Session::end_other_sessions`] does the same for every
//!   other device of the user.
//!
//! # After the handler
//!
//! What the middleware does once the handler returned, decided from what the handler did with
//! the session and the cookie the request carried:
//!
//! | the handler… | store | `Set-Cookie` |
//! |---|---|---|
//! | did not touch the session; no cookie, or one that does not verify | nothing | none |
//! | did not touch it; cookie, `rolling` or `renew` due | `touch` | fresh expiry; none if the touch found no record |
//! | did not touch it; cookie signed with the current key, neither `rolling` nor `renew` due | nothing | none |
//! | did not touch it; cookie signed with an older key, neither `rolling` nor `renew` due | nothing | re-signed, same expiry (none once that has passed) |
//! | read it (a record was found), nothing changed; `rolling` | nothing: the load was a rolling `get` | fresh expiry |
//! | read it, nothing changed; `renew` due | `touch` | fresh expiry; none if the touch found no record |
//! | read it, nothing changed; cookie signed with the current key, neither `rolling` nor `renew` due | nothing | none |
//! | read it, nothing changed; cookie signed with an older key, neither `rolling` nor `renew` due | nothing | re-signed, same expiry |
//! | changed a stored session (`insert`, `remove`, `clear`, `replace`) | `write_if` at the loaded version; on a conflict its changes merged onto the newer record (see [Concurrent requests](#concurrent-requests)) | fresh expiry; none if the record is gone |
//! | stored values in a new session (no record behind it) | `write` under a fresh id | fresh expiry |
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
//! A touch or a save never re-creates a record. When it finds none (the session was destroyed or
//! regenerated by another request, expired or was evicted), the response carries no
//! `Set-Cookie`: refreshing would keep a dead cookie alive forever, and an expiring cookie could
//! clear the cookie a concurrent login just set under the same name. The dead cookie is no
//! longer refreshed and dies at its own expiry.
//!
//! # Concurrent requests
//!
//! Several requests of one browser often use one session at once (a page firing requests in
//! parallel). Every save is conditional on the record being at the version the request loaded
//! ([`SessionStore::write_if`](session_core::SessionStore::write_if)), so no request ever
//! silently erases what another wrote:
//!
//! - **Merge.** When another request saved the session in between, the save reloads it, applies
//!   only this request's own changes (the top-level fields it inserted, replaced or removed) on
//!   top, and tries again, backing off a little more each time. Writes to different fields
//!   always all survive; two writes to the same field end last-writer-wins for that field. A
//!   save that keeps losing (20 tries) answers `409 Conflict` rather than lose anything.
//! - **Strict update.** Where merging per field is wrong (a counter, a cart), use
//!   [`Session::update`]: a read-modify-write of one value, written at once and re-run on the
//!   newer value on a conflict. Concurrent increments are never lost.
//! - **Logout wins.** A request that finishes after another one destroyed or regenerated the
//!   session writes nothing (its conditional write finds no record) and sends no session
//!   cookie; [`Session::update`] answers [`SessionError::Ended`].
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use std::sync::Arc;
//!
//! use axum::{Router, routing::get};
//! use http::{Request, header};
//! use session_core::{Duration, SessionStore};
//! use session_tower::{KeyRing, Session, SessionError, SessionLayer};
//! use tower::ServiceExt as _;
//!
//! // Merged: requests setting different fields never undo each other.
//! async fn theme(session: Session) -> Result<&'static str, SessionError> {
//!     session.insert("theme", "dark").await?;
//!     Ok("ok")
//! }
//!
//! // Strict: every request adds exactly one, however many run at once.
//! async fn visit(session: Session) -> Result<String, SessionError> {
//!     let n = session.update("visits", |n: Option<u64>| n.unwrap_or(0) + 1).await?;
//!     Ok(n.to_string())
//! }
//!
//! async fn logout(session: Session) -> &'static str {
//!     session.destroy().await;
//!     "bye"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(session_memory::MemoryStore::new());
//! let keys = KeyRing::new([b"a secret of at least 32 bytes!!!"])?;
//! let app = Router::new()
//!     .route("/theme", get(theme))
//!     .route("/visit", get(visit))
//!     .route("/logout", get(logout))
//!     .layer(SessionLayer::new(store.clone(), keys));
//! let send = |path: &str, cookie: Option<&str>| {
//!     let mut request = Request::get(path);
//!     if let Some(cookie) = cookie {
//!         request = request.header(header::COOKIE, cookie);
//!     }
//!     app.clone().oneshot(request.body(axum::body::Body::empty()).unwrap())
//! };
//!
//! let first = send("/visit", None).await?;
//! let cookie = first.headers()[header::SET_COOKIE].to_str()?.split(';').next().unwrap().to_owned();
//! // Two requests at once on the same session: one merges, one updates strictly.
//! let (a, b) = tokio::join!(send("/theme", Some(&cookie)), send("/visit", Some(&cookie)));
//! assert!(a?.status().is_success() && b?.status().is_success());
//! let key = cookie.trim_start_matches("sid=").split('.').next().unwrap();
//! // The store keeps the session under the digest of its id (ids are hashed at rest).
//! let key = session_core::SessionKey::parse(key)?.digest();
//! let stored = store.get(&key, Duration::days(1), false).await?.unwrap();
//! assert_eq!(stored.get::<u64>("visits")?, Some(2));
//! assert_eq!(stored.get::<String>("theme")?.as_deref(), Some("dark"));
//!
//! // Logout wins: the session is gone, and a late request with the old cookie brings nothing
//! // back (it starts a new session under a fresh id instead).
//! send("/logout", Some(&cookie)).await?;
//! send("/theme", Some(&cookie)).await?;
//! assert_eq!(store.get(&key, Duration::days(1), false).await?, None);
//! # Ok(())
//! # }
//! # main().unwrap();
//! # }
//! ```
//!
//! # Sessions per user
//!
//! At login, after [`Session::regenerate`], call [`Session::set_owner`] with the user id and a
//! little metadata (the user agent, say). The store then keeps an index owner → sessions, and
//! the handle offers, for the current user:
//!
//! - [`Session::sessions`]: their live sessions as [`SessionInfo`] (an opaque handle, login
//!   time, last seen, expiry, the metadata, and which one is the current request's), never a
//!   session id: the id is a credential and never leaves the server;
//! - [`Session::end_session`]: log out one of them by its handle;
//! - [`Session::end_other_sessions`] ("log out other devices", and what to do after a password
//!   change) and [`Session::end_all_sessions`].
//!
//! The owner lives in the session data under the reserved field
//! [`OWNER_FIELD`](session_core::OWNER_FIELD), so it merges and saves like any other change;
//! `insert`, `remove` and `update` refuse that name. A regenerated session keeps its owner and
//! moves in the index; a destroyed one leaves it. An admin job can use the store directly:
//! [`SessionStore::list_owned`](session_core::SessionStore::list_owned),
//! [`destroy_owned`](session_core::SessionStore::destroy_owned) and
//! [`destroy_by_handle`](session_core::SessionStore::destroy_by_handle).
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
//! # Observability
//!
//! Every layer wraps its store in [`Instrumented`]: each store operation runs in a
//! `session_store` span with OpenTelemetry's `db.system`, `db.operation.name` and
//! `server.address` / `server.port`, and is timed into a histogram. Session events (loaded,
//! missed, created, renewed, regenerated, destroyed, expired on read, decode failures, write
//! conflicts, store errors by kind) are counted through the [`metrics`](::metrics) facade; the
//! names and labels are listed in the [`metrics`] module. With no recorder installed the
//! counters cost nothing but a no-op call. [`SessionLayer::with_hook`] hears the lifecycle
//! events ([`SessionEvent`]) with the session's owner, never its id. No span, log line, metric
//! or event carries a session id or session data.
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
#[doc(hidden)]
pub mod fuzzing;
mod hooks;
mod instrument;
mod keys;
mod layer;
mod merge;
pub mod metrics;
mod node;
mod plan;
mod policy;
mod service;
mod session;
mod shared;
mod state;

pub use config::{
    DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_COOKIE_NAME, DEFAULT_MAX_AGE, DEFAULT_PATH, SameSite,
};
pub use error::{LayerError, SessionError};
#[cfg(feature = "axum")]
pub use extract::MissingSessionLayer;
pub use hooks::SessionEvent;
pub use instrument::Instrumented;
pub use keys::{KeyRing, MIN_KEY_BYTES};
pub use layer::SessionLayer;
pub use metrics::{SessionMetrics, describe_metrics};
pub use node::{CookieStyle, EXPRESS_COOKIE_NAME, KOA_COOKIE_NAME, NodeKeys};
pub use service::SessionService;
pub use session::{Session, SessionInfo};
pub use session_core::{Duration, IdsAtRest, SessionData};
