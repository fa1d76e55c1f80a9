//! `redis://`, `rediss://` (one server), `redis+cluster://`, `rediss+cluster://` (a cluster
//! reached through a list of seed nodes) and `redis+sentinel://`, `rediss+sentinel://` (the
//! primary that Redis Sentinel names, reached through a list of sentinels).

use crate::redact::Secret;
use crate::scheme::query::{Query, parse_query, parse_url, require_host};
use crate::{Backend, ConfigError, StoreConfig};

/// One server.
pub(crate) const SCHEME: &str = "redis";
/// One server over TLS.
pub(crate) const TLS_SCHEME: &str = "rediss";
/// A cluster.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster";
/// A cluster over TLS.
pub(crate) const TLS_CLUSTER_SCHEME: &str = "rediss+cluster";
/// A Sentinel-managed primary.
pub(crate) const SENTINEL_SCHEME: &str = "redis+sentinel";
/// A Sentinel-managed primary over TLS (to the sentinels and the data nodes).
pub(crate) const TLS_SENTINEL_SCHEME: &str = "rediss+sentinel";
/// The backend's name for a Sentinel-managed primary.
pub(crate) const SENTINEL_BACKEND: &str = "redis-sentinel";
/// The sentinels' own username (`sentinel_username=`), when they require one.
const SENTINEL_USERNAME: &str = "sentinel_username";
/// The sentinels' own password (`sentinel_password=`); the URL's userinfo is the data nodes'.
const SENTINEL_PASSWORD: &str = "sentinel_password";
/// The backend's name for one server, as [`Backend::name`] gives it, and the cargo feature
/// that compiles both Redis backends in.
pub(crate) const BACKEND: &str = "redis";
/// The backend's name for a cluster.
pub(crate) const CLUSTER_BACKEND: &str = "redis-cluster";
/// Key prefix (`prefix=`).
pub(crate) const PREFIX: &str = "prefix";
/// Query options the `redis` crate itself reads from a URL.
const DRIVER_OPTIONS: [&str; 2] = ["protocol", "db"];
/// Of those, the ones that make sense for a cluster (which has only database 0).
const CLUSTER_DRIVER_OPTIONS: [&str; 1] = ["protocol"];

/// Parses a `redis://` or `rediss://` URL.
pub(crate) fn parse(s: &str) -> Result<StoreConfig, ConfigError> {
    let url = parse_url(s)?;
    let mut q = Query::split(&url, &[PREFIX]);
    q.only_driver_options(BACKEND, &DRIVER_OPTIONS)?;
    let options = q.common()?;
    let prefix = q.take(PREFIX)?;
    require_host(&url)?;
    let backend = Backend::Redis {
        url: q.driver_url(url),
        prefix,
    };
    Ok(StoreConfig::new(backend, options))
}

/// Parses `redis+cluster://[user:pass@]host1:port1,host2:port2[/][?options]` (or
/// `rediss+cluster://`) into one URL per node, each with the credentials. `scheme` is the URL's
/// scheme, lower-cased.
pub(crate) fn parse_cluster(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let list = HostList::parse(s, scheme, "redis+cluster")?;
    if !list.path.is_empty() {
        return Err(ConfigError::malformed(
            "a redis+cluster URL takes no path (cluster mode has only database 0)",
        ));
    }
    let mut q = Query::split(&parse_query(list.query)?, &[PREFIX]);
    q.only_driver_options(CLUSTER_BACKEND, &CLUSTER_DRIVER_OPTIONS)?;
    let options = q.common()?;
    let prefix = q.take(PREFIX)?;
    let nodes = list.urls(list.userinfo)?;
    let nodes = nodes.into_iter().map(|n| q.driver_url(n)).collect();
    Ok(StoreConfig::new(
        Backend::RedisCluster { nodes, prefix },
        options,
    ))
}

/// Parses `redis+sentinel://[user:pass@]host1:26379,host2:26379/master[/db][?options]` (or
/// `rediss+sentinel://`). The hosts are the sentinels; the userinfo and the database are the
/// data nodes', and `sentinel_username=` / `sentinel_password=` the sentinels' own credentials.
pub(crate) fn parse_sentinel(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let list = HostList::parse(s, scheme, "redis+sentinel")?;
    let mut path = list.path.split('/');
    let master = path.next().unwrap_or_default();
    let db = path.next();
    if master.is_empty() || path.next().is_some() || db.is_some_and(|d| d.parse::<u32>().is_err()) {
        return Err(ConfigError::malformed(
            "a redis+sentinel URL's path is the master name, then optionally a database number: \
             redis+sentinel://host:26379/mymaster[/0]",
        ));
    }
    let mut q = Query::split(
        &parse_query(list.query)?,
        &[PREFIX, SENTINEL_USERNAME, SENTINEL_PASSWORD],
    );
    q.only_driver_options(SENTINEL_BACKEND, &CLUSTER_DRIVER_OPTIONS)?;
    let options = q.common()?;
    let prefix = q.take(PREFIX)?;
    let (user, password) = (q.take(SENTINEL_USERNAME)?, q.take(SENTINEL_PASSWORD)?);
    let mut sentinels = list.urls(None)?;
    for sentinel in &mut sentinels {
        // `set_username`/`set_password` percent-encode; they fail only for URLs without a host,
        // which `urls` never returns.
        if let Some(user) = &user {
            let _ = sentinel.set_username(user);
        }
        if password.is_some() {
            let _ = sentinel.set_password(password.as_deref());
        }
    }
    // The data nodes' settings as a URL the `redis` crate parses: the first sentinel's host
    // stands in for the primary, which Sentinel names at connect time.
    let mut node = list.urls(list.userinfo)?.swap_remove(0);
    node.set_path(db.unwrap_or_default());
    Ok(StoreConfig::new(
        Backend::RedisSentinel {
            sentinels: sentinels
                .into_iter()
                .map(|u| Secret::new(u.into()))
                .collect(),
            master: master.to_owned(),
            node: q.driver_url(node),
            prefix,
        },
        options,
    ))
}

/// The parts of a URL with a comma-separated host list (`redis+cluster://`,
/// `redis+sentinel://`): `scheme://[userinfo@]h1:p1,h2:p2[/path][?query]`.
struct HostList<'a> {
    /// `redis` or `rediss`, for the URL of each host.
    node_scheme: &'static str,
    userinfo: Option<&'a str>,
    hosts: &'a str,
    /// Without its leading and trailing `/`.
    path: &'a str,
    query: &'a str,
    /// The scheme as users write it, for error messages.
    what: &'static str,
}

impl<'a> HostList<'a> {
    fn parse(s: &'a str, scheme: &str, what: &'static str) -> Result<Self, ConfigError> {
        let node_scheme = if scheme.starts_with(TLS_SCHEME) {
            TLS_SCHEME
        } else {
            SCHEME
        };
        let rest = &s[scheme.len() + "://".len()..];
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = before_query.split_once('/').unwrap_or((before_query, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        Ok(HostList {
            node_scheme,
            userinfo,
            hosts,
            path: path.trim_end_matches('/'),
            query,
            what,
        })
    }

    /// One URL per host, with `userinfo` when given.
    fn urls(&self, userinfo: Option<&str>) -> Result<Vec<url::Url>, ConfigError> {
        let mut urls = Vec::new();
        for host in self.hosts.split(',').map(str::trim) {
            if host.is_empty() {
                return Err(ConfigError::malformed(format!(
                    "empty host in the {} host list",
                    self.what
                )));
            }
            let node = match userinfo {
                Some(u) => format!("{}://{u}@{host}", self.node_scheme),
                None => format!("{}://{host}", self.node_scheme),
            };
            let parsed = url::Url::parse(&node)
                .map_err(|e| ConfigError::unparsable("bad host in a host list", e))?;
            require_host(&parsed)?;
            urls.push(parsed);
        }
        Ok(urls)
    }
}

#[cfg(feature = "redis")]
pub(crate) use self::connect::{connect, connect_cluster, connect_sentinel};

#[cfg(feature = "redis")]
mod connect {
    use std::sync::Arc;

    use session_core::SessionStore;
    use session_redis::redis::sentinel::SentinelNodeConnectionInfo;
    use session_redis::redis::{ConnectionAddr, IntoConnectionInfo, TlsMode};
    use session_redis::{NodeFormat, NodeRedisStore, RedisStore};

    use super::TLS_SCHEME;
    use crate::redact::Secret;
    use crate::{CommonOptions, ConfigError, StoreFormat};

    /// Opens a store on one server.
    pub(crate) async fn connect(
        url: &Secret,
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        require_tls_feature([url.expose()])?;
        let store = RedisStore::connect(url.expose()).await?;
        Ok(finish(store, prefix, options))
    }

    /// Opens a store on a cluster.
    pub(crate) async fn connect_cluster(
        nodes: &[Secret],
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        let nodes: Vec<&str> = nodes.iter().map(Secret::expose).collect();
        require_tls_feature(nodes.iter().copied())?;
        let store = RedisStore::connect_cluster(&nodes).await?;
        Ok(finish(store, prefix, options))
    }

    /// Opens a store on the primary Sentinel names `master`.
    pub(crate) async fn connect_sentinel(
        sentinels: &[Secret],
        master: &str,
        node: &Secret,
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        let sentinels: Vec<&str> = sentinels.iter().map(Secret::expose).collect();
        require_tls_feature(sentinels.iter().copied().chain([node.expose()]))?;
        let node = node_settings(node)?;
        let store = RedisStore::connect_sentinel(&sentinels, master, node).await?;
        Ok(finish(store, prefix, options))
    }

    /// The data nodes' credentials, database, protocol and TLS, from the URL `parse_sentinel`
    /// made.
    fn node_settings(node: &Secret) -> Result<SentinelNodeConnectionInfo, ConfigError> {
        let info = IntoConnectionInfo::into_connection_info(node.expose()).map_err(|e| {
            session_core::Error::config_with_source(
                "redis",
                "invalid Redis Sentinel data-node settings",
                e,
            )
        })?;
        let settings = SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(info.redis_settings().clone());
        Ok(match info.addr() {
            ConnectionAddr::TcpTls { .. } => settings.set_tls_mode(TlsMode::Secure),
            _ => settings,
        })
    }

    /// The cargo feature that adds TLS.
    const TLS_FEATURE: &str = "redis-tls";

    /// `rediss://` needs the `redis-tls` feature; say so instead of letting the driver fail with
    /// a less helpful message at connect time.
    fn require_tls_feature<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
        let tls_prefix = format!("{TLS_SCHEME}://");
        let wants_tls = urls.into_iter().any(|u| u.starts_with(&tls_prefix));
        if wants_tls && !cfg!(feature = "redis-tls") {
            return Err(ConfigError::FeatureDisabled {
                scheme: TLS_SCHEME.to_owned(),
                feature: TLS_FEATURE,
            });
        }
        Ok(())
    }

    /// The store `options.format` asks for on `store`'s connection.
    fn finish(
        store: RedisStore,
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> Arc<dyn SessionStore> {
        let node = match options.format {
            StoreFormat::Koa => NodeFormat::Koa,
            StoreFormat::Express => NodeFormat::Express,
            _ => return Arc::new(with_options(store, prefix, options)),
        };
        let mut node = NodeRedisStore::new(&store, node);
        if let Some(p) = prefix {
            node = node.with_prefix(p);
        }
        if let Some(t) = options.timeout {
            node = node.with_timeout(t);
        }
        Arc::new(node)
    }

    fn with_options(
        mut store: RedisStore,
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> RedisStore {
        if let Some(p) = prefix {
            store = store.with_prefix(p);
        }
        if let Some(t) = options.timeout {
            store = store.with_timeout(t);
        }
        if let Some(max) = options.max_record_bytes {
            store = store.with_max_record_bytes(max);
        }
        if let Some(r) = options.expiry_resolution {
            store = store.with_expiry_resolution(r);
        }
        store
    }
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::scheme::test_support::*;
    use std::time::Duration;

    use super::*;

    #[test]
    fn prefix_and_common_options_are_taken_out_and_driver_options_kept() {
        let c = StoreConfig::from_url(
            "redis://:pw@127.0.0.1:6379/2?prefix=app:&protocol=resp3&timeout_ms=75",
        )
        .unwrap();
        let Backend::Redis { url, prefix } = c.backend() else {
            panic!("{c:?}")
        };
        assert_eq!(prefix.as_deref(), Some("app:"));
        assert_eq!(url.expose(), "redis://:pw@127.0.0.1:6379/2?protocol=resp3");
        assert_eq!(c.options().timeout, Some(Duration::from_millis(75)));
        assert_eq!(
            StoreConfig::from_url("rediss://h:6380")
                .unwrap()
                .backend()
                .name(),
            "redis"
        );
    }

    #[test]
    fn a_cluster_url_becomes_one_url_per_node_with_the_credentials() {
        let c = StoreConfig::from_url(
            "redis+cluster://user:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002/?prefix=s:",
        )
        .unwrap();
        let Backend::RedisCluster { nodes, prefix } = c.backend() else {
            panic!("{c:?}")
        };
        let nodes: Vec<&str> = nodes.iter().map(|n| n.expose()).collect();
        assert_eq!(
            nodes,
            [
                "redis://user:pw@10.0.0.1:7000",
                "redis://user:pw@10.0.0.2:7001",
                "redis://user:pw@10.0.0.3:7002"
            ]
        );
        assert_eq!(prefix.as_deref(), Some("s:"));
        let c = StoreConfig::from_url("rediss+cluster://a:1,b:2").unwrap();
        let Backend::RedisCluster { nodes, .. } = c.backend() else {
            panic!("{c:?}")
        };
        assert!(nodes.iter().all(|n| n.expose().starts_with("rediss://")));
    }

    #[test]
    fn a_sentinel_url_gives_the_sentinels_the_master_and_the_data_nodes_settings() {
        let c = StoreConfig::from_url(
            "redis+sentinel://app:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster/2\
             ?sentinel_password=s%40cret&prefix=s:&protocol=resp3",
        )
        .unwrap();
        let Backend::RedisSentinel {
            sentinels,
            master,
            node,
            prefix,
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        let sentinels: Vec<&str> = sentinels.iter().map(|n| n.expose()).collect();
        assert_eq!(
            sentinels,
            [
                "redis://:s%40cret@10.0.0.1:26379",
                "redis://:s%40cret@10.0.0.2:26379"
            ]
        );
        assert_eq!(master, "mymaster");
        assert_eq!(
            node.expose(),
            "redis://app:pw@10.0.0.1:26379/2?protocol=resp3"
        );
        assert_eq!(prefix.as_deref(), Some("s:"));
        assert_eq!(c.backend().name(), "redis-sentinel");
        let shown = format!("{c:?} {c}");
        assert!(!shown.contains("pw") && !shown.contains("cret"), "{shown}");

        let c = StoreConfig::from_url("rediss+sentinel://a:1/m").unwrap();
        let Backend::RedisSentinel {
            sentinels, node, ..
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        assert!(sentinels[0].expose().starts_with("rediss://"));
        assert!(node.expose().starts_with("rediss://"));
    }

    #[test]
    fn sentinel_urls_without_a_master_or_with_a_bad_database_are_rejected() {
        assert_each_refused(
            &[
                "redis+sentinel://a:1",
                "redis+sentinel://a:1/",
                "redis+sentinel://a:1/m/x",
                "redis+sentinel://a:1/m/1/2",
                "redis+sentinel://a:1,,b:2/m",
            ],
            malformed,
        );
        assert!(matches!(
            StoreConfig::from_url("redis+sentinel://a:1/m?db=2"),
            Err(ConfigError::UnknownOption {
                backend: "redis-sentinel",
                ..
            })
        ));
    }

    #[test]
    fn typos_missing_hosts_and_cluster_paths_are_rejected() {
        assert!(matches!(
            StoreConfig::from_url("redis://h?prefx=a"),
            Err(ConfigError::UnknownOption { backend: "redis", option }) if option == "prefx"
        ));
        assert!(matches!(
            StoreConfig::from_url("redis+cluster://a:1?db=2"),
            Err(ConfigError::UnknownOption {
                backend: "redis-cluster",
                ..
            })
        ));
        assert!(matches!(
            StoreConfig::from_url("redis://h?prefix=a&prefix=b"),
            Err(ConfigError::InvalidOption { .. })
        ));
        assert_each_refused(
            &[
                "redis://",
                "redis+cluster://a:1,,b:2",
                "redis+cluster://a:1/3",
                "redis+cluster://u:pw@a:x",
            ],
            malformed,
        );
    }

    #[cfg(not(feature = "redis"))]
    #[tokio::test]
    async fn connect_without_the_redis_feature_names_it() {
        assert_needs_feature(&["redis://127.0.0.1:6379"], "redis").await;
    }

    #[cfg(all(feature = "redis", not(feature = "redis-tls")))]
    #[tokio::test]
    async fn rediss_without_the_tls_feature_names_it() {
        let urls = ["rediss://127.0.0.1:6380", "rediss+cluster://127.0.0.1:7101"];
        assert_needs_feature(&urls, "redis-tls").await;
    }
}
