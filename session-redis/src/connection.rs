//! The three connection kinds behind one store (a single node, a cluster, a Sentinel-managed
//! primary), the retry every command goes through, the background rebuild of a failing cluster
//! connection, and the optional wait for replicas after a write.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};
use session_core::{Result, error_chain};
use tokio::time::Instant;

use crate::error::{BACKEND, is_dropped, timed};
use crate::sentinel::Failover;

/// A connection of one of the [`Link`] kinds, and what a write waits for.
#[derive(Clone)]
pub(crate) struct Connection {
    link: Link,
    replica_ack: Option<ReplicaAck>,
}

/// A single node, a cluster or a Sentinel-managed primary. All handles are cheap clones of a
/// multiplexed connection, so a command clones the handle instead of locking it.
#[derive(Clone)]
pub(crate) enum Link {
    Single(ConnectionManager),
    Cluster(Cluster),
    Sentinel(Failover),
}

/// `WAIT replicas timeout` after each write: see `RedisStore::with_replica_ack`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReplicaAck {
    pub(crate) replicas: u32,
    pub(crate) timeout: Duration,
}

impl From<Link> for Connection {
    fn from(link: Link) -> Self {
        Connection {
            link,
            replica_ack: None,
        }
    }
}

/// Least time between the starts of two rebuilds of a cluster connection.
const REBUILD_EVERY: Duration = Duration::from_millis(500);
/// How long one rebuild may take before it is abandoned.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(2);

/// A cluster connection the store replaces when it keeps failing.
///
/// Why: the cluster client repairs its connections itself, but after every node refused
/// connections for a while it can stay unusable for seconds after the nodes are back (the fault
/// tests saw more than 2 s). A freshly built connection works at once. So after a transient
/// failure the store builds a new one in the background (one at a time, at most every
/// [`REBUILD_EVERY`]) and swaps it in; requests in flight finish on the old one.
#[derive(Clone)]
pub(crate) struct Cluster {
    conn: Arc<RwLock<ClusterConnection>>,
    /// The client that made `conn`, when the store made it; a connection handed in by the
    /// caller (`RedisStore::from_cluster`) cannot be rebuilt and relies on the driver alone.
    client: Option<Arc<ClusterClient>>,
    gate: Arc<RebuildGate>,
}

impl Cluster {
    pub(crate) fn new(conn: ClusterConnection, client: Option<ClusterClient>) -> Self {
        Cluster {
            conn: Arc::new(RwLock::new(conn)),
            client: client.map(Arc::new),
            gate: Arc::new(RebuildGate::default()),
        }
    }

    pub(crate) fn current(&self) -> ClusterConnection {
        match self.conn.read() {
            Ok(conn) => conn.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Starts building a replacement connection unless one is being built or was started
    /// recently.
    fn rebuild_soon(&self) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let Some(permit) = self.gate.try_start(Instant::now()) else {
            return;
        };
        let conn = Arc::clone(&self.conn);
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(fresh) = connect_again(&client).await {
                match conn.write() {
                    Ok(mut current) => *current = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
            }
        });
    }
}

/// A new connection from `client`, or `None` after logging why there is none.
///
/// A failure is logged, not returned: nobody waits for a rebuild, and the store keeps serving
/// on the old connection, so without the log an operator would see only the operations' own
/// errors and never learn that recovery is failing too. The logged error chain holds neither a
/// password (the driver's messages never echo a URL's user info) nor a session key (a rebuild
/// sends no command).
async fn connect_again(client: &ClusterClient) -> Option<ClusterConnection> {
    match timed(REBUILD_TIMEOUT, client.get_async_connection()).await {
        Ok(fresh) => {
            tracing::debug!("rebuilt the Redis Cluster connection");
            Some(fresh)
        }
        Err(e) => {
            tracing::warn!(
                error = %error_chain(&e),
                "rebuilding the Redis Cluster connection failed; keeping the old one until the \
                 next transient error",
            );
            None
        }
    }
}

/// Lets one rebuild run at a time, and starts at most one every [`REBUILD_EVERY`].
///
/// On the monotonic clock: a wall clock stepped back (NTP, a resumed VM) would hold rebuilds
/// off until it caught up, and one stepped forward would let them run back to back. A std
/// mutex, not tokio's: it is held for two field updates and never across an `.await`.
#[derive(Debug, Default)]
struct RebuildGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    last_start: Option<Instant>,
    running: bool,
}

/// A running rebuild; dropping it (the rebuild finished, failed or panicked) opens the gate.
struct RebuildPermit(Arc<RebuildGate>);

impl RebuildGate {
    fn try_start(self: &Arc<Self>, now: Instant) -> Option<RebuildPermit> {
        let mut state = self.lock();
        let too_soon = state
            .last_start
            .is_some_and(|last| now.saturating_duration_since(last) < REBUILD_EVERY);
        if state.running || too_soon {
            return None;
        }
        state.running = true;
        state.last_start = Some(now);
        Some(RebuildPermit(Arc::clone(self)))
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for RebuildPermit {
    fn drop(&mut self) {
        self.0.lock().running = false;
    }
}

impl Connection {
    /// What kind of connection this is, for `Debug` (never the address or credentials).
    pub(crate) fn kind(&self) -> &'static str {
        match self.link {
            Link::Single(_) => "single node",
            Link::Cluster(_) => "cluster",
            Link::Sentinel(_) => "sentinel",
        }
    }

    /// The link, for commands that pick their node themselves (`SCAN` on every primary).
    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    /// Whether keys of different slots may live on different nodes (a cluster), so that one
    /// script must not touch both a session and its owner's index.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.link, Link::Cluster(_))
    }

    /// Whether writes wait for replicas, as [`ReplicaAck`] says (`None`: they do not).
    pub(crate) fn set_replica_ack(&mut self, ack: Option<ReplicaAck>) {
        self.replica_ack = ack;
    }

    async fn query_once<T: FromRedisValue>(&self, cmd: &Cmd) -> redis::RedisResult<T> {
        let wait = self.replica_ack.filter(|_| is_write(cmd));
        match self.link.clone() {
            Link::Single(mut conn) => {
                let value = cmd.query_async(&mut conn).await?;
                acked(&mut conn, wait).await.map(|()| value)
            }
            Link::Cluster(cluster) => cmd.query_async(&mut cluster.current()).await,
            Link::Sentinel(failover) => {
                let mut conn = failover.current().await;
                let value = cmd.query_async(&mut conn).await?;
                acked(&mut conn, wait).await.map(|()| value)
            }
        }
    }

    async fn invoke_once<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        let wait = self.replica_ack;
        match self.link.clone() {
            Link::Single(mut conn) => {
                let value = script.invoke_async(&mut conn).await?;
                acked(&mut conn, wait).await.map(|()| value)
            }
            Link::Cluster(cluster) => script.invoke_async(&mut cluster.current()).await,
            Link::Sentinel(failover) => {
                let mut conn = failover.current().await;
                let value = script.invoke_async(&mut conn).await?;
                acked(&mut conn, wait).await.map(|()| value)
            }
        }
    }

    /// Whether a command that failed with `e` gets its one retry: after a dropped connection,
    /// and on a Sentinel-managed primary after `READONLY` or a refused or dropped connection
    /// once Sentinel named a primary to retry on.
    async fn retry_after(&self, e: &redis::RedisError) -> bool {
        match &self.link {
            Link::Sentinel(failover) => failover.recover(e).await,
            Link::Single(_) | Link::Cluster(_) => is_dropped(e),
        }
    }

    /// Runs a script (`EVALSHA`, and `SCRIPT LOAD` + `EVALSHA` when the server answers
    /// `NOSCRIPT`) with the same retry and deadline as [`query`](Self::query). Only for scripts
    /// that give the same answer when run twice: see `write_if` in `store.rs`.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
        timeout: Duration,
    ) -> Result<T> {
        self.attempt(timeout, || self.invoke_once(script)).await
    }

    /// Runs `once`, and once more when [`retry_after`](Self::retry_after) says so, both within
    /// `timeout`; then [`finish`](Self::finish). The one retry policy of every request.
    async fn attempt<T, F>(&self, timeout: Duration, once: impl Fn() -> F) -> Result<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let attempts = async {
            match once().await {
                Err(e) if self.retry_after(&e).await => once().await,
                other => other,
            }
        };
        self.finish(timed(timeout, attempts).await)
    }

    /// Starts a rebuild of a cluster connection after a transient error.
    pub(crate) fn finish<T>(&self, result: Result<T>) -> Result<T> {
        if let (Err(e), Link::Cluster(cluster)) = (&result, &self.link) {
            if e.is_transient() {
                cluster.rebuild_soon();
            }
        }
        result
    }

    /// Runs `cmd`, retrying once when the connection was dropped (or, on a Sentinel-managed
    /// primary, when the primary moved), all within `timeout`.
    ///
    /// One retry because a dropped connection is usually a server restart or a load balancer
    /// closing an idle socket: the `ConnectionManager` has already started reconnecting, and the
    /// second attempt waits for the new connection. More retries would only hide a real outage
    /// behind the timeout. Retrying is safe because every command this store sends is
    /// idempotent (`GET`, `GETEX … PX`, `SET … PX`, `PEXPIRE`, `DEL` give the same result when
    /// applied twice; the conditional-write script, run by [`invoke`](Self::invoke), recognises
    /// its own earlier write). After `READONLY` or a refused connection the command did not run
    /// at all.
    ///
    /// The deadline covers both attempts, so a stalled server costs the caller `timeout`, never
    /// more.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd, timeout: Duration) -> Result<T> {
        self.attempt(timeout, || self.query_once(cmd)).await
    }

    /// Runs a pipeline of read-only commands (no `WAIT` follows it) with the retry and deadline
    /// of [`query`](Self::query): the rolling read's `GET` + `PTTL` of one key, which a cluster
    /// sends to the key's node in one round trip.
    pub(crate) async fn query_reads<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        timeout: Duration,
    ) -> Result<T> {
        self.attempt(timeout, || async {
            match self.link.clone() {
                Link::Single(mut conn) => pipe.query_async(&mut conn).await,
                Link::Cluster(cluster) => pipe.query_async(&mut cluster.current()).await,
                Link::Sentinel(failover) => pipe.query_async(&mut failover.current().await).await,
            }
        })
        .await
    }
}

/// Every command the store sends changes data except a plain `GET`.
fn is_write(cmd: &Cmd) -> bool {
    // The store's read-only commands; everything else it sends writes.
    const READS: [&[u8]; 4] = [b"GET", b"MGET", b"ZRANGE", b"SCAN"];
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) => !READS.iter().any(|r| name.eq_ignore_ascii_case(r)),
        _ => true,
    }
}

/// `WAIT replicas ms` on the connection that just wrote, when `ack` asks for it: an error unless
/// at least `replicas` replicas acknowledged every write this connection made so far.
async fn acked<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    ack: Option<ReplicaAck>,
) -> redis::RedisResult<()> {
    let Some(ack) = ack else {
        return Ok(());
    };
    let ms = u64::try_from(ack.timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let acknowledged: u32 = redis::cmd("WAIT")
        .arg(ack.replicas)
        .arg(ms)
        .query_async(conn)
        .await?;
    if acknowledged < ack.replicas {
        return Err(redis::RedisError::from((
            // Mapped to `Error::Unavailable`, like a primary without its replicas.
            redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown),
            "the write reached the primary but too few replicas acknowledged it in time",
            format!("{acknowledged} of {} replicas ({BACKEND})", ack.replicas),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_run_one_at_a_time_and_start_at_most_every_interval() {
        let gate = Arc::new(RebuildGate::default());
        let t0 = Instant::now();
        let first = gate.try_start(t0).expect("the first rebuild starts");
        assert!(
            gate.try_start(t0 + 2 * REBUILD_EVERY).is_none(),
            "a second rebuild started while the first was running"
        );
        drop(first);
        assert!(
            gate.try_start(t0 + REBUILD_EVERY / 2).is_none(),
            "a rebuild started sooner than REBUILD_EVERY after the last"
        );
        assert!(gate.try_start(t0 + REBUILD_EVERY).is_some());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_rebuild_is_logged_without_the_password() {
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = ClusterClient::new(vec![format!(
            "redis://user:hunter2@127.0.0.1:{closed_port}"
        )])
        .unwrap();
        let logs = session_testkit::capture_logs();

        assert!(connect_again(&client).await.is_none());

        let printed = logs.text();
        assert!(
            printed.contains("WARN") && printed.contains("rebuilding the Redis Cluster"),
            "{printed}"
        );
        assert!(
            printed.contains("Connection refused"),
            "the log does not say why: {printed}"
        );
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
