//! [`StoreConfig`]: which backend, where, and with which options.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::ConfigError;
use crate::redact::{Secret, redact_url};

/// Options every backend understands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommonOptions {
    /// Per-operation timeout (`timeout_ms=`). `None` keeps the backend's documented default.
    pub timeout: Option<Duration>,
    /// Maximum encoded record size in bytes (`max_record_bytes=`). `None` keeps
    /// [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES).
    pub max_record_bytes: Option<usize>,
}

/// The backend a [`StoreConfig`] selects, with its backend-specific settings.
#[derive(Clone, PartialEq, Eq)]
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
        /// Key prefix (`prefix=`); `None` keeps `sess:`.
        prefix: Option<String>,
    },
    /// `redis+cluster://host1:port1,host2:port2/` or `rediss+cluster://…`: a Redis Cluster,
    /// reached through any of the listed seed nodes.
    RedisCluster {
        /// One URL per seed node, credentials included.
        nodes: Vec<Secret>,
        /// Key prefix (`prefix=`); `None` keeps `sess:`.
        prefix: Option<String>,
    },
    /// `mongodb://…/database?collection=sessions` or `mongodb+srv://…`.
    Mongo {
        /// The connection string as the driver takes it (our options removed).
        url: Secret,
        /// Database: the URL's path, or `database=`; `sessions` when neither is given.
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
}

impl Backend {
    /// The backend's name: `memory`, `redis`, `redis-cluster`, `mongo` or `mysql`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory { .. } => "memory",
            Backend::Redis { .. } => "redis",
            Backend::RedisCluster { .. } => "redis-cluster",
            Backend::Mongo { .. } => "mongo",
            Backend::MySql { .. } => "mysql",
        }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Memory { max_bytes } => f
                .debug_struct("Memory")
                .field("max_bytes", max_bytes)
                .finish(),
            Backend::Redis { url, prefix } => f
                .debug_struct("Redis")
                .field("url", url)
                .field("prefix", prefix)
                .finish(),
            Backend::RedisCluster { nodes, prefix } => f
                .debug_struct("RedisCluster")
                .field("nodes", nodes)
                .field("prefix", prefix)
                .finish(),
            Backend::Mongo {
                url,
                database,
                collection,
            } => f
                .debug_struct("Mongo")
                .field("url", url)
                .field("database", database)
                .field("collection", collection)
                .finish(),
            Backend::MySql {
                url,
                table,
                migrate,
                cleanup_interval,
            } => f
                .debug_struct("MySql")
                .field("url", url)
                .field("table", table)
                .field("migrate", migrate)
                .field("cleanup_interval", cleanup_interval)
                .finish(),
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
                    config.options.timeout = Some(timeout_from_ms(ms)?);
                }
                if max_record_bytes.is_some() {
                    config.options.max_record_bytes = max_record_bytes;
                }
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
    /// [`ConfigError::UnknownOption`] or [`ConfigError::InvalidOption`]. Whether the backend's
    /// feature is compiled in is checked by [`connect`](crate::connect), so a config file can be
    /// validated by a build that lacks the backend.
    pub fn from_url(s: &str) -> Result<Self, ConfigError> {
        let s = s.trim();
        let scheme = s
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| ConfigError::MalformedUrl {
                reason: "expected `scheme://…`".into(),
            })?;
        match scheme.as_str() {
            "redis+cluster" | "rediss+cluster" => parse_cluster(s, &scheme),
            // MongoDB seed lists (`h1:27017,h2:27017`) are not URLs the `url` crate accepts.
            "mongodb" | "mongodb+srv" => parse_mongo(s, &scheme),
            "memory" | "redis" | "rediss" | "mysql" | "mariadb" => {
                let url = Url::parse(s).map_err(|e| ConfigError::MalformedUrl {
                    reason: e.to_string(),
                })?;
                parse_single(url, &scheme)
            }
            _ => Err(ConfigError::UnknownScheme { scheme }),
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

    /// Sets the per-operation timeout.
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

/// Takes our options out of a URL's query, leaving the driver's own.
struct Query {
    ours: Vec<(String, String)>,
    rest: Vec<(String, String)>,
}

impl Query {
    fn split(url: &Url, ours: &[&str]) -> Query {
        let (mine, rest) = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .partition(|(k, _)| ours.contains(&k.as_str()));
        Query { ours: mine, rest }
    }

    fn take(&mut self, name: &str) -> Result<Option<String>, ConfigError> {
        let mut found = None;
        for (k, v) in self.ours.iter().filter(|(k, _)| k == name) {
            if found.replace(v.clone()).is_some() {
                return Err(ConfigError::invalid(k, "given more than once"));
            }
        }
        self.ours.retain(|(k, _)| k != name);
        Ok(found)
    }

    fn take_parsed<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>, ConfigError> {
        self.take(name)?
            .map(|v| {
                v.parse()
                    .map_err(|_| ConfigError::invalid(name, "expected a non-negative integer"))
            })
            .transpose()
    }

    fn common(&mut self) -> Result<CommonOptions, ConfigError> {
        let timeout = self
            .take_parsed::<u64>("timeout_ms")?
            .map(timeout_from_ms)
            .transpose()?;
        let max_record_bytes = self.take_parsed::<usize>("max_record_bytes")?;
        if max_record_bytes == Some(0) {
            return Err(ConfigError::invalid("max_record_bytes", "must be positive"));
        }
        Ok(CommonOptions {
            timeout,
            max_record_bytes,
        })
    }

    /// Rejects driver options outside `allowed` (for drivers whose option set we know).
    fn only_driver_options(
        &self,
        backend: &'static str,
        allowed: &[&str],
    ) -> Result<(), ConfigError> {
        match self
            .rest
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(ConfigError::UnknownOption {
                backend,
                option: k.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The URL with only the driver's options left in its query.
    fn driver_url(&self, mut url: Url) -> Secret {
        if self.rest.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(&self.rest);
        }
        Secret::new(url.to_string())
    }
}

fn timeout_from_ms(ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(ConfigError::invalid("timeout_ms", "must be positive"));
    }
    Ok(Duration::from_millis(ms))
}

const COMMON: [&str; 2] = ["timeout_ms", "max_record_bytes"];

fn options(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

/// Query options the `redis` crate itself reads from a URL.
const REDIS_DRIVER_OPTIONS: [&str; 2] = ["protocol", "db"];
/// Query options sqlx's MySQL driver reads from a URL.
const MYSQL_DRIVER_OPTIONS: [&str; 9] = [
    "ssl-mode",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "charset",
    "collation",
    "socket",
    "statement-cache-capacity",
    "timezone",
];

fn parse_single(url: Url, scheme: &str) -> Result<StoreConfig, ConfigError> {
    match scheme {
        "memory" => {
            let mut q = Query::split(&url, &options(&["max_bytes"]));
            q.only_driver_options("memory", &[])?;
            let options = q.common()?;
            let max_bytes = q.take_parsed::<u64>("max_bytes")?;
            if max_bytes == Some(0) {
                return Err(ConfigError::invalid("max_bytes", "must be positive"));
            }
            if url.host_str().is_some_and(|h| !h.is_empty()) || !matches!(url.path(), "" | "/") {
                return Err(ConfigError::MalformedUrl {
                    reason: "a memory store takes no host or path: write `memory://`".into(),
                });
            }
            Ok(StoreConfig {
                backend: Backend::Memory { max_bytes },
                options,
            })
        }
        "redis" | "rediss" => {
            let mut q = Query::split(&url, &options(&["prefix"]));
            q.only_driver_options("redis", &REDIS_DRIVER_OPTIONS)?;
            let options = q.common()?;
            let prefix = q.take("prefix")?;
            require_host(&url)?;
            Ok(StoreConfig {
                backend: Backend::Redis {
                    url: q.driver_url(url),
                    prefix,
                },
                options,
            })
        }
        "mysql" | "mariadb" => {
            let mut q = Query::split(&url, &options(&["table", "migrate", "cleanup_interval_s"]));
            q.only_driver_options("mysql", &MYSQL_DRIVER_OPTIONS)?;
            let options = q.common()?;
            let table = q.take("table")?;
            let migrate = match q.take("migrate")?.as_deref() {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(_) => return Err(ConfigError::invalid("migrate", "expected true or false")),
            };
            let cleanup_interval = match q.take_parsed::<u64>("cleanup_interval_s")? {
                None => Some(Duration::from_secs(900)),
                Some(0) => None,
                Some(s) => Some(Duration::from_secs(s)),
            };
            require_host(&url)?;
            let mut url = url;
            // sqlx reads `mysql://`; `mariadb://` is accepted as a friendlier alias.
            if scheme == "mariadb" {
                url = Url::parse(&url.as_str().replacen("mariadb://", "mysql://", 1)).map_err(
                    |e| ConfigError::MalformedUrl {
                        reason: e.to_string(),
                    },
                )?;
            }
            Ok(StoreConfig {
                backend: Backend::MySql {
                    url: q.driver_url(url),
                    table,
                    migrate,
                    cleanup_interval,
                },
                options,
            })
        }
        _ => Err(ConfigError::UnknownScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

fn require_host(url: &Url) -> Result<(), ConfigError> {
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(ConfigError::MalformedUrl {
            reason: format!("a {} URL needs a host", url.scheme()),
        }),
    }
}

/// `mongodb[+srv]://[user:pass@]host1[:port1][,host2…][/database][?options]`: the driver
/// validates its own (many) options; only ours are taken out.
fn parse_mongo(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let rest = &s[scheme.len() + 3..];
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, q),
        None => (rest, ""),
    };
    let (authority, path_db) = match before_query.split_once('/') {
        Some((a, db)) => (a, db),
        None => (before_query, ""),
    };
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hosts.is_empty() || hosts.split(',').any(|h| h.trim().is_empty()) {
        return Err(ConfigError::MalformedUrl {
            reason: "a mongodb URL needs at least one host, and no empty ones".into(),
        });
    }
    let stand_in = Url::parse(&format!("mongodb://placeholder/?{query}")).map_err(|e| {
        ConfigError::MalformedUrl {
            reason: e.to_string(),
        }
    })?;
    let mut q = Query::split(&stand_in, &options(&["collection", "database"]));
    let options = q.common()?;
    let collection = q.take("collection")?;
    let database = match q.take("database")? {
        Some(db) => db,
        None if !path_db.is_empty() => path_db.to_owned(),
        None => "sessions".to_owned(),
    };
    let mut url = format!("{scheme}://{authority}/");
    if !q.rest.is_empty() {
        url.push('?');
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&q.rest)
                .finish(),
        );
    }
    Ok(StoreConfig {
        backend: Backend::Mongo {
            url: Secret::new(url),
            database,
            collection,
        },
        options,
    })
}

/// `redis+cluster://[user:pass@]host1:port1,host2:port2[/][?options]`
fn parse_cluster(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let node_scheme = if scheme == "rediss+cluster" {
        "rediss"
    } else {
        "redis"
    };
    let rest = &s[scheme.len() + 3..];
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.trim_end_matches('/');
    if authority.contains('/') {
        return Err(ConfigError::MalformedUrl {
            reason: "a redis+cluster URL takes no path (cluster mode has only database 0)".into(),
        });
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let mut nodes = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        if host.is_empty() {
            return Err(ConfigError::MalformedUrl {
                reason: "empty node in the redis+cluster node list".into(),
            });
        }
        let node = match userinfo {
            Some(u) => format!("{node_scheme}://{u}@{host}"),
            None => format!("{node_scheme}://{host}"),
        };
        let parsed = Url::parse(&node).map_err(|e| ConfigError::MalformedUrl {
            reason: format!("bad cluster node: {e}"),
        })?;
        require_host(&parsed)?;
        nodes.push(parsed);
    }
    // Parse the options against a stand-in URL so one code path handles all query strings.
    let stand_in = Url::parse(&format!(
        "{node_scheme}://placeholder/?{}",
        query.unwrap_or("")
    ))
    .map_err(|e| ConfigError::MalformedUrl {
        reason: e.to_string(),
    })?;
    let mut q = Query::split(&stand_in, &options(&["prefix"]));
    q.only_driver_options("redis-cluster", &["protocol"])?;
    let options = q.common()?;
    let prefix = q.take("prefix")?;
    let nodes = nodes.into_iter().map(|n| q.driver_url(n)).collect();
    Ok(StoreConfig {
        backend: Backend::RedisCluster { nodes, prefix },
        options,
    })
}

impl fmt::Display for StoreConfig {
    /// The configuration as a URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Memory { .. } => f.write_str("memory://"),
            Backend::Redis { url, .. }
            | Backend::Mongo { url, .. }
            | Backend::MySql { url, .. } => f.write_str(&redact_url(url.expose())),
            Backend::RedisCluster { nodes, .. } => {
                let hosts: Vec<String> = nodes.iter().map(|n| redact_url(n.expose())).collect();
                write!(f, "redis cluster [{}]", hosts.join(", "))
            }
        }
    }
}
