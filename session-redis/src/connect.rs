//! Building a store from a driver connection or from URLs.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use session_core::{Error, Result};

use crate::connection::{Cluster, Link, ReplicaAck};
use crate::error::{BACKEND, timed};
use crate::sentinel::Failover;
use crate::{DEFAULT_TIMEOUT, RedisStore};

/// Reconnection attempts the `ConnectionManager` makes before giving up on one operation.
///
/// Few, because the store's own timeout bounds each operation anyway, and a failed reconnection
/// is retried on the next operation: the manager never gives up for good. The driver's default
/// (6 attempts with exponential back-off) can take longer than [`DEFAULT_TIMEOUT`], which would
/// turn a clear "connection refused" into a vaguer timeout.
const RECONNECT_ATTEMPTS: usize = 2;
/// First back-off between reconnection attempts.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
/// Longest back-off between reconnection attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);
/// Attempts the cluster client makes for one request (MOVED/ASK redirects and reconnects); with
/// the short waits set in `connect_cluster` they fit inside one operation's timeout.
const CLUSTER_RETRIES: u32 = 10;

impl RedisStore {
    /// A store on an existing single-node connection, with the default settings.
    ///
    /// The `ConnectionManager`'s own response timeout (500 ms by default in `redis`) still
    /// applies underneath the store's; configure it with
    /// [`ConnectionManagerConfig`](redis::aio::ConnectionManagerConfig) if it is shorter than
    /// the store's timeout you want.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::from_connection(Link::Single(conn).into())
    }

    /// A store on an existing Redis Cluster connection, with the default settings.
    ///
    /// Such a store relies on the driver alone to repair the connection after an outage;
    /// [`connect_cluster`](Self::connect_cluster) keeps the client too and rebuilds the
    /// connection itself when it keeps failing, which recovers faster.
    pub fn from_cluster(conn: ClusterConnection) -> Self {
        Self::from_connection(Link::Cluster(Cluster::new(conn, None)).into())
    }

    /// Connects to a single Redis node at `url` (`redis://[user:password@]host[:port][/db]`)
    /// through a [`ConnectionManager`], which reconnects by itself after the connection drops.
    ///
    /// Each connection attempt is bounded by [`DEFAULT_TIMEOUT`]; the store gets the default
    /// settings (change them with the `with_*` methods).
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL (the message never contains the password);
    /// [`Error::Unavailable`] or [`Error::Timeout`] when no server answers within
    /// [`DEFAULT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| bad_url(e, "Redis URL"))?;
        let server = match client.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port) => Some((host.clone(), *port)),
            redis::ConnectionAddr::TcpTls { host, port, .. } => Some((host.clone(), *port)),
            _ => None,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEFAULT_TIMEOUT))
            // The store applies its own per-operation timeout, which `with_timeout` can change
            // after connecting; a driver-level response timeout would silently cap it.
            .set_response_timeout(None)
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn = timed(
            DEFAULT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        let mut store = Self::new(conn);
        store.server = server;
        Ok(store)
    }

    /// Connects to a Redis Cluster through any of its `nodes` (URLs as for
    /// [`connect`](Self::connect); the client discovers the rest of the cluster from them).
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL or an empty node list (messages never contain a
    /// password); [`Error::Unavailable`] or [`Error::Timeout`] when no node answers within
    /// [`DEFAULT_TIMEOUT`].
    pub async fn connect_cluster<S: AsRef<str>>(nodes: &[S]) -> Result<Self> {
        if nodes.is_empty() {
            return Err(Error::config(
                BACKEND,
                "the Redis Cluster node list is empty",
            ));
        }
        // Parse each URL here rather than in the builder, so that an error names the position of
        // the bad node without printing it.
        let mut infos = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            let info = redis::IntoConnectionInfo::into_connection_info(node.as_ref())
                .map_err(|e| bad_url(e, &format!("Redis Cluster node URL #{}", i + 1)))?;
            infos.push(info);
        }
        // The driver's default retry backoff waits at least 1.28 s between attempts, longer than
        // a whole operation may take here: a node restart would then outlast the store's timeout
        // for seconds after the node is back. Short, capped waits (10 ms, doubling, at most
        // 250 ms) let a request find the restarted node within one operation; the store's
        // per-operation timeout still bounds the total.
        let client = ClusterClient::builder(infos)
            .connection_timeout(DEFAULT_TIMEOUT)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(250)
            .build()
            .map_err(|e| bad_url(e, "Redis Cluster configuration"))?;
        let conn = timed(DEFAULT_TIMEOUT, client.get_async_connection()).await?;
        Ok(Self::from_connection(
            Link::Cluster(Cluster::new(conn, Some(client))).into(),
        ))
    }

    /// Connects to the primary that Redis Sentinel knows as `master`, through any of
    /// `sentinels` (URLs of the sentinels themselves, `redis://[user:password@]host:26379` or
    /// `rediss://…`; their credentials are the sentinels'). `node` says how to reach the data
    /// nodes: their username and password, TLS, database, as
    /// [`SentinelNodeConnectionInfo`](redis::sentinel::SentinelNodeConnectionInfo).
    ///
    /// The store follows failovers by itself: after `READONLY`, a refused or a dropped
    /// connection it asks Sentinel for the current primary, moves there and retries the command
    /// once; and it listens to every sentinel's `+switch-master` announcement, so that after a
    /// planned switch (`SENTINEL FAILOVER`) it stops writing to the old primary at once. See the
    /// crate documentation's "Deployments" section for the measured behaviour.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed sentinel URL or an empty list (messages never contain
    /// a password); [`Error::Unavailable`] or [`Error::Timeout`] when no sentinel names a
    /// primary that answers as one within [`DEFAULT_TIMEOUT`].
    pub async fn connect_sentinel<S: AsRef<str>>(
        sentinels: &[S],
        master: &str,
        node: redis::sentinel::SentinelNodeConnectionInfo,
    ) -> Result<Self> {
        if sentinels.is_empty() {
            return Err(Error::config(BACKEND, "the Redis Sentinel list is empty"));
        }
        let mut infos = Vec::with_capacity(sentinels.len());
        for (i, sentinel) in sentinels.iter().enumerate() {
            let info = redis::IntoConnectionInfo::into_connection_info(sentinel.as_ref())
                .map_err(|e| bad_url(e, &format!("Redis Sentinel URL #{}", i + 1)))?;
            infos.push(info);
        }
        let failover = Failover::connect(infos, master, node).await?;
        Ok(Self::from_connection(Link::Sentinel(failover).into()))
    }

    /// Makes every write wait until `replicas` replicas have acknowledged it (`WAIT replicas
    /// timeout` on the same connection, after the write), or fail.
    ///
    /// A write (`set`, `write_if`, a touch, a rolling read, `destroy`) that returns `Ok` then
    /// sits in the memory of the primary and of at least `replicas` replicas; with Sentinel, a
    /// failover promotes the replica with the most data, so with one replica (or `replicas`
    /// equal to the number of replicas) no acknowledged write is lost when the primary dies
    /// alone. When fewer replicas acknowledge within `timeout`, the operation fails with
    /// [`Error::Unavailable`] although the primary applied the write: the caller learns that it
    /// may not survive a failover, not that it was undone. Replicas' memory is not disk: losing
    /// the primary and those replicas together can still lose the write.
    ///
    /// Costs one more round trip per write plus the replication delay, and a `WAIT` holds the
    /// store's multiplexed connection for commands queued behind it. Applies to single-node and
    /// Sentinel stores; a cluster store ignores it (with a warning), because `WAIT` would not
    /// reach the node that took the write.
    pub fn with_replica_ack(mut self, replicas: u32, timeout: Duration) -> Self {
        if self.conn.kind() == "cluster" {
            tracing::warn!("with_replica_ack has no effect on a Redis Cluster store");
        }
        self.conn
            .set_replica_ack(Some(ReplicaAck { replicas, timeout }));
        self
    }
}

/// A configuration error for an unparsable URL. The driver's error is kept as the source: its
/// messages are fixed texts ("Redis URL did not parse", "Invalid database number") that never
/// echo the URL, so they cannot leak a password.
pub(crate) fn bad_url(e: redis::RedisError, what: &str) -> Error {
    Error::config_with_source(BACKEND, format!("invalid {what}"), e)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use redis::sentinel::SentinelNodeConnectionInfo;

    use super::*;

    /// A loopback port nothing listens on: bound, then released.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        listener.local_addr().expect("local addr").port()
    }

    /// Everything an error could show: its chain of messages and its `Debug` (which includes
    /// each source's `Debug`).
    fn shown(e: &Error) -> String {
        format!("{} {e:?}", session_core::error_chain(e))
    }

    #[tokio::test]
    async fn malformed_urls_are_config_errors_without_the_password() {
        for url in [
            "redis://:hunter2@",
            "http://:hunter2@127.0.0.1:6379",
            "redis://user:hunter2@127.0.0.1:6379/notadb",
            "redis://user:hunter2@[::1",
            "not a url hunter2",
        ] {
            let err = RedisStore::connect(url).await.expect_err(url);
            assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
            let printed = shown(&err);
            assert!(!printed.contains("hunter2"), "{url} leaked: {printed}");

            let err = RedisStore::connect_cluster(&["redis://127.0.0.1:7101", url])
                .await
                .expect_err(url);
            assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
            let printed = shown(&err);
            assert!(!printed.contains("hunter2"), "{url} leaked: {printed}");

            let err = RedisStore::connect_sentinel(
                &["redis://127.0.0.1:26380", url],
                "m",
                SentinelNodeConnectionInfo::default(),
            )
            .await
            .expect_err(url);
            assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
            let printed = shown(&err);
            assert!(!printed.contains("hunter2"), "{url} leaked: {printed}");
        }
    }

    #[tokio::test]
    async fn an_empty_cluster_node_or_sentinel_list_is_a_config_error() {
        let err = RedisStore::connect_cluster::<&str>(&[])
            .await
            .expect_err("no nodes");
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        let err =
            RedisStore::connect_sentinel::<&str>(&[], "m", SentinelNodeConnectionInfo::default())
                .await
                .expect_err("no sentinels");
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn sentinels_on_closed_ports_fail_fast_and_transiently_without_the_password() {
        let urls = [
            format!("redis://:hunter2@127.0.0.1:{}", closed_port()),
            format!("redis://:hunter2@127.0.0.1:{}", closed_port()),
        ];
        let started = Instant::now();
        let err = RedisStore::connect_sentinel(&urls, "m", SentinelNodeConnectionInfo::default())
            .await
            .expect_err("nothing listens");
        assert!(err.is_transient(), "{err:?}");
        assert!(started.elapsed() < DEFAULT_TIMEOUT + Duration::from_millis(500));
        assert!(!shown(&err).contains("hunter2"));
    }

    #[tokio::test]
    async fn connecting_to_a_closed_port_fails_fast_and_transiently() {
        let url = format!("redis://:hunter2@127.0.0.1:{}", closed_port());
        let started = Instant::now();
        let err = RedisStore::connect(&url)
            .await
            .expect_err("nothing listens");
        assert!(err.is_transient(), "{err:?}");
        assert!(started.elapsed() < DEFAULT_TIMEOUT + Duration::from_millis(500));
        assert!(!shown(&err).contains("hunter2"));

        let started = Instant::now();
        let err = RedisStore::connect_cluster(&[url.as_str()])
            .await
            .expect_err("nothing listens");
        assert!(err.is_transient(), "{err:?}");
        assert!(started.elapsed() < DEFAULT_TIMEOUT + Duration::from_millis(500));
    }

    #[tokio::test]
    async fn connecting_to_a_silent_server_times_out() {
        // Accepts connections and never answers, like a stalled server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let _accept = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let started = Instant::now();
        let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
            .await
            .expect_err("the server never answers");
        assert!(err.is_transient(), "{err:?}");
        assert!(
            started.elapsed() < DEFAULT_TIMEOUT + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
}
