//! Table names and `schema.sql` files.

use session_core::{Error, Result};

/// Checks a table name: 1 to `max_len` characters from `A-Z a-z 0-9 _`, not starting with a
/// digit.
///
/// Stricter than any SQL dialect needs, so that the name can be spliced into statements (quoted)
/// with no escaping at all: identifiers cannot be bound as parameters.
///
/// # Errors
/// [`Error::Config`] for `backend`, naming what is wrong and at most `max_len` characters of
/// the name.
pub fn validate_table_name(backend: &'static str, name: &str, max_len: usize) -> Result<()> {
    let reason = if name.is_empty() {
        "is empty".to_owned()
    } else if name.len() > max_len {
        format!("is longer than {max_len} characters")
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        "may only contain A-Z, a-z, 0-9 and _".to_owned()
    } else if name.as_bytes()[0].is_ascii_digit() {
        "must not start with a digit".to_owned()
    } else {
        return Ok(());
    };
    // The name is configuration, not a secret, but it may be garbage: show a bounded prefix.
    let shown: String = name.chars().take(max_len).collect();
    Err(Error::config(
        backend,
        format!("table name {shown:?} {reason}"),
    ))
}

/// The statements of a `schema.sql` file: comment lines (`--`) and blank lines dropped, split at
/// the `;` that ends a line, each without its `;`.
pub fn schema_statements(schema_sql: &str) -> Vec<String> {
    let body: Vec<&str> = schema_sql
        .lines()
        .filter(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with("--")
        })
        .collect();
    body.join("\n")
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `schema_sql`'s statements (see [`schema_statements`]) with every occurrence of `from` (the
/// default table name, quoted as the file quotes it) replaced by `to`, joined into one script.
///
/// A migration renders the shipped file instead of keeping a second copy, so the two cannot
/// drift.
pub fn render_schema(schema_sql: &str, from: &str, to: &str) -> String {
    schema_statements(schema_sql)
        .iter()
        .map(|s| format!("{};", s.replace(from, to)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks a backend's shipped `schema.sql`, written for the table `"sessions"`: three
/// statements, the table (holding each of `columns`), its `expires_at` index and its partial
/// `owner` index, both named after the table.
///
/// # Panics
/// On the first statement that does not pass, naming what it lacks.
#[doc(hidden)]
pub fn assert_schema_file(schema_sql: &str, columns: &[&str]) {
    let stmts = schema_statements(schema_sql);
    assert_eq!(stmts.len(), 3, "{stmts:?}");
    assert!(stmts[0].starts_with("CREATE TABLE IF NOT EXISTS \"sessions\" ("));
    for part in columns {
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
}

/// Checks `script`, a backend's migration rendered for the table `app_sessions`: it creates
/// that table (`create`: `CREATE TABLE` or a variant) and its index named after it, and never
/// names the default table.
///
/// # Panics
/// When it does not.
#[doc(hidden)]
pub fn assert_rendered_for_app_sessions(script: &str, create: &str) {
    assert!(
        script.starts_with(&format!("{create} IF NOT EXISTS \"app_sessions\" (")),
        "{script}"
    );
    assert!(script.contains("\"app_sessions_exp_idx\" ON \"app_sessions\""));
    assert!(!script.contains("\"sessions"), "{script}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked() {
        for good in ["sessions", "_s", "S_2", &"a".repeat(20)] {
            assert!(validate_table_name("t", good, 20).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1s",
            "a b",
            "a-b",
            "a.b",
            "a\"b",
            "a`b",
            "a;b",
            "ünï",
            &"a".repeat(21),
        ] {
            assert!(
                matches!(validate_table_name("t", bad, 20), Err(Error::Config { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn statements_are_split_and_renamed() {
        let file = "-- a comment; with a semicolon\nCREATE TABLE \"s\" (\n  a INT -- x\n);\n\n\
                    CREATE INDEX \"s_i\" ON \"s\" (a);\n";
        assert_eq!(
            schema_statements(file),
            vec![
                "CREATE TABLE \"s\" (\n  a INT -- x\n)".to_owned(),
                "CREATE INDEX \"s_i\" ON \"s\" (a)".to_owned()
            ]
        );
        assert_eq!(
            render_schema(file, "\"s", "\"t"),
            "CREATE TABLE \"t\" (\n  a INT -- x\n);\nCREATE INDEX \"t_i\" ON \"t\" (a);"
        );
    }

    #[test]
    fn a_schema_file_is_checked() {
        let file = "CREATE TABLE IF NOT EXISTS \"sessions\" (id TEXT, owner TEXT);\n\
                    CREATE INDEX IF NOT EXISTS \"sessions_exp_idx\" ON \"sessions\" (expires_at);\n\
                    CREATE INDEX IF NOT EXISTS \"sessions_own_idx\" ON \"sessions\" (owner) \
                    WHERE owner IS NOT NULL;\n";
        assert_schema_file(file, &["id TEXT"]);
        let rendered = render_schema(file, "\"sessions", "\"app_sessions");
        assert_rendered_for_app_sessions(&rendered, "CREATE TABLE");
    }
}
