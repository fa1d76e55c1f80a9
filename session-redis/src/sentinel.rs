//! Following a primary that Redis Sentinel manages.
//!
//! The store talks to the primary over one multiplexed connection, and moves to the primary
//! Sentinel names in two ways:
//!
//! - **on an error that says the primary is gone or demoted**: `READONLY` (the node was turned
//!   into a replica), a refused connection or a dropped one. The failing command asks Sentinel
//!   for the current primary, connects to it (Sentinel's answer is checked with `ROLE`), and is
//!   retried once there. Concurrent failures share one lookup.
//! - **on Sentinel's announcements**, which a background task per sentinel listens to. This
//!   matters for a planned switch (`SENTINEL FAILOVER`): the old primary stays up and keeps
//!   accepting writes for up to about ten seconds, until Sentinel reconfigures it as a replica,
//!   and those writes would be lost when it resynchronises. On `+selected-slave` (the leading
//!   sentinel chose the replica it is about to promote) commands stop going to the old primary
//!   and wait, at most [`DEFAULT_TIMEOUT`], until the chosen replica answers `ROLE` as a primary,
//!   then run there; on `+switch-master` (the failover is complete, announced by every
//!   sentinel) the store moves to the new primary if it has not already.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{AsyncConnectionConfig, ConnectionInfo, ErrorKind, RedisResult, ServerErrorKind};
use session_core::error_chain;
use tokio::task::AbortHandle;

use crate::DEFAULT_TIMEOUT;
use crate::error::{is_dropped, timed};

/// Sentinel's channel for a completed failover: `<master name> <old ip> <old port> <new ip>
/// <new port>`.
const SWITCH_CHANNEL: &str = "+switch-master";
/// Sentinel's channel for the replica chosen for promotion: `slave <name> <ip> <port> @
/// <master name> <master ip> <master port>`.
const SELECTED_CHANNEL: &str = "+selected-slave";
/// How often a chosen replica is asked whether it is a primary yet.
const PROMOTION_POLL: Duration = Duration::from_millis(10);
/// Wait before a listener reconnects to a sentinel it lost.
const LISTEN_RETRY: Duration = Duration::from_millis(500);

/// A connection to whichever node Sentinel names as the primary of `master`.
#[derive(Clone)]
pub(crate) struct Failover {
    shared: Arc<Shared>,
}

struct Shared {
    master: String,
    /// How to reach the data nodes (credentials, TLS, database).
    node: SentinelNodeConnectionInfo,
    /// The sentinels. The lock also lets one lookup run at a time.
    sentinel: tokio::sync::Mutex<Sentinel>,
    current: RwLock<Primary>,
    /// Lookups finished, successful or not, and the number of the last successful one: a
    /// command that waited for someone else's lookup uses its outcome instead of repeating it.
    lookups: AtomicU64,
    last_success: AtomicU64,
    /// Set while a lookup after Sentinel's announcement runs: commands wait for it instead of
    /// going to the old primary.
    switching: AtomicBool,
    /// The `+switch-master` listeners, stopped when the last store clone goes.
    listeners: std::sync::Mutex<Vec<AbortHandle>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let listeners = match self.listeners.get_mut() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        for listener in listeners.drain(..) {
            listener.abort();
        }
    }
}

/// The connection to the primary, and its address as `host:port`.
#[derive(Clone)]
struct Primary {
    addr: String,
    conn: MultiplexedConnection,
}

/// `true` for an error after which the primary should be looked up again: the node answered
/// `READONLY` (it is a replica now), refused the connection, or the connection dropped.
pub(crate) fn primary_may_have_moved(e: &redis::RedisError) -> bool {
    matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ReadOnly)) || is_dropped(e)
}

impl Failover {
    /// Asks `sentinels` for the primary of `master`, connects to it, and starts listening for
    /// failovers. Bounded by [`DEFAULT_TIMEOUT`].
    pub(crate) async fn connect(
        sentinels: Vec<ConnectionInfo>,
        master: &str,
        node: SentinelNodeConnectionInfo,
    ) -> session_core::Result<Self> {
        let mut sentinel = Sentinel::build(sentinels.clone())
            .map_err(|e| crate::connect::bad_url(e, "Redis Sentinel address"))?;
        let conn = timed(DEFAULT_TIMEOUT, primary(&mut sentinel, master, &node)).await?;
        let shared = Arc::new(Shared {
            master: master.to_owned(),
            node,
            sentinel: tokio::sync::Mutex::new(sentinel),
            current: RwLock::new(conn),
            lookups: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            switching: AtomicBool::new(false),
            listeners: std::sync::Mutex::new(Vec::new()),
        });
        let listeners = sentinels
            .into_iter()
            .map(|info| tokio::spawn(listen(info, Arc::downgrade(&shared))).abort_handle())
            .collect();
        match shared.listeners.lock() {
            Ok(mut l) => *l = listeners,
            Err(poisoned) => *poisoned.into_inner() = listeners,
        }
        Ok(Failover { shared })
    }

    /// The connection to the primary as last looked up; while Sentinel's announcement of a new
    /// primary is being acted on, the connection to the new one.
    pub(crate) async fn current(&self) -> MultiplexedConnection {
        if self.shared.switching.load(Ordering::Acquire) {
            drop(self.shared.sentinel.lock().await);
        }
        self.shared.primary().conn
    }

    /// After `e`, moves to the primary Sentinel names now when `e` says the old one is gone or
    /// demoted; `true` when the caller should retry its command (on [`current`](Self::current)).
    ///
    /// A command that waited while another one looked the primary up uses that lookup's outcome
    /// rather than asking again, so a burst of failures costs one lookup.
    pub(crate) async fn recover(&self, e: &redis::RedisError) -> bool {
        if !primary_may_have_moved(e) {
            return false;
        }
        let seen = self.shared.lookups.load(Ordering::Acquire);
        let mut sentinel = self.shared.sentinel.lock().await;
        if self.shared.lookups.load(Ordering::Acquire) != seen {
            return self.shared.last_success.load(Ordering::Acquire) > seen;
        }
        self.shared.look_up(&mut sentinel).await
    }
}

impl Shared {
    fn replace(&self, primary: Primary) {
        match self.current.write() {
            Ok(mut current) => *current = primary,
            Err(poisoned) => *poisoned.into_inner() = primary,
        }
    }

    fn primary(&self) -> Primary {
        match self.current.read() {
            Ok(primary) => primary.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Asks Sentinel for the primary and switches to it; `true` on success. The caller holds
    /// the sentinel lock.
    async fn look_up(&self, sentinel: &mut Sentinel) -> bool {
        // Bounded: commands may be waiting for the sentinel lock.
        let found = timed(DEFAULT_TIMEOUT, primary(sentinel, &self.master, &self.node)).await;
        let n = self.lookups.load(Ordering::Acquire) + 1;
        let ok = match found {
            Ok(primary) => {
                self.replace(primary);
                self.last_success.store(n, Ordering::Release);
                true
            }
            Err(e) => {
                tracing::debug!(error = %error_chain(&e), "no Redis primary from Sentinel yet");
                false
            }
        };
        self.lookups.store(n, Ordering::Release);
        ok
    }
}

impl Shared {
    /// Waits (at most [`DEFAULT_TIMEOUT`]) until the replica at `addr`, chosen for promotion,
    /// answers `ROLE` as a primary, and moves there; stays on the old primary otherwise.
    async fn await_promotion(&self, sentinel: &mut Sentinel, addr: &str) {
        let promoted = async {
            let clients = sentinel
                .async_get_replica_clients(&self.master, Some(&self.node))
                .await?;
            let Some(client) = clients
                .into_iter()
                .find(|c| c.get_connection_info().addr().to_string() == addr)
            else {
                return Err(redis::RedisError::from((
                    ErrorKind::NoValidReplicasFoundBySentinel,
                    "the replica chosen for promotion is not among the valid replicas",
                )));
            };
            // Sentinel promotes the replica with `REPLICAOF NO ONE` and `CLIENT KILL TYPE
            // normal` in one transaction: a connection from before is cut, one opened after
            // the replica answers as a primary is not.
            loop {
                let conn = client
                    .get_multiplexed_async_connection_with_config(&connection_config())
                    .await;
                if let Ok(mut conn) = conn {
                    let role: RedisResult<redis::Role> =
                        redis::cmd("ROLE").query_async(&mut conn).await;
                    if let Ok(redis::Role::Primary { .. }) = role {
                        return Ok(Primary {
                            addr: addr.to_owned(),
                            conn,
                        });
                    }
                }
                tokio::time::sleep(PROMOTION_POLL).await;
            }
        };
        match timed(DEFAULT_TIMEOUT, promoted).await {
            Ok(primary) => self.replace(primary),
            Err(e) => tracing::warn!(
                error = %error_chain(&e),
                "the replica Sentinel chose was not promoted in time; staying on the old primary",
            ),
        }
    }
}

/// The data nodes' connection settings: see `RedisStore::connect`.
fn connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(DEFAULT_TIMEOUT))
        .set_response_timeout(None)
}

/// A connection to the primary Sentinel names for `master`, after `ROLE` confirmed it.
async fn primary(
    sentinel: &mut Sentinel,
    master: &str,
    node: &SentinelNodeConnectionInfo,
) -> RedisResult<Primary> {
    let client = sentinel.async_master_for(master, Some(node)).await?;
    let addr = client.get_connection_info().addr().to_string();
    let conn = client
        .get_multiplexed_async_connection_with_config(&connection_config())
        .await?;
    Ok(Primary { addr, conn })
}

/// Listens on one sentinel for `+switch-master` of the store's master and moves the store at
/// once; reconnects after losing the sentinel. Ends when the store is gone.
async fn listen(sentinel: ConnectionInfo, shared: Weak<Shared>) {
    loop {
        if let Err(e) = listen_once(&sentinel, &shared).await {
            tracing::debug!(error = %error_chain(&e), "lost a Sentinel subscription; retrying");
        }
        if shared.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

async fn listen_once(sentinel: &ConnectionInfo, shared: &Weak<Shared>) -> RedisResult<()> {
    let client = redis::Client::open(sentinel.clone())?;
    // The announcing sentinel is asked for the new primary: the others may not know yet, and
    // would name the old primary, which still answers `ROLE` as a primary.
    let mut announcer = Sentinel::build(vec![sentinel.clone()])?;
    let mut pubsub = tokio::time::timeout(DEFAULT_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| redis::RedisError::from((ErrorKind::Io, "Sentinel did not answer")))??;
    pubsub
        .subscribe(&[SWITCH_CHANNEL, SELECTED_CHANNEL])
        .await?;
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let Some(shared) = shared.upgrade() else {
            return Ok(());
        };
        let payload: String = message.get_payload()?;
        let fields: Vec<&str> = payload.split(' ').collect();
        let (name, new_addr, selected) = match (message.get_channel_name(), &fields[..]) {
            (SWITCH_CHANNEL, [name, _, _, ip, port]) => (*name, format!("{ip}:{port}"), false),
            (SELECTED_CHANNEL, [_, _, ip, port, "@", name, _, _]) => {
                (*name, format!("{ip}:{port}"), true)
            }
            _ => continue,
        };
        // Every sentinel announces the switch: the first announcement moves the store.
        if name != shared.master || shared.primary().addr == new_addr {
            continue;
        }
        tracing::info!("Sentinel announced a new Redis primary; moving there");
        shared.switching.store(true, Ordering::Release);
        let _lookup = shared.sentinel.lock().await;
        if selected {
            shared.await_promotion(&mut announcer, &new_addr).await;
        } else {
            shared.look_up(&mut announcer).await;
        }
        shared.switching.store(false, Ordering::Release);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn readonly_refused_and_dropped_connections_send_the_store_to_sentinel() {
        let readonly = redis::RedisError::from((
            ErrorKind::Server(ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert!(primary_may_have_moved(&readonly));
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
        ] {
            assert!(primary_may_have_moved(&redis::RedisError::from(
                io::Error::from(kind)
            )));
        }
        let answer = redis::RedisError::from((ErrorKind::UnexpectedReturnType, "wrong type"));
        assert!(!primary_may_have_moved(&answer));
        let timeout = redis::RedisError::from(io::Error::from(io::ErrorKind::TimedOut));
        assert!(!primary_may_have_moved(&timeout));
    }
}
