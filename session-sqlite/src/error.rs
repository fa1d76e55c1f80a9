//! Mapping driver errors into [`session_core::Error`].

use session_core::Error;
use session_sql::Classify;

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "sqlite";

/// SQLite's primary result codes SQLITE_BUSY (5: another connection holds the write lock longer
/// than the busy timeout, or a WAL checkpoint/recovery is running) and SQLITE_LOCKED (6: a
/// conflict inside one shared cache). Both mean "try again later": nothing was written.
const BUSY: [i32; 2] = [5, 6];

/// The primary result code (the low byte of SQLite's extended code) of a database error.
fn primary_code(err: &sqlx::Error) -> Option<i32> {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        _ => None,
    }
}

/// `true` for a busy or locked database (see [`BUSY`]).
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    primary_code(err).is_some_and(|c| BUSY.contains(&c))
}

/// Maps a sqlx error, keeping it as the source.
///
/// A pool that timed out or closed, I/O errors, a crashed connection worker and a database that
/// stayed busy are [`Error::Unavailable`] (transient); a malformed configuration is
/// [`Error::Config`]; anything else SQLite answered (a file that cannot be opened, a read-only
/// or corrupt database, a full disk) is [`Error::Backend`].
pub(crate) fn map(err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => Error::unavailable(BACKEND, err),
        sqlx::Error::Configuration(_) => {
            Error::config_with_source(BACKEND, "invalid SQLite connection options", err)
        }
        sqlx::Error::Database(_) if is_busy(&err) => Error::unavailable(BACKEND, err),
        other => Error::backend(BACKEND, other),
    }
}

/// The [`Classify`] of this crate, for [`session_sql::timed`] and [`session_sql::timed_retry`].
pub(crate) struct Lite;

impl Classify<sqlx::Error> for Lite {
    const BACKEND: &'static str = BACKEND;
    fn map(err: sqlx::Error) -> Error {
        map(err)
    }
    fn is_retryable(err: &sqlx::Error) -> bool {
        is_busy(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_transient_and_other_errors_permanent() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err = map(sqlx::Error::Io(io));
        assert!(matches!(err, Error::Unavailable { .. }));
        let source = std::error::Error::source(&err).map(|s| s.is::<sqlx::Error>());
        assert_eq!(source, Some(true));
        assert!(map(sqlx::Error::PoolTimedOut).is_transient());
        assert!(matches!(
            map(sqlx::Error::Protocol("bad".into())),
            Error::Backend { .. }
        ));
        assert!(matches!(
            map(sqlx::Error::Configuration("bad".into())),
            Error::Config { .. }
        ));
    }
}
