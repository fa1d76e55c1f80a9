//! The table definition, shared by [`SqliteStore::migrate`](crate::SqliteStore::migrate) and the
//! plain `schema.sql` file.

/// The schema as plain SQL for the default table name ([`DEFAULT_TABLE`](crate::DEFAULT_TABLE)):
/// the contents of `schema.sql` at the root of this crate.
/// [`SqliteStore::migrate`](crate::SqliteStore::migrate) runs the same statements.
pub const SCHEMA_SQL: &str = include_str!("../schema.sql");

/// The table name as it appears in `schema.sql`, with its opening quote: it also prefixes the
/// index name (`"sessions_exp_idx"`), which follows the table's.
const DEFAULT_TABLE_PREFIX: &str = "\"sessions";

/// The statements of `schema.sql` for `table` (already validated), as one script.
pub(crate) fn create_table_sql(table: &str) -> String {
    session_sql::render_schema(SCHEMA_SQL, DEFAULT_TABLE_PREFIX, &format!("\"{table}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_file_holds_the_table_and_its_index() {
        let stmts = session_sql::schema_statements(SCHEMA_SQL);
        assert_eq!(stmts.len(), 3, "{stmts:?}");
        assert!(stmts[0].starts_with("CREATE TABLE IF NOT EXISTS \"sessions\" ("));
        for part in [
            "id TEXT NOT NULL PRIMARY KEY",
            "data BLOB NOT NULL",
            "expires_at INTEGER NOT NULL",
            "version INTEGER NOT NULL DEFAULT 0",
        ] {
            assert!(stmts[0].contains(part), "schema.sql lacks {part:?}");
        }
        assert_eq!(
            stmts[1],
            "CREATE INDEX IF NOT EXISTS \"sessions_exp_idx\" ON \"sessions\" (expires_at)"
        );
        assert_eq!(
            stmts[2],
            "CREATE INDEX IF NOT EXISTS \"sessions_own_idx\" ON \"sessions\" (owner) \
             WHERE owner IS NOT NULL"
        );
        assert_eq!(crate::DEFAULT_TABLE, "sessions");
    }

    #[test]
    fn migration_renders_the_file_for_any_table() {
        let custom = create_table_sql("app_sessions");
        assert!(custom.starts_with("CREATE TABLE IF NOT EXISTS \"app_sessions\" ("));
        assert!(custom.contains("\"app_sessions_exp_idx\" ON \"app_sessions\""));
        assert!(!custom.contains("\"sessions"));
    }
}
