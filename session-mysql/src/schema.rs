//! The table definition, shared by [`MySqlStore::migrate`](crate::MySqlStore::migrate) and the
//! plain `schema.sql` file.

/// The schema as plain SQL for the default table name ([`DEFAULT_TABLE`](crate::DEFAULT_TABLE)):
/// the contents of `schema.sql` at the root of this crate. Apply it by hand when the
/// application's database user may not run DDL; [`MySqlStore::migrate`](crate::MySqlStore::migrate)
/// runs the same statement.
pub const SCHEMA_SQL: &str = include_str!("../schema.sql");

/// The table name as it appears in `schema.sql`, backticks included.
const DEFAULT_TABLE_QUOTED: &str = "`sessions`";

/// The `CREATE TABLE IF NOT EXISTS` statement of `schema.sql`, for `table` (already validated).
///
/// `migrate` renders the shipped file instead of keeping a second copy, so the two cannot drift.
/// The index is declared inside `CREATE TABLE` because MySQL 8 has no
/// `CREATE INDEX IF NOT EXISTS` (MariaDB does): one idempotent statement works on both.
pub(crate) fn create_table_sql(table: &str) -> String {
    statement().replace(DEFAULT_TABLE_QUOTED, &format!("`{table}`"))
}

/// The column [`MySqlStore::migrate`](crate::MySqlStore::migrate) adds to a table created before
/// records had versions: the same definition as in `schema.sql`, which a test checks.
pub(crate) const VERSION_COLUMN: &str = "version BIGINT UNSIGNED NOT NULL DEFAULT 0";

/// `ALTER TABLE` adding [`VERSION_COLUMN`] to `table` (already validated). Existing rows get 0,
/// [`Version::LEGACY`](session_core::Version::LEGACY), which is what their `ss1` records decode
/// to.
pub(crate) fn add_version_column_sql(table: &str) -> String {
    format!("ALTER TABLE `{table}` ADD COLUMN {VERSION_COLUMN}")
}

/// The column and index [`MySqlStore::migrate`](crate::MySqlStore::migrate) adds to a table
/// created before sessions had owners, as in `schema.sql`.
pub(crate) const OWNER_COLUMN: &str = "owner CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL";
pub(crate) const OWNER_INDEX: &str = "KEY owner_idx (owner)";

/// `ALTER TABLE` adding [`OWNER_COLUMN`] and [`OWNER_INDEX`] to `table` (already validated).
pub(crate) fn add_owner_column_sql(table: &str) -> String {
    format!("ALTER TABLE `{table}` ADD COLUMN {OWNER_COLUMN}, ADD {OWNER_INDEX}")
}

/// `schema.sql` without comments, blank lines and the final `;`: its one statement (a test
/// checks there is exactly one).
fn statement() -> String {
    session_sql::schema_statements(SCHEMA_SQL)
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_file_holds_one_statement_naming_the_default_table_once() {
        assert_eq!(
            session_sql::schema_statements(SCHEMA_SQL).len(),
            1,
            "schema.sql must hold exactly one statement"
        );
        let stmt = statement();
        assert!(stmt.starts_with("CREATE TABLE IF NOT EXISTS `sessions`"));
        assert_eq!(stmt.matches("sessions").count(), 1);
        assert_eq!(crate::DEFAULT_TABLE, "sessions");
    }

    #[test]
    fn schema_matches_the_design() {
        let stmt = statement();
        for part in [
            "id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL",
            "data MEDIUMBLOB NOT NULL",
            "expires_at BIGINT NOT NULL",
            "version BIGINT UNSIGNED NOT NULL DEFAULT 0",
            "PRIMARY KEY (id)",
            "KEY expires_at_idx (expires_at)",
            OWNER_COLUMN,
            OWNER_INDEX,
        ] {
            assert!(stmt.contains(part), "schema.sql lacks {part:?}");
        }
        assert_eq!(session_core::MAX_KEY_LEN, 128, "resize the id column");
    }

    #[test]
    fn the_added_version_column_is_the_one_in_the_file() {
        assert!(statement().contains(VERSION_COLUMN));
        assert_eq!(
            add_version_column_sql("app_sessions"),
            format!("ALTER TABLE `app_sessions` ADD COLUMN {VERSION_COLUMN}")
        );
    }

    #[test]
    fn migration_renders_the_file_for_any_table() {
        assert_eq!(create_table_sql("sessions"), statement());
        let custom = create_table_sql("app_sessions");
        assert!(custom.starts_with("CREATE TABLE IF NOT EXISTS `app_sessions` ("));
        assert!(!custom.contains("`sessions`"));
        assert_eq!(custom.replace("`app_sessions`", "`sessions`"), statement());
    }
}
