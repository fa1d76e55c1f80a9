//! The table name and the SQL text of every statement, built once per table.

use std::sync::Arc;

use session_core::Result;
use session_sql::Statements;
use sqlx::AssertSqlSafe;

use crate::error::BACKEND;
use crate::schema;

/// The longest table name accepted: PostgreSQL identifiers hold 63 bytes, and the index is named
/// after the table with `_exp_idx` (8 more) appended.
pub(crate) const MAX_TABLE_NAME_LEN: usize = 55;

/// Checks a table name: 1 to 55 characters from `A-Z a-z 0-9 _`, not starting with a digit, so
/// that it (and the index named after it) can be spliced between double quotes with no escaping.
pub(crate) fn validate_table_name(name: &str) -> Result<()> {
    session_sql::validate_table_name(BACKEND, name, MAX_TABLE_NAME_LEN)
}

/// The statements for `table`, which must have passed [`validate_table_name`].
pub(crate) fn statements(table: &str) -> Statements {
    let t = table;
    // hashtext() of a validated name: the name is spliced into a string literal safely.
    let lock = format!("SELECT pg_advisory_xact_lock(hashtext('session-postgres:{t}'));\n");
    Statements {
        table: table.into(),
        create_table: [false, true]
            .map(|unlogged| format!("{lock}{}", schema::create_table_sql(t, unlogged)).into())
            .to_vec(),
        select: format!("SELECT data, version FROM \"{t}\" WHERE id = $1 AND expires_at > $2")
            .into(),
        select_expiry: format!(
            "SELECT data, version, expires_at FROM \"{t}\" WHERE id = $1 AND expires_at > $2"
        )
        .into(),
        touch_returning: format!(
            "UPDATE \"{t}\" SET expires_at = $1 WHERE id = $2 AND expires_at > $3 \
             RETURNING data, version"
        )
        .into(),
        touch: format!("UPDATE \"{t}\" SET expires_at = $1 WHERE id = $2 AND expires_at > $3")
            .into(),
        upsert: format!(
            "INSERT INTO \"{t}\" (id, data, expires_at, version, owner) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, \
             expires_at = EXCLUDED.expires_at, version = EXCLUDED.version, owner = EXCLUDED.owner"
        )
        .into(),
        // One statement, three outcomes. The WHERE clause matches only a live row, so no
        // returned row means missing, expired or destroyed; there is no upsert, so nothing is
        // re-created. On a live row every assignment is conditional on the version, and every
        // expression of a PostgreSQL UPDATE sees the row as it was before the statement; the
        // row lock makes a concurrent writer wait and then re-check against the new row. The
        // returned version is the new one when this write won, the other writer's when it
        // lost (the row keeps its data).
        write_if: format!(
            "UPDATE \"{t}\" SET \
             data = CASE WHEN version = $1 THEN $2 ELSE data END, \
             expires_at = CASE WHEN version = $1 THEN $3 ELSE expires_at END, \
             owner = CASE WHEN version = $1 THEN $7 ELSE owner END, \
             version = CASE WHEN version = $1 THEN $4 ELSE version END \
             WHERE id = $5 AND expires_at > $6 RETURNING version"
        )
        .into(),
        delete: format!("DELETE FROM \"{t}\" WHERE id = $1").into(),
        // SKIP LOCKED: rows a login or touch holds are left for the next batch instead of
        // waited for; the outer condition re-checks the expiry on the locked row, so a row
        // touched meanwhile is kept.
        delete_expired: format!(
            "DELETE FROM \"{t}\" WHERE id IN (SELECT id FROM \"{t}\" WHERE expires_at <= $1 \
             LIMIT $2 FOR UPDATE SKIP LOCKED) AND expires_at <= $1"
        )
        .into(),
        list_owned: format!(
            "SELECT id, data, expires_at FROM \"{t}\" WHERE owner = $1 AND expires_at > $2"
        )
        .into(),
        // `COLLATE "C"`: byte order, the order of the cursor's comparison whatever the
        // database's collation.
        scan: format!(
            "SELECT id FROM \"{t}\" WHERE id COLLATE \"C\" > $1 AND expires_at > $2 \
             ORDER BY id COLLATE \"C\" LIMIT $3"
        )
        .into(),
        // In batches: the rows of the owner's live sessions but the kept one, locked and
        // re-checked, so a session touched meanwhile is still ended (never skipped).
        delete_owned: format!(
            "DELETE FROM \"{t}\" WHERE id IN (SELECT id FROM \"{t}\" WHERE owner = $1 \
             AND expires_at > $2 AND id <> $3 LIMIT $4 FOR UPDATE) AND owner = $1"
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
    use session_core::Error;

    use super::*;

    #[test]
    fn table_names_up_to_55_characters_are_accepted() {
        assert!(validate_table_name(&"a".repeat(55)).is_ok());
        for bad in ["", "1s", "a-b", "a\"b", "a'b", &"a".repeat(56)] {
            assert!(
                matches!(validate_table_name(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_statement_names_the_table_and_never_the_database_clock() {
        let q = statements("my_table");
        assert_eq!(q.all().len(), 10 + q.create_table.len());
        q.assert_well_formed(&[
            "now()",
            "current_timestamp",
            "clock_timestamp",
            "localtimestamp",
        ]);
    }
}
