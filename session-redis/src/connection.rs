//! The two connection kinds behind one store, and the timeout-and-retry wrapper every command
//! goes through.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue};
use session_core::{Result, now_ms};

use crate::error::{is_dropped, timed};

/// A single node or a cluster. Both handles are cheap clones of a multiplexed connection, so a
/// command clones the handle instead of locking it.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(Cluster),
}

/// Least time between two rebuilds of a cluster connection.
const REBUILD_EVERY_MS: i64 = 500;
/// How long one rebuild may take before it is abandoned.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(2);

/// A cluster connection the store replaces when it keeps failing.
///
/// Why: the cluster client repairs its connections itself, but after every node refused
/// connections for a while it can stay unusable for seconds after the nodes are back (the fault
/// tests saw more than 2 s). A freshly built connection works at once. So after a transient
/// failure the store builds a new one in the background (one at a time, at most every
/// `REBUILD_EVERY_MS`) and swaps it in; requests in flight finish on the old one.
#[derive(Clone)]
pub(crate) struct Cluster {
    conn: Arc<RwLock<ClusterConnection>>,
    /// The client that made `conn`, when the store made it; a connection handed in by the
    /// caller (`RedisStore::from_cluster`) cannot be rebuilt and relies on the driver alone.
    client: Option<Arc<ClusterClient>>,
    /// When the last rebuild started, epoch ms (0: never).
    last_rebuild: Arc<AtomicI64>,
    /// A rebuild is running.
    rebuilding: Arc<AtomicBool>,
}

impl Cluster {
    pub(crate) fn new(conn: ClusterConnection, client: Option<ClusterClient>) -> Self {
        Cluster {
            conn: Arc::new(RwLock::new(conn)),
            client: client.map(Arc::new),
            last_rebuild: Arc::new(AtomicI64::new(0)),
            rebuilding: Arc::new(AtomicBool::new(false)),
        }
    }

    fn current(&self) -> ClusterConnection {
        match self.conn.read() {
            Ok(conn) => conn.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Starts building a replacement connection unless one was started recently.
    fn rebuild_soon(&self) {
        let Some(client) = self.client.clone() else {
            return;
        };
        if now_ms() - self.last_rebuild.load(Ordering::Relaxed) < REBUILD_EVERY_MS
            || self
                .rebuilding
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.last_rebuild.store(now_ms(), Ordering::Relaxed);
        let (conn, rebuilding) = (Arc::clone(&self.conn), Arc::clone(&self.rebuilding));
        tokio::spawn(async move {
            if let Ok(fresh) = timed(REBUILD_TIMEOUT, client.get_async_connection()).await {
                match conn.write() {
                    Ok(mut current) => *current = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
            }
            rebuilding.store(false, Ordering::Release);
        });
    }
}

impl Connection {
    /// What kind of connection this is, for `Debug` (never the address or credentials).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Connection::Single(_) => "single node",
            Connection::Cluster(_) => "cluster",
        }
    }

    async fn query_once<T: FromRedisValue>(&self, cmd: &Cmd) -> redis::RedisResult<T> {
        match self.clone() {
            Connection::Single(mut conn) => cmd.query_async(&mut conn).await,
            Connection::Cluster(cluster) => cmd.query_async(&mut cluster.current()).await,
        }
    }

    /// Runs `cmd`, retrying once when the connection was dropped, all within `timeout`.
    ///
    /// One retry because a dropped connection is usually a server restart or a load balancer
    /// closing an idle socket: the `ConnectionManager` has already started reconnecting, and the
    /// second attempt waits for the new connection. More retries would only hide a real outage
    /// behind the timeout. Retrying is safe because every command this store sends is
    /// idempotent (`GET`, `GETEX … PX`, `SET … PX`, `PEXPIRE`, `DEL` give the same result when
    /// applied twice).
    ///
    /// The deadline covers both attempts, so a stalled server costs the caller `timeout`, never
    /// more.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd, timeout: Duration) -> Result<T> {
        let attempts = async {
            match self.query_once(cmd).await {
                Err(e) if is_dropped(&e) => self.query_once(cmd).await,
                other => other,
            }
        };
        let result = timed(timeout, attempts).await;
        if let (Err(e), Connection::Cluster(cluster)) = (&result, self) {
            if e.is_transient() {
                cluster.rebuild_soon();
            }
        }
        result
    }
}
