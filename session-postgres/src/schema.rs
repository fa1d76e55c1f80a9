//! The table definition, shared by [`PgStore::migrate`](crate::PgStore::migrate) and the plain
//! `schema.sql` file.

/// The schema as plain SQL for the default table name ([`DEFAULT_TABLE`](crate::DEFAULT_TABLE)):
/// the contents of `schema.sql` at the root of this crate. Apply it by hand when the
/// application's database role may not run DDL; [`PgStore::migrate`](crate::PgStore::migrate)
/// runs the same statements.
pub const SCHEMA_SQL: &str = include_str!("../schema.sql");

/// The table name as it appears in `schema.sql`, with its opening quote: it also prefixes the
/// index name (`"sessions_exp_idx"`), which follows the table's.
const DEFAULT_TABLE_PREFIX: &str = "\"sessions";

/// The statements of `schema.sql` for `table` (already validated), as one script; `CREATE
/// UNLOGGED TABLE` when `unlogged`.
pub(crate) fn create_table_sql(table: &str, unlogged: bool) -> String {
    let script =
        session_sql::render_schema(SCHEMA_SQL, DEFAULT_TABLE_PREFIX, &format!("\"{table}"));
    if unlogged {
        script.replacen("CREATE TABLE", "CREATE UNLOGGED TABLE", 1)
    } else {
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_file_holds_the_table_and_its_indexes() {
        session_sql::assert_schema_file(
            SCHEMA_SQL,
            &[
                "id VARCHAR(128) COLLATE \"C\" PRIMARY KEY",
                "data BYTEA NOT NULL",
                "expires_at BIGINT NOT NULL",
                "version BIGINT NOT NULL DEFAULT 0",
            ],
        );
        assert_eq!(crate::DEFAULT_TABLE, "sessions");
        assert_eq!(session_core::MAX_KEY_LEN, 128, "resize the id column");
    }

    #[test]
    fn migration_renders_the_file_for_any_table() {
        let custom = create_table_sql("app_sessions", false);
        session_sql::assert_rendered_for_app_sessions(&custom, "CREATE TABLE");
        let unlogged = create_table_sql("app_sessions", true);
        session_sql::assert_rendered_for_app_sessions(&unlogged, "CREATE UNLOGGED TABLE");
        assert_eq!(unlogged.matches("UNLOGGED").count(), 1);
    }
}
