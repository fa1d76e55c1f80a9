//! Mapping `redis` errors into the core [`Error`], and the per-operation timeout.

use std::time::Duration;

use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};
use session_core::{Error, Result};

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "redis";

/// `true` when the driver says the connection is gone, so one retry on a fresh connection may
/// succeed. The `ConnectionManager` has already started reconnecting when it returns such an
/// error.
pub(crate) fn is_dropped(e: &RedisError) -> bool {
    e.is_connection_dropped() || e.is_connection_refusal() || e.is_unrecoverable_error()
}

/// Maps a driver error, keeping it as the source.
///
/// - timeouts (the driver's own connect or response timeout) → [`Error::Timeout`];
/// - anything that means "no healthy server right now" (refused, reset, I/O, cluster down or
///   reconfiguring, node still loading its data set) → [`Error::Unavailable`];
/// - a bad URL or failed authentication → [`Error::Config`];
/// - everything else the server answered (wrong type, OOM, no permission) → [`Error::Backend`].
pub(crate) fn map(e: RedisError, timeout: Duration) -> Error {
    if e.is_timeout() {
        return Error::timeout(BACKEND, timeout);
    }
    match e.kind() {
        ErrorKind::InvalidClientConfig => {
            Error::config_with_source(BACKEND, "invalid Redis client configuration", e)
        }
        ErrorKind::AuthenticationFailed => {
            Error::config_with_source(BACKEND, "authentication with the Redis server failed", e)
        }
        // MOVED / ASK reach us only when the cluster client ran out of redirects: the slot map
        // is changing under it (a failover, a restarted node, a reshard). That settles by
        // itself, so it is transient like CLUSTERDOWN and TRYAGAIN.
        ErrorKind::EmptySentinelList => {
            Error::config_with_source(BACKEND, "no Redis Sentinel address was given", e)
        }
        // No sentinel names a healthy primary right now: during a failover, until the replica
        // is promoted.
        ErrorKind::Io
        | ErrorKind::MasterNameNotFoundBySentinel
        | ErrorKind::ClusterConnectionNotFound
        | ErrorKind::Server(
            ServerErrorKind::Moved
            | ServerErrorKind::Ask
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::TryAgain
            | ServerErrorKind::BusyLoading
            | ServerErrorKind::ReadOnly,
        ) => Error::unavailable(BACKEND, e),
        _ if is_dropped(&e) => Error::unavailable(BACKEND, e),
        _ => Error::backend(BACKEND, e),
    }
}

/// Runs one driver operation (a command with its retry, or a connection attempt) for at most
/// `timeout`: past it the operation is dropped and the caller gets [`Error::Timeout`]; a driver
/// error is [mapped](map). Dropping a `redis` future mid-command is safe: the multiplexed
/// connection discards the late answer.
pub(crate) async fn timed<T>(
    timeout: Duration,
    op: impl Future<Output = RedisResult<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, op).await {
        Ok(result) => result.map_err(|e| map(e, timeout)),
        Err(_) => Err(Error::timeout(BACKEND, timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn dropped_and_refused_connections_are_unavailable_and_keep_the_source() {
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ] {
            let err = map(RedisError::from(io::Error::from(kind)), T);
            assert!(
                matches!(err, Error::Unavailable { .. }),
                "{kind:?}: {err:?}"
            );
            let source = std::error::Error::source(&err).expect("the redis error is the source");
            assert!(source.downcast_ref::<RedisError>().is_some());
        }
    }

    #[test]
    fn io_timeouts_are_timeouts() {
        let err = map(
            RedisError::from(io::Error::from(io::ErrorKind::TimedOut)),
            T,
        );
        assert!(
            matches!(err, Error::Timeout { after, .. } if after == T),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[test]
    fn server_answers_and_bad_config_are_permanent() {
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "wrong type"));
        assert!(matches!(map(wrong_type, T), Error::Backend { .. }));
        let bad_url = RedisError::from((ErrorKind::InvalidClientConfig, "bad url"));
        let err = map(bad_url, T);
        assert!(matches!(err, Error::Config { .. }) && !err.is_transient());
    }

    #[tokio::test]
    async fn an_operation_that_never_answers_times_out_after_the_given_time() {
        let short = Duration::from_millis(20);
        let err = timed(short, std::future::pending::<RedisResult<()>>())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Timeout { backend: BACKEND, after } if after == short),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn timed_maps_the_driver_error() {
        let refused = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        let err = timed(T, async { Err::<(), _>(refused) }).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    }

    #[test]
    fn a_dropped_connection_is_retried_but_a_server_answer_is_not() {
        assert!(is_dropped(&RedisError::from(io::Error::from(
            io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_dropped(&RedisError::from((
            ErrorKind::UnexpectedReturnType,
            "wrong type"
        ))));
        assert!(!is_dropped(&RedisError::from(io::Error::from(
            io::ErrorKind::TimedOut
        ))));
    }
}
