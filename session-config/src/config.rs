//! [`StoreConfig`]: which backend, where, and with which options.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::ConfigError;
use crate::redact::{Secret, redact_url};
use crate::scheme::{self, memory, mongo, mysql, postgres, query, redis, sqlite};

/// The record format a store reads and writes (`format=` in a store URL, issue 16).
///
/// | `format=` | backends | records |
/// |---|---|---|
/// | `native` (default) | all | this workspace's own records |
/// | `koa` | Redis | koa-session 7 + koa-redis 4; default prefix none |
/// | `express` | Redis, MongoDB, MySQL | express-session 1.19 with connect-redis 10 (default prefix `sess:`), connect-mongo 6 (default collection `sessions`), express-mysql-session 3 (default table `sessions`) |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFormat {
    /// This workspace's own records.
    #[default]
    Native,
    /// koa-session 7's records, as koa-redis 4 stores them.
    Koa,
    /// express-session 1.19's records, as connect-redis 10, connect-mongo 6 or
    /// express-mysql-session 3 store them.
    Express,
}

impl StoreFormat {
    /// The `format=` value: `native`, `koa` or `express`.
    pub fn name(self) -> &'static str {
        match self {
            StoreFormat::Native => "native",
            StoreFormat::Koa => "koa",
            StoreFormat::Express => "express",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, ConfigError> {
        match s {
            "native" => Ok(StoreFormat::Native),
            "koa" => Ok(StoreFormat::Koa),
            "express" => Ok(StoreFormat::Express),
            _ => Err(ConfigError::invalid(
                "format",
                "expected native, koa or express",
            )),
        }
    }
}

/// Options shared by the backends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommonOptions {
    /// Per-operation timeout (`timeout_ms=`). `None` keeps the backend's documented default.
    /// Network backends only: a memory store does no I/O, and rejects a timeout with
    /// [`ConfigError::UnsupportedOption`].
    pub timeout: Option<Duration>,
    /// Maximum encoded record size in bytes (`max_record_bytes=`). `None` keeps
    /// [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES).
    pub max_record_bytes: Option<usize>,
    /// The record format (`format=`); [`StoreFormat::Native`] unless given.
    pub format: StoreFormat,
    /// How far behind a rolling read may leave the stored expiry (`expiry_resolution_ms=`, `0`
    /// for [`ExpiryResolution::Exact`](session_core::ExpiryResolution::Exact)); `None` keeps
    /// the store's default, [`ExpiryResolution::Auto`](session_core::ExpiryResolution::Auto).
    /// Every store in the native format; a Node format stores what the Node store does and
    /// rejects it with [`ConfigError::UnsupportedOption`].
    pub expiry_resolution: Option<session_core::ExpiryResolution>,
}

/// The backend a [`StoreConfig`] selects, with its backend-specific settings. `Debug` shows URLs
/// through [`redact_url`](crate::redact_url).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// `memory://?max_bytes=N`: an in-process moka store.
    Memory {
        /// Capacity in bytes (`max_bytes=`); `None` keeps the store's default.
        max_bytes: Option<u64>,
    },
    /// `redis://host:port/db` or `rediss://…`: one Redis server.
    Redis {
        /// The server URL as the `redis` crate takes it (our options removed).
        url: Secret,
        /// Key prefix (`prefix=`); `None` keeps the default (`rsess:` native, the Node store's default with `format=`).
        prefix: Option<String>,
    },
    /// `redis+cluster://host1:port1,host2:port2/` or `rediss+cluster://…`: a Redis Cluster,
    /// reached through any of the listed seed nodes.
    RedisCluster {
        /// One URL per seed node, credentials included.
        nodes: Vec<Secret>,
        /// Key prefix (`prefix=`); `None` keeps the default (`rsess:` native, the Node store's default with `format=`).
        prefix: Option<String>,
    },
    /// `redis+sentinel://host1:26379,host2:26379/mymaster[/db]` or `rediss+sentinel://…`: the
    /// primary Redis Sentinel knows as `mymaster`, followed through failovers.
    RedisSentinel {
        /// One URL per sentinel, with the sentinels' own credentials (`sentinel_username=`,
        /// `sentinel_password=`).
        sentinels: Vec<Secret>,
        /// The name the sentinels know the primary by (the URL's path).
        master: String,
        /// The data nodes' credentials, database and driver options, as a URL whose host (the
        /// first sentinel's) is not used.
        node: Secret,
        /// Key prefix (`prefix=`); `None` keeps the default (`rsess:` native, the Node store's default with `format=`).
        prefix: Option<String>,
    },
    /// `mongodb://…/database?collection=sessions` or `mongodb+srv://…`.
    Mongo {
        /// The connection string as the driver takes it (our options removed).
        url: Secret,
        /// Database: `database=`, else the URL's path, else `sessions`.
        database: String,
        /// Collection (`collection=`); `None` keeps `sessions`.
        collection: Option<String>,
    },
    /// `mysql://user:pass@host:port/db?table=sessions` (or `mariadb://…`).
    MySql {
        /// The URL as sqlx takes it (our options removed).
        url: Secret,
        /// Table (`table=`); `None` keeps `sessions`.
        table: Option<String>,
        /// Create the table at start-up (`migrate=true`, the default). Set `migrate=false` when
        /// the application's database user has no DDL rights and the table was created from
        /// `session-mysql/schema.sql`.
        migrate: bool,
        /// How often a background task deletes expired rows (`cleanup_interval_s=`, default
        /// 900 s; `0` disables it).
        cleanup_interval: Option<Duration>,
    },
    /// `postgres://user:pass@host:port/db?table=sessions` (or `postgresql://…`).
    Postgres {
        /// The URL as sqlx takes it (our options removed).
        url: Secret,
        /// Table (`table=`); `None` keeps `sessions`.
        table: Option<String>,
        /// Create the table at start-up (`migrate=true`, the default). Set `migrate=false` when
        /// the application's role has no DDL rights and the table was created from
        /// `session-postgres/schema.sql`.
        migrate: bool,
        /// Create the table `UNLOGGED` when migrating (`unlogged=true`; default `false`): faster
        /// writes, but the table is emptied after a crash and not replicated.
        unlogged: bool,
        /// How often a background task deletes expired rows (`cleanup_interval_s=`, default
        /// 900 s; `0` disables it).
        cleanup_interval: Option<Duration>,
    },
    /// `sqlite://path/to/sessions.db?table=sessions`: a database file, created when missing.
    Sqlite {
        /// The URL as sqlx takes it (our options removed).
        url: Secret,
        /// Table (`table=`); `None` keeps `sessions`.
        table: Option<String>,
        /// Create the table at start-up (`migrate=true`, the default).
        migrate: bool,
        /// How often a background task deletes expired rows (`cleanup_interval_s=`, default
        /// 900 s; `0` disables it).
        cleanup_interval: Option<Duration>,
        /// How long a writer waits for the database's write lock (`busy_timeout_ms=`); `None`
        /// keeps the store's default (3 s).
        busy_timeout: Option<Duration>,
    },
}

impl Backend {
    /// The backend's name: `memory`, `redis`, `redis-cluster`, `mongo`, `mysql`, `postgres` or
    /// `sqlite`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory { .. } => memory::BACKEND,
            Backend::Redis { .. } => redis::BACKEND,
            Backend::RedisCluster { .. } => redis::CLUSTER_BACKEND,
            Backend::RedisSentinel { .. } => redis::SENTINEL_BACKEND,
            Backend::Mongo { .. } => mongo::BACKEND,
            Backend::MySql { .. } => mysql::BACKEND,
            Backend::Postgres { .. } => postgres::BACKEND,
            Backend::Sqlite { .. } => sqlite::BACKEND,
        }
    }

    /// The URLs handed to the driver, which hold the credentials.
    pub(crate) fn urls(&self) -> Vec<&Secret> {
        match self {
            Backend::Memory { .. } => Vec::new(),
            Backend::Redis { url, .. }
            | Backend::Mongo { url, .. }
            | Backend::MySql { url, .. }
            | Backend::Postgres { url, .. }
            | Backend::Sqlite { url, .. } => {
                vec![url]
            }
            Backend::RedisCluster { nodes, .. } => nodes.iter().collect(),
            Backend::RedisSentinel {
                sentinels, node, ..
            } => sentinels.iter().chain([node]).collect(),
        }
    }

    /// The cargo feature of session-config that compiles this backend in.
    pub(crate) fn feature(&self) -> &'static str {
        match self {
            Backend::Memory { .. } => memory::BACKEND,
            Backend::Redis { .. }
            | Backend::RedisCluster { .. }
            | Backend::RedisSentinel { .. } => redis::BACKEND,
            Backend::Mongo { .. } => mongo::BACKEND,
            Backend::MySql { .. } => mysql::BACKEND,
            Backend::Postgres { .. } => postgres::BACKEND,
            Backend::Sqlite { .. } => sqlite::BACKEND,
        }
    }
}

/// A session store configuration: parse it from a URL or deserialize it from an application's
/// config file, then [`connect`](crate::connect).
///
/// Deserializes from either a URL string or a table:
///
/// ```
/// # use session_config::StoreConfig;
/// let from_string: StoreConfig = serde_json::from_str(r#""redis://127.0.0.1:6379/?prefix=app:""#)?;
/// let from_table: StoreConfig = serde_json::from_str(
///     r#"{"url": "mysql://app:secret@db:3306/app?table=web_sessions", "timeout_ms": 1500}"#,
/// )?;
/// assert_eq!(from_string.backend().name(), "redis");
/// assert!(!format!("{from_table:?}").contains("secret"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct StoreConfig {
    backend: Backend,
    options: CommonOptions,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawConfig {
    Url(String),
    Table {
        url: String,
        #[serde(default)]
        timeout_ms: Option<u64>,
        #[serde(default)]
        max_record_bytes: Option<usize>,
    },
}

impl TryFrom<RawConfig> for StoreConfig {
    type Error = ConfigError;
    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        match raw {
            RawConfig::Url(url) => StoreConfig::from_url(&url),
            RawConfig::Table {
                url,
                timeout_ms,
                max_record_bytes,
            } => {
                let mut config = StoreConfig::from_url(&url)?;
                if let Some(ms) = timeout_ms {
                    config.options.timeout = Some(query::timeout_from_ms(ms)?);
                }
                if let Some(max) = max_record_bytes {
                    if max == 0 {
                        return Err(ConfigError::invalid(
                            query::MAX_RECORD_BYTES,
                            "must be positive",
                        ));
                    }
                    config.options.max_record_bytes = Some(max);
                }
                config.check()?;
                Ok(config)
            }
        }
    }
}

impl Default for StoreConfig {
    /// An in-memory store with default capacity.
    fn default() -> Self {
        StoreConfig {
            backend: Backend::Memory { max_bytes: None },
            options: CommonOptions::default(),
        }
    }
}

impl std::str::FromStr for StoreConfig {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        StoreConfig::from_url(s)
    }
}

impl StoreConfig {
    /// Parses a store URL. See the [crate documentation](crate) for the forms and options.
    ///
    /// # Errors
    /// [`ConfigError::MalformedUrl`], [`ConfigError::UnknownScheme`],
    /// [`ConfigError::UnknownOption`], [`ConfigError::UnsupportedOption`] or
    /// [`ConfigError::InvalidOption`]. Whether the backend's
    /// feature is compiled in is checked by [`connect`](crate::connect), so a config file can be
    /// validated by a build that lacks the backend.
    pub fn from_url(s: &str) -> Result<Self, ConfigError> {
        let config = scheme::parse(s)?;
        config.check_format()?;
        config.check()?;
        Ok(config)
    }

    /// Rejects a `format=` the backend cannot read and write.
    fn check_format(&self) -> Result<(), ConfigError> {
        let format = self.options.format;
        let supported = format == StoreFormat::Native
            || matches!(
                self.backend,
                Backend::Redis { .. }
                    | Backend::RedisCluster { .. }
                    | Backend::RedisSentinel { .. }
            )
            || (format == StoreFormat::Express
                && matches!(self.backend, Backend::Mongo { .. } | Backend::MySql { .. }));
        if supported {
            Ok(())
        } else {
            Err(ConfigError::UnsupportedFormat {
                backend: self.backend.name(),
                format: format.name(),
            })
        }
    }

    pub(crate) fn new(backend: Backend, options: CommonOptions) -> Self {
        StoreConfig { backend, options }
    }

    /// Rejects options the backend would ignore.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.options.expiry_resolution.is_some() && self.options.format != StoreFormat::Native {
            return Err(ConfigError::UnsupportedOption {
                backend: self.backend.name(),
                option: query::EXPIRY_RESOLUTION_MS,
            });
        }
        match self.backend {
            Backend::Memory { .. } => memory::check(&self.options),
            _ => Ok(()),
        }
    }

    /// The selected backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Options shared by every backend.
    pub fn options(&self) -> &CommonOptions {
        &self.options
    }

    /// Sets the per-operation timeout. A memory store has none: [`connect`](crate::connect) then
    /// fails with [`ConfigError::UnsupportedOption`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Sets the maximum encoded record size.
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.options.max_record_bytes = Some(max);
        self
    }
}

impl fmt::Display for StoreConfig {
    /// The configuration as a URL, through [`redact_url`](crate::redact_url): passwords and
    /// secret options replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Memory { .. } => f.write_str("memory://"),
            Backend::Redis { url, .. }
            | Backend::Mongo { url, .. }
            | Backend::MySql { url, .. }
            | Backend::Postgres { url, .. }
            | Backend::Sqlite { url, .. } => f.write_str(&redact_url(url.expose())),
            Backend::RedisCluster { nodes, .. } => {
                let hosts: Vec<String> = nodes.iter().map(|n| redact_url(n.expose())).collect();
                write!(f, "redis cluster [{}]", hosts.join(", "))
            }
            Backend::RedisSentinel {
                sentinels,
                master,
                node,
                ..
            } => {
                let hosts: Vec<String> = sentinels.iter().map(|n| redact_url(n.expose())).collect();
                write!(
                    f,
                    "redis sentinel master {master:?} [{}], data nodes as {}",
                    hosts.join(", "),
                    redact_url(node.expose())
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each URL holds `hunter2` as a password or in a secret option.
    const WITH_SECRETS: [&str; 10] = [
        "redis://:hunter2@h:6379/?prefix=a",
        "redis+sentinel://u:hunter2@a:1,b:2/m?sentinel_password=pw",
        "rediss+sentinel://a:1,b:2/m/3?sentinel_username=s&sentinel_password=hunter2",
        "rediss+cluster://u:hunter2@a:1,b:2",
        "mongodb://u:hunter2@h1,h2/db?replicaSet=rs0",
        "mongodb+srv://c.example.com/db?authMechanism=MONGODB-AWS\
         &authMechanismProperties=AWS_SESSION_TOKEN:hunter2",
        "mongodb://h/db?tls=true&tlsCertificateKeyFile=/k.pem&tlsCertificateKeyFilePassword=hunter2",
        "mongodb://h/db?password=hunter2",
        "mysql://u:hunter2@h/db",
        "mariadb://u:hunter2@h/db?ssl-mode=required",
    ];

    #[test]
    fn passwords_and_secret_options_never_appear_in_debug_or_display() {
        for url in WITH_SECRETS {
            let c = StoreConfig::from_url(url).unwrap();
            for shown in [
                format!("{c:?}"),
                c.to_string(),
                format!("{:?}", c.backend()),
            ] {
                assert!(!shown.contains("hunter2"), "{url} shown as {shown}");
                assert!(shown.contains("***"), "{url} shown as {shown}");
            }
        }
    }

    #[test]
    fn display_shows_the_urls_with_only_the_secrets_masked() {
        let shown = |url: &str| StoreConfig::from_url(url).unwrap().to_string();
        assert_eq!(
            shown("mongodb://u:pw@h1,h2/db?replicaSet=rs0&tlsCertificateKeyFilePassword=x"),
            "mongodb://u:***@h1,h2/?replicaSet=rs0&tlsCertificateKeyFilePassword=***"
        );
        assert_eq!(
            shown("redis+cluster://u:pw@a:1,b:2"),
            "redis cluster [redis://u:***@a:1, redis://u:***@b:2]"
        );
        assert_eq!(shown("memory://?max_bytes=9"), "memory://");
    }

    #[test]
    fn deserializes_from_a_string_or_a_table() {
        let c: StoreConfig = serde_json::from_str(r#""memory://""#).unwrap();
        assert_eq!(c, StoreConfig::default());
        let c: StoreConfig = serde_json::from_str(
            r#"{"url": "redis://h", "timeout_ms": 75, "max_record_bytes": 9}"#,
        )
        .unwrap();
        assert_eq!(c.options().timeout, Some(Duration::from_millis(75)));
        assert_eq!(c.options().max_record_bytes, Some(9));
        let e = serde_json::from_str::<StoreConfig>(r#""bogus://x""#).unwrap_err();
        assert!(
            e.to_string().contains("unknown session store scheme"),
            "{e}"
        );
    }

    #[test]
    fn a_table_with_a_zero_limit_or_timeout_is_rejected_like_the_url() {
        for table in [
            r#"{"url": "redis://h", "timeout_ms": 0}"#,
            r#"{"url": "redis://h", "max_record_bytes": 0}"#,
        ] {
            let e = serde_json::from_str::<StoreConfig>(table).unwrap_err();
            assert!(e.to_string().contains("must be positive"), "{table}: {e}");
        }
    }
}
