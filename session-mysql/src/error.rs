//! Mapping driver errors and elapsed timeouts into [`session_core::Error`].

use std::future::Future;
use std::time::Duration;

use session_core::Error;
use sqlx::mysql::MySqlDatabaseError;

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "mysql";

/// Server error numbers that mean "the connection is going away", not "your statement is wrong":
/// 1040 too many connections, 1053 server shutdown in progress, 1927 connection killed
/// (MariaDB), 4031 disconnected by the server for inactivity (MySQL 8.0.24+). They are what a
/// client sees while the server restarts, so they are reported as transient.
const CONNECTION_LOST: [u16; 4] = [1040, 1053, 1927, 4031];

/// Maps a sqlx error, keeping it as the source.
///
/// Anything that means "no usable connection" (pool timed out or closed, I/O errors such as a
/// refused, reset or closed connection, TLS failures, a crashed connection worker) is
/// [`Error::Unavailable`]; a malformed configuration is [`Error::Config`]; whatever the server
/// answered is [`Error::Backend`].
pub(crate) fn map(err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::unavailable(BACKEND, err),
        sqlx::Error::Configuration(_) => Error::Config {
            backend: BACKEND,
            message: "invalid MySQL connection options".to_owned(),
            source: Some(Box::new(err)),
        },
        sqlx::Error::Database(ref db)
            if db
                .try_downcast_ref::<MySqlDatabaseError>()
                .is_some_and(|e| CONNECTION_LOST.contains(&e.number())) =>
        {
            Error::unavailable(BACKEND, err)
        }
        other => Error::backend(BACKEND, other),
    }
}

/// Runs `fut` under `timeout`, mapping a driver error with [`map`] and an elapsed timeout to
/// [`Error::Timeout`]. A dropped future cancels the statement from the client's side; sqlx then
/// discards or resynchronises that connection before reusing it.
pub(crate) async fn timed<T>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, sqlx::Error>>,
) -> session_core::Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result.map_err(map),
        Err(_) => Err(Error::Timeout {
            backend: BACKEND,
            after: timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_transient_and_keep_their_source() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let err = map(sqlx::Error::Io(io));
        assert!(matches!(err, Error::Unavailable { .. }));
        let source = std::error::Error::source(&err).map(|s| s.is::<sqlx::Error>());
        assert_eq!(source, Some(true));
        assert!(map(sqlx::Error::PoolTimedOut).is_transient());
        assert!(map(sqlx::Error::PoolClosed).is_transient());
    }

    #[test]
    fn other_errors_are_permanent() {
        assert!(matches!(
            map(sqlx::Error::Protocol("bad packet".into())),
            Error::Backend { .. }
        ));
        assert!(matches!(
            map(sqlx::Error::Configuration("bad".into())),
            Error::Config { .. }
        ));
    }

    #[tokio::test]
    async fn an_elapsed_timeout_is_a_timeout_error() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, sqlx::Error>(())
        };
        let err = timed(Duration::from_millis(10), slow).await;
        assert!(
            matches!(err, Err(Error::Timeout { after, .. }) if after == Duration::from_millis(10))
        );
    }
}
