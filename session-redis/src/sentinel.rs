//! Following a primary that Redis Sentinel manages.
//!
//! The store talks to the primary over one multiplexed connection, and moves to the primary
//! Sentinel names in two ways:
//!
//! - **on an error that says the primary is gone or demoted**: `READONLY` (the node was turned
//!   into a replica), a refused connection or a dropped one. The failing command asks Sentinel
//!   for the current primary, connects to it (Sentinel's answer is checked with `ROLE`), and is
//!   retried once there. Concurrent failures share one lookup.
//! - **on Sentinel's `+switch-master` announcement**, which every sentinel publishes when it
//!   promotes a replica. A background task per sentinel listens for it. This matters for a
//!   planned switch (`SENTINEL FAILOVER`): the old primary stays up and keeps accepting writes
//!   for up to about ten seconds, until Sentinel reconfigures it as a replica, and those writes
//!   would be lost when it resynchronises. Listening moves the store within milliseconds of the
//!   announcement instead.

use std::sync::atomic::{AtomicU64, Ordering};
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

    /// The connection to the primary as last looked up.
    pub(crate) fn current(&self) -> MultiplexedConnection {
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
    fn primary(&self) -> Primary {
        match self.current.read() {
            Ok(primary) => primary.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Asks Sentinel for the primary and switches to it; `true` on success. The caller holds
    /// the sentinel lock.
    async fn look_up(&self, sentinel: &mut Sentinel) -> bool {
        let found = primary(sentinel, &self.master, &self.node).await;
        let n = self.lookups.load(Ordering::Acquire) + 1;
        let ok = match found {
            Ok(primary) => {
                match self.current.write() {
                    Ok(mut current) => *current = primary,
                    Err(poisoned) => *poisoned.into_inner() = primary,
                }
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

/// A connection to the primary Sentinel names for `master`, after `ROLE` confirmed it.
async fn primary(
    sentinel: &mut Sentinel,
    master: &str,
    node: &SentinelNodeConnectionInfo,
) -> RedisResult<Primary> {
    let client = sentinel.async_master_for(master, Some(node)).await?;
    let addr = client.get_connection_info().addr().to_string();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(DEFAULT_TIMEOUT))
        // The store's per-operation timeout bounds every command; see `RedisStore::connect`.
        .set_response_timeout(None);
    let conn = client
        .get_multiplexed_async_connection_with_config(&config)
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
    let mut pubsub = tokio::time::timeout(DEFAULT_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| redis::RedisError::from((ErrorKind::Io, "Sentinel did not answer")))??;
    pubsub.subscribe(SWITCH_CHANNEL).await?;
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let Some(shared) = shared.upgrade() else {
            return Ok(());
        };
        let payload: String = message.get_payload()?;
        let fields: Vec<&str> = payload.split(' ').collect();
        let [name, _, _, ip, port] = fields[..] else {
            continue;
        };
        // Every sentinel announces the switch: the first announcement moves the store.
        if name != shared.master || shared.primary().addr == format!("{ip}:{port}") {
            continue;
        }
        tracing::info!("Sentinel announced a new Redis primary; moving there");
        let mut sentinel = shared.sentinel.lock().await;
        shared.look_up(&mut sentinel).await;
    }
    Ok(())
}
