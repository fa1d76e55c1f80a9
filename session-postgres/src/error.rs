//! Mapping driver errors into [`session_core::Error`].

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

/// `true` for a server shutting down, a lost connection (see [`CONNECTION_LOST`]) and a conflict
/// that outlasted its retries.
fn is_transient(err: &sqlx::Error) -> bool {
    sqlstate(err).is_some_and(|c| {
        c.starts_with("08")
            || CONNECTION_LOST.contains(&c.as_str())
            || RETRYABLE.contains(&c.as_str())
    })
}

session_sql::sqlx_classify! {
    /// The [`Classify`](session_sql::Classify) of this crate, for [`session_sql::timed`] and
    /// [`session_sql::timed_retry`].
    pub(crate) struct Pg {
        backend: BACKEND,
        options: "invalid PostgreSQL connection options",
        transient: is_transient,
        retryable: is_retryable,
    }
}
