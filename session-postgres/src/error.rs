//! Mapping driver errors into [`session_core::Error`].

use session_core::Error;
use session_sql::Classify;

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "postgres";

/// SQLSTATE codes after which the same statement may succeed when run again: 40001
/// (serialization_failure) and 40P01 (deadlock_detected, this statement was the victim and was
/// rolled back). Every statement of this crate runs alone, in its own implicit transaction, so a
/// rolled-back statement left nothing behind.
const RETRYABLE: [&str; 2] = ["40001", "40P01"];

/// SQLSTATE codes that mean "the server or the connection is going away", not "your statement is
/// wrong": 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
/// in recovery), 53300 too_many_connections, 55P03 lock_not_available, 57014 query_canceled
/// (statement_timeout), and every class 08 (connection exception) code.
const CONNECTION_LOST: [&str; 6] = ["57P01", "57P02", "57P03", "53300", "55P03", "57014"];

/// The SQLSTATE of a database error, if `err` is one.
fn sqlstate(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// `true` for a serialization failure or a deadlock (see [`RETRYABLE`]).
pub(crate) fn is_retryable(err: &sqlx::Error) -> bool {
    sqlstate(err).is_some_and(|c| RETRYABLE.contains(&c.as_str()))
}

/// Maps a sqlx error, keeping it as the source.
///
/// Anything that means "no usable connection" (pool timed out or closed, I/O errors such as a
/// refused, reset or closed connection, TLS failures, a crashed connection worker, a server
/// shutting down) and a conflict that outlasted its retries are [`Error::Unavailable`]; a
/// malformed configuration is [`Error::Config`]; whatever else the server answered is
/// [`Error::Backend`].
pub(crate) fn map(err: sqlx::Error) -> Error {
    let transient_code = sqlstate(&err).is_some_and(|c| {
        c.starts_with("08")
            || CONNECTION_LOST.contains(&c.as_str())
            || RETRYABLE.contains(&c.as_str())
    });
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::unavailable(BACKEND, err),
        sqlx::Error::Configuration(_) => {
            Error::config_with_source(BACKEND, "invalid PostgreSQL connection options", err)
        }
        sqlx::Error::Database(_) if transient_code => Error::unavailable(BACKEND, err),
        other => Error::backend(BACKEND, other),
    }
}

/// The [`Classify`] of this crate, for [`session_sql::timed`] and [`session_sql::timed_retry`].
pub(crate) struct Pg;

impl Classify<sqlx::Error> for Pg {
    const BACKEND: &'static str = BACKEND;
    fn map(err: sqlx::Error) -> Error {
        map(err)
    }
    fn is_retryable(err: &sqlx::Error) -> bool {
        is_retryable(err)
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
        assert!(!is_retryable(&sqlx::Error::RowNotFound));
    }
}
