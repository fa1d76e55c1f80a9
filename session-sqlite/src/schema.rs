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
    fn schema_file_holds_the_table_and_its_indexes() {
        session_sql::assert_schema_file(
            SCHEMA_SQL,
            &[
                "id TEXT NOT NULL PRIMARY KEY",
                "data BLOB NOT NULL",
                "expires_at INTEGER NOT NULL",
                "version INTEGER NOT NULL DEFAULT 0",
            ],
        );
        assert_eq!(crate::DEFAULT_TABLE, "sessions");
    }

    #[test]
    fn migration_renders_the_file_for_any_table() {
        let custom = create_table_sql("app_sessions");
        session_sql::assert_rendered_for_app_sessions(&custom, "CREATE TABLE");
    }
}
