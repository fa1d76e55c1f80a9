//! The table name and the SQL text of every statement, built once per table.

use std::sync::Arc;

use session_core::Result;
use session_sql::Statements;
use sqlx::AssertSqlSafe;

use crate::error::BACKEND;
use crate::schema;

/// The longest table name accepted (the index is named after the table with `_exp_idx`
/// appended).
pub(crate) const MAX_TABLE_NAME_LEN: usize = 64;

/// Checks a table name: 1 to 64 characters from `A-Z a-z 0-9 _`, not starting with a digit, so
/// that it can be spliced between double quotes with no escaping.
pub(crate) fn validate_table_name(name: &str) -> Result<()> {
    session_sql::validate_table_name(BACKEND, name, MAX_TABLE_NAME_LEN)
}

/// The statements for `table`, which must have passed [`validate_table_name`].
pub(crate) fn statements(table: &str) -> Statements {
    let t = table;
    Statements {
        table: table.into(),
        create_table: vec![schema::create_table_sql(t).into()],
        select: format!("SELECT data, version FROM \"{t}\" WHERE id = ?1 AND expires_at > ?2")
            .into(),
        select_expiry: format!(
            "SELECT data, version, expires_at FROM \"{t}\" WHERE id = ?1 AND expires_at > ?2"
        )
        .into(),
        touch_returning: format!(
            "UPDATE \"{t}\" SET expires_at = ?1 WHERE id = ?2 AND expires_at > ?3 \
             RETURNING data, version"
        )
        .into(),
        touch: format!("UPDATE \"{t}\" SET expires_at = ?1 WHERE id = ?2 AND expires_at > ?3")
            .into(),
        upsert: format!(
            "INSERT INTO \"{t}\" (id, data, expires_at, version, owner) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
             expires_at = excluded.expires_at, version = excluded.version, owner = excluded.owner"
        )
        .into(),
        // One statement, three outcomes, as in session-postgres: SQLite evaluates every SET
        // expression against the row as it was before the UPDATE, and the statement holds
        // the database's write lock, so no other writer runs between the compare and the
        // write. No returned row: missing; the new version: written; another: conflict.
        write_if: format!(
            "UPDATE \"{t}\" SET \
             data = CASE WHEN version = ?1 THEN ?2 ELSE data END, \
             expires_at = CASE WHEN version = ?1 THEN ?3 ELSE expires_at END, \
             owner = CASE WHEN version = ?1 THEN ?7 ELSE owner END, \
             version = CASE WHEN version = ?1 THEN ?4 ELSE version END \
             WHERE id = ?5 AND expires_at > ?6 RETURNING version"
        )
        .into(),
        delete: format!("DELETE FROM \"{t}\" WHERE id = ?1").into(),
        delete_expired: format!(
            "DELETE FROM \"{t}\" WHERE id IN (SELECT id FROM \"{t}\" WHERE expires_at <= ?1 \
             LIMIT ?2)"
        )
        .into(),
        list_owned: format!(
            "SELECT id, data, expires_at FROM \"{t}\" WHERE owner = ?1 AND expires_at > ?2"
        )
        .into(),
        scan: format!(
            "SELECT id FROM \"{t}\" WHERE id > ?1 AND expires_at > ?2 ORDER BY id LIMIT ?3"
        )
        .into(),
        // In batches: the rows of the owner's live sessions but the kept one, locked and
        // re-checked, so a session touched meanwhile is still ended (never skipped).
        delete_owned: format!(
            "DELETE FROM \"{t}\" WHERE id IN (SELECT id FROM \"{t}\" WHERE owner = ?1 \
             AND expires_at > ?2 AND id <> ?3 LIMIT ?4) AND owner = ?1"
        )
        .into(),
    }
}

/// Marks one of the statements above as safe for sqlx: its only dynamic part is a validated
/// table name; every value is a bound parameter.
pub(crate) fn sql(text: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_names_the_table_and_never_the_database_clock() {
        let q = statements("my_table");
        assert_eq!(q.all().len(), 10 + q.create_table.len());
        q.assert_well_formed(&["now", "current_", "julianday", "unixepoch", "strftime"]);
    }
}
