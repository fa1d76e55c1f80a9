//! The table name and the SQL text of every statement, built once per table.

use std::sync::Arc;

use session_core::Result;
use sqlx::AssertSqlSafe;

use crate::error::BACKEND;
use crate::schema;

/// The longest table name MySQL and MariaDB accept.
const MAX_TABLE_NAME_LEN: usize = 64;

/// Checks a table name: 1 to 64 characters from `A-Z a-z 0-9 _`, not starting with a digit.
///
/// This is stricter than MySQL (which allows `$` and, quoted, almost anything) so that the name
/// can be spliced into SQL text between backticks with no escaping at all: identifiers cannot be
/// bound as parameters.
pub(crate) fn validate_table_name(name: &str) -> Result<()> {
    session_sql::validate_table_name(BACKEND, name, MAX_TABLE_NAME_LEN)
}

/// The statements for one table. Held in an `Arc` so that cloning a store copies no SQL text.
#[derive(Debug)]
pub(crate) struct Queries {
    pub(crate) table: Box<str>,
    pub(crate) create_table: Arc<str>,
    /// Adds the `version` column to a table from before versions.
    pub(crate) add_version_column: Arc<str>,
    /// Adds the `owner` column and its index to a table from before owners.
    pub(crate) add_owner_column: Arc<str>,
    /// Parameters: the table name, a column name. Counts the table's columns of that name (0
    /// or 1).
    pub(crate) has_column: Arc<str>,
    /// Parameters: id, now. Reads data and version.
    pub(crate) select: Arc<str>,
    /// Parameters: id, now. Reads data, version and expiry: the rolling read with a non-zero
    /// expiry resolution.
    pub(crate) select_expiry: Arc<str>,
    /// Parameters: new expiry, id, now. Used by the touch and by the rolling read.
    pub(crate) touch: Arc<str>,
    /// Parameters: id, data, expiry, version, owner.
    pub(crate) upsert: Arc<str>,
    /// Parameters: expected version, data, expected version, expiry, expected version, owner,
    /// expected version, new version, id, now. See [`statements`] for how one statement tells the outcomes apart.
    pub(crate) write_if: Arc<str>,
    /// Parameters: id.
    pub(crate) delete: Arc<str>,
    /// Parameters: owner, now. The owner's live rows: id, data, expiry.
    pub(crate) list_owned: Arc<str>,
    /// Parameters: owner, now, kept id (or ''), batch size.
    pub(crate) delete_owned: Arc<str>,
    /// Parameters: now, batch size. A consistent (non-locking) read.
    pub(crate) expired_ids: Arc<str>,
    /// Followed by the cut-off `now` as a bound parameter, then ` AND id IN (…)`.
    pub(crate) delete_expired: Arc<str>,
}

/// The statements for `table`, which must have passed [`validate_table_name`].
pub(crate) fn statements(table: &str) -> Queries {
    let t = table;
    Queries {
        table: table.into(),
        create_table: schema::create_table_sql(t).into(),
        add_version_column: schema::add_version_column_sql(t).into(),
        add_owner_column: schema::add_owner_column_sql(t).into(),
        has_column: "SELECT COUNT(*) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?"
            .into(),
        select: format!("SELECT data, version FROM `{t}` WHERE id = ? AND expires_at > ?").into(),
        select_expiry: format!(
            "SELECT data, version, expires_at FROM `{t}` WHERE id = ? AND expires_at > ?"
        )
        .into(),
        touch: format!("UPDATE `{t}` SET expires_at = ? WHERE id = ? AND expires_at > ?").into(),
        // `VALUES(col)` in the update clause is the one upsert spelling both servers accept:
        // MySQL 8.0.20+ deprecates it in favour of a row alias (`AS new … new.col`) but still
        // runs it (with warning 1287), while MariaDB has no row alias and rejects `AS new`.
        upsert: format!(
            "INSERT INTO `{t}` (id, data, expires_at, version, owner) VALUES (?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at), \
             version = VALUES(version), owner = VALUES(owner)"
        )
        .into(),
        // One statement, three outcomes. The WHERE clause matches only a live row, so no
        // matched row (sqlx sets CLIENT_FOUND_ROWS: matched, not changed, rows are counted)
        // means missing, expired or destroyed; there is no upsert, so nothing is re-created.
        // On a live row every assignment is conditional on the version, and the row's
        // resulting version goes through LAST_INSERT_ID(expr), which the server returns in
        // the OK packet: the new version means written, anything else a conflict (the row
        // keeps its data). `version` is assigned last because MySQL and MariaDB evaluate
        // single-table assignments left to right, so the earlier ones still see the old
        // version. A plain `… AND version = ?` could not tell a conflict from a missing row
        // without a second round trip. (LAST_INSERT_ID also stays set on the pooled
        // connection; nothing here uses AUTO_INCREMENT, so nothing reads it.)
        write_if: format!(
            "UPDATE `{t}` SET data = IF(version = ?, ?, data), \
             expires_at = IF(version = ?, ?, expires_at), \
             owner = IF(version = ?, ?, owner), \
             version = LAST_INSERT_ID(IF(version = ?, ?, version)) \
             WHERE id = ? AND expires_at > ?"
        )
        .into(),
        delete: format!("DELETE FROM `{t}` WHERE id = ?").into(),
        list_owned: format!(
            "SELECT id, data, expires_at FROM `{t}` WHERE owner = ? AND expires_at > ?"
        )
        .into(),
        delete_owned: format!(
            "DELETE FROM `{t}` WHERE owner = ? AND expires_at > ? AND id <> ? LIMIT ?"
        )
        .into(),
        expired_ids: format!("SELECT id FROM `{t}` WHERE expires_at <= ? LIMIT ?").into(),
        delete_expired: format!("DELETE FROM `{t}` WHERE expires_at <= ").into(),
    }
}

/// Marks one of the statements above as safe for sqlx: its only dynamic part is a validated
/// table name; every value is a bound parameter.
pub(crate) fn sql(text: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(text))
}

#[cfg(test)]
mod tests {
    use session_core::Error;

    use super::*;

    #[test]
    fn valid_table_names_are_accepted() {
        for name in [
            "sessions",
            "_s",
            "S_2",
            "t_round_trip_0a1b2c3d",
            &"a".repeat(64),
        ] {
            assert!(validate_table_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn invalid_table_names_are_config_errors() {
        for name in [
            "",
            "1sessions",
            "with space",
            "dash-ed",
            "dot.ted",
            "back`tick",
            "semi;colon",
            "ünï",
            "$dollar",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(validate_table_name(name), Err(Error::Config { .. })),
                "{name:?} was accepted"
            );
        }
    }

    #[test]
    fn every_statement_names_the_table_and_never_the_database_clock() {
        let q = statements("my_table");
        for text in [
            &q.select,
            &q.touch,
            &q.upsert,
            &q.write_if,
            &q.add_version_column,
            &q.delete,
            &q.expired_ids,
            &q.delete_expired,
            &q.create_table,
        ] {
            assert!(text.contains("`my_table`"), "{text}");
            assert!(!text.to_ascii_uppercase().contains("NOW()"), "{text}");
            assert!(!text.contains("sessions"), "{text}");
        }
    }
}
