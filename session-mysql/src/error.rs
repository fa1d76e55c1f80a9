//! Mapping driver errors into [`session_core::Error`].

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
/// behind and is safe to run again; [`session_sql::timed_retry`] does so, and a conflict that
/// outlasts its retries is reported as transient.
const LOCK_CONFLICT: [u16; 2] = [1213, 1205];

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

/// `true` for a connection going away (see [`CONNECTION_LOST`]) and a lock conflict.
fn is_transient(err: &sqlx::Error) -> bool {
    server_error_number(err)
        .is_some_and(|n| CONNECTION_LOST.contains(&n) || LOCK_CONFLICT.contains(&n))
}

/// `true` for ER_DUP_FIELDNAME (1060): an `ALTER TABLE … ADD COLUMN` lost the race with another
/// process adding the same column.
pub(crate) fn is_duplicate_column(err: &sqlx::Error) -> bool {
    server_error_number(err) == Some(1060)
}

session_sql::sqlx_classify! {
    /// The [`Classify`](session_sql::Classify) of this crate, for [`session_sql::timed`] and
    /// [`session_sql::timed_retry`] (which runs a statement that lost a lock conflict again, up
    /// to 5 times in all).
    pub(crate) struct My {
        backend: BACKEND,
        options: "invalid MySQL connection options",
        transient: is_transient,
        retryable: is_lock_conflict,
    }
}
