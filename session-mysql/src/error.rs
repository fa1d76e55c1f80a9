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

/// InnoDB gave up on a statement because of another transaction's locks: 1213 (deadlock, this
/// statement was chosen as the victim and rolled back) and 1205 (lock wait timeout). Every
/// statement of this crate runs alone in autocommit mode, so a rolled-back statement left nothing
/// behind and is safe to run again; [`timed_retry`] does so, and reports a conflict that outlasts
/// its retries as transient.
const LOCK_CONFLICT: [u16; 2] = [1213, 1205];

/// How many times [`timed_retry`] runs a statement that keeps losing lock conflicts.
pub(crate) const LOCK_CONFLICT_ATTEMPTS: u32 = 5;

/// The server error number of a database error, if `err` is one.
fn server_error_number(err: &sqlx::Error) -> Option<u16> {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|e| e.number()),
        _ => None,
    }
}

/// `true` for a deadlock or lock wait timeout (see [`LOCK_CONFLICT`]).
pub(crate) fn is_lock_conflict(err: &sqlx::Error) -> bool {
    server_error_number(err).is_some_and(|n| LOCK_CONFLICT.contains(&n))
}

/// `true` for ER_DUP_FIELDNAME (1060): an `ALTER TABLE … ADD COLUMN` lost the race with another
/// process adding the same column.
pub(crate) fn is_duplicate_column(err: &sqlx::Error) -> bool {
    server_error_number(err) == Some(1060)
}

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
        sqlx::Error::Configuration(_) => {
            Error::config_with_source(BACKEND, "invalid MySQL connection options", err)
        }
        sqlx::Error::Database(_)
            if server_error_number(&err)
                .is_some_and(|n| CONNECTION_LOST.contains(&n) || LOCK_CONFLICT.contains(&n)) =>
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
        Err(_) => Err(Error::timeout(BACKEND, timeout)),
    }
}

/// Runs the statement(s) `attempt` builds under `timeout`, as [`timed`] does, and runs them
/// again, up to [`LOCK_CONFLICT_ATTEMPTS`] times in all, when InnoDB rolled them back for a lock
/// conflict. Only for statements that are safe to repeat (every statement of the store is: each
/// either fully happened or, rolled back, did not happen at all).
pub(crate) async fn timed_retry<T, F, Fut>(
    timeout: Duration,
    mut attempt: F,
) -> session_core::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    timed(timeout, async {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e) if is_lock_conflict(&e) && tries < LOCK_CONFLICT_ATTEMPTS => {
                    tracing::debug!(
                        tries,
                        "mysql statement lost a lock conflict; running it again"
                    );
                    // The winner of the conflict holds its locks until it commits, a fraction of
                    // a millisecond for these one-row statements; give it that long.
                    tokio::time::sleep(Duration::from_millis(u64::from(tries))).await;
                    tries += 1;
                }
                result => return result,
            }
        }
    })
    .await
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
