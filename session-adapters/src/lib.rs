//! Our session stores behind the session middlewares Rust web apps already use.
//!
//! An app on axum with [tower-sessions], or on actix-web with [actix-session], keeps its
//! middleware and puts any [`SessionStore`](session_core::SessionStore) of this workspace behind
//! it: memory, Redis (single node or Cluster), MySQL/MariaDB, MongoDB, or whichever one
//! `session-config` picks from a URL. The stores keep their guarantees (bounded timeouts, typed
//! errors, expiry on the application's clock, a late touch never resurrecting a logout) and
//! their conformance suite.
//!
//! | feature | type | framework (pinned major) |
//! |---|---|---|
//! | `tower-sessions` | `TowerSessionsStore` | `tower_sessions::SessionStore`, tower-sessions / tower-sessions-core **0.15** |
//! | `actix-session` | `ActixSessionStore` | `actix_session::storage::SessionStore`, actix-session **0.11** (actix-web 4) |
//!
//! No feature is on by default: enable the one for your framework, and only that framework is
//! compiled in. Both adapters take a store by value: a concrete store (`MemoryStore`,
//! `RedisStore`, …) or an `Arc<dyn SessionStore>` from `session_config::connect`.
//!
//! # What the adapters guarantee on top of the frameworks' contracts
//! - Creating a session never overwrites an existing record: tower-sessions' `create` draws a
//!   new id while the id is taken, actix-session's `save` does the same with a fresh
//!   [`SessionKey::generate`](session_core::SessionKey::generate)d key.
//! - Saving an existing session (tower-sessions' `save`, actix-session's `update`) replaces its
//!   data only while the record is live, through a conditional write; a session that was
//!   destroyed (a logout) or expired meanwhile stays gone. A request that finishes after a
//!   logout cannot bring the session back, not even under the same id.
//! - actix-session's `update_ttl` is a [`touch`](session_core::SessionStore::touch): it never
//!   re-creates a record.
//! - An expired session is never returned.
//!
//! Each type's documentation says how the framework's record maps onto ours, and which of the
//! framework's behaviours could not be kept exactly.
//!
//! [tower-sessions]: https://docs.rs/tower-sessions/0.15
//! [actix-session]: https://docs.rs/actix-session/0.11

#[cfg(feature = "actix-session")]
mod actix;
mod shared;
#[cfg(feature = "tower-sessions")]
mod tower;

#[cfg(feature = "actix-session")]
pub use actix::ActixSessionStore;
#[cfg(feature = "tower-sessions")]
pub use tower::TowerSessionsStore;
