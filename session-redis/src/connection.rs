//! The two connection kinds behind one store, and the timeout-and-retry wrapper every command
//! goes through.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue};
use session_core::Result;

use crate::error::{is_dropped, map, timed_out};

/// A single node or a cluster. Both handles are cheap clones of a multiplexed connection, so a
/// command clones the handle instead of locking it.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
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
            Connection::Cluster(mut conn) => cmd.query_async(&mut conn).await,
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
        match tokio::time::timeout(timeout, attempts).await {
            Ok(result) => result.map_err(|e| map(e, timeout)),
            Err(_) => Err(timed_out(timeout)),
        }
    }
}
