//! `redis://`, `rediss://` (one server) and `redis+cluster://`, `rediss+cluster://` (a cluster
//! reached through a list of seed nodes).

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
    let node_scheme = if scheme == TLS_CLUSTER_SCHEME {
        TLS_SCHEME
    } else {
        SCHEME
    };
    let rest = &s[scheme.len() + "://".len()..];
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.trim_end_matches('/');
    if authority.contains('/') {
        return Err(ConfigError::malformed(
            "a redis+cluster URL takes no path (cluster mode has only database 0)",
        ));
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let mut nodes = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        if host.is_empty() {
            return Err(ConfigError::malformed(
                "empty node in the redis+cluster node list",
            ));
        }
        let node = match userinfo {
            Some(u) => format!("{node_scheme}://{u}@{host}"),
            None => format!("{node_scheme}://{host}"),
        };
        let parsed = url::Url::parse(&node)
            .map_err(|e| ConfigError::unparsable("bad redis+cluster node", e))?;
        require_host(&parsed)?;
        nodes.push(parsed);
    }
    let mut q = Query::split(&parse_query(query)?, &[PREFIX]);
    q.only_driver_options(CLUSTER_BACKEND, &CLUSTER_DRIVER_OPTIONS)?;
    let options = q.common()?;
    let prefix = q.take(PREFIX)?;
    let nodes = nodes.into_iter().map(|n| q.driver_url(n)).collect();
    Ok(StoreConfig::new(
        Backend::RedisCluster { nodes, prefix },
        options,
    ))
}

#[cfg(feature = "redis")]
pub(crate) use self::connect::{connect, connect_cluster};

#[cfg(feature = "redis")]
mod connect {
    use std::sync::Arc;

    use session_core::SessionStore;
    use session_redis::RedisStore;

    use super::TLS_SCHEME;
    use crate::redact::Secret;
    use crate::{CommonOptions, ConfigError};

    /// Opens a store on one server.
    pub(crate) async fn connect(
        url: &Secret,
        prefix: Option<&str>,
        options: &CommonOptions,
    ) -> Result<Arc<dyn SessionStore>, ConfigError> {
        require_tls_feature([url.expose()])?;
        let store = RedisStore::connect(url.expose()).await?;
        Ok(Arc::new(with_options(store, prefix, options)))
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
        Ok(Arc::new(with_options(store, prefix, options)))
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
