//! Mapping driver errors into [`session_core::Error`].

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

session_sql::sqlx_classify! {
    /// The [`Classify`](session_sql::Classify) of this crate, for [`session_sql::timed`] and
    /// [`session_sql::timed_retry`]. A database that stayed busy is transient; anything else
    /// SQLite answered (a file that cannot be opened, a read-only or corrupt database, a full
    /// disk) is permanent. (sqlx's SQLite driver opens files, never a TLS connection.)
    pub(crate) struct Lite {
        backend: BACKEND,
        options: "invalid SQLite connection options",
        transient: is_busy,
        retryable: is_busy,
    }
}
