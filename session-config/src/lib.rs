//! Choose the session store by configuration: move an application from memory to Redis to
//! MongoDB to MySQL, PostgreSQL or SQLite by changing one URL, without touching code.
//!
//! ```no_run
//! # async fn run() -> Result<(), session_config::ConfigError> {
//! // SESSION_STORE_URL=redis://127.0.0.1:6379/?prefix=myapp:   (memory:// when unset)
//! let store = session_config::connect_from_env().await?;
//! // `store` is an Arc<dyn SessionStore>: hand it to the session middleware.
//! # let _ = store; Ok(()) }
//! ```
//!
//! # URLs
//!
//! | backend | URL | backend options |
//! |---|---|---|
//! | memory | `memory://` | `max_bytes` (capacity, bytes) |
//! | Redis | `redis://[user:pass@]host:port[/db]`, `rediss://…` | `prefix` (default `rsess:`; `sess:` before issue 16); driver: `protocol`, `db` |
//! | Redis Cluster | `redis+cluster://[user:pass@]host1:port1,host2:port2`, `rediss+cluster://…` | `prefix`; driver: `protocol` |
//! | Redis Sentinel | `redis+sentinel://[user:pass@]sentinel1:26379,sentinel2:26379/master[/db]`, `rediss+sentinel://…` (userinfo and db: the data nodes') | `prefix`, `sentinel_username`, `sentinel_password`; driver: `protocol` |
//! | MongoDB | `mongodb://…/database`, `mongodb+srv://…` | `collection` (default `sessions`), `database` (default: the URL's path, else `sessions`); every driver option passes through |
//! | MySQL / MariaDB | `mysql://user:pass@host:port/db`, `mariadb://…` | `table` (default `sessions`), `migrate` (default `true`), `cleanup_interval_s` (default 900, `0` = off); driver: `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`, `charset`, `collation`, `socket`, `statement-cache-capacity`, `timezone` |
//! | PostgreSQL | `postgres://user:pass@host:port/db`, `postgresql://…` | `table` (default `sessions`), `migrate` (default `true`), `unlogged` (default `false`: create the table `UNLOGGED`, faster but emptied after a crash), `cleanup_interval_s` (default 900, `0` = off); driver: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `application_name`, `options`, `statement-cache-capacity` |
//! | SQLite | `sqlite://path/to/file.db` (relative), `sqlite:///abs/path.db`, `sqlite://:memory:` | `table`, `migrate`, `cleanup_interval_s` as for MySQL, `busy_timeout_ms` (default 3000); driver: `mode`, `cache`, `immutable`, `vfs` |
//!
//! Every backend also takes `max_record_bytes` (largest encoded session), and every network
//! backend `timeout_ms` (per-operation timeout). Every native store takes
//! `expiry_resolution_ms` (how far a rolling read may leave the stored expiry behind before it
//! rewrites it; `0` rewrites it on every rolling read; default: 1 % of the max-age, at most
//! 60 s, see [`ExpiryResolution`](session_core::ExpiryResolution)). An option the backend does
//! not know is an error ([`ConfigError::UnknownOption`]), so a typo never silently falls back to
//! a default; so is one it would ignore ([`ConfigError::UnsupportedOption`]: `timeout_ms` on
//! `memory://`, which does no I/O; `expiry_resolution_ms` with a Node `format=`, whose records
//! keep the expiry the Node app wrote).
//! In a config file, a [`StoreConfig`] is either the URL string or a table
//! `{ url, timeout_ms, max_record_bytes }`.
//!
//! # Features
//!
//! | feature | enables | pulls in |
//! |---|---|---|
//! | `memory` (default) | `memory://` | moka |
//! | `redis` | `redis://`, `redis+cluster://`, `redis+sentinel://` | redis |
//! | `redis-tls` | `rediss://`, `rediss+cluster://`, `rediss+sentinel://` (rustls, system root certificates) | redis with rustls |
//! | `mongo` | `mongodb://`, `mongodb+srv://` | mongodb |
//! | `mysql` | `mysql://`, `mariadb://` | sqlx (MySQL driver) |
//! | `postgres` | `postgres://`, `postgresql://` | sqlx (PostgreSQL driver) |
//! | `sqlite` | `sqlite://` | sqlx (SQLite driver, SQLite compiled in) |
//!
//! A URL whose backend is not compiled in fails with [`ConfigError::FeatureDisabled`] naming the
//! feature to enable.
//!
//! # Secrets
//!
//! Passwords and secret query options (MongoDB's `authMechanismProperties` and
//! `tlsCertificateKeyFilePassword`, anything named like a password, secret or token) never appear
//! in errors or in `Debug`/`Display` output: every URL is shown through one rule,
//! [`redact_url`], which applications can use for their own logs too.

mod config;
mod connect;
mod error;
mod redact;
mod scheme;

pub use config::{Backend, CommonOptions, StoreConfig, StoreFormat};
pub use connect::{STORE_URL_ENV, config_from_env, connect, connect_from_env};
pub use error::ConfigError;
pub use redact::{Secret, redact_url};
