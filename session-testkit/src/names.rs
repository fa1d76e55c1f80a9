//! Names unique per run, valid as a Redis key prefix, a MySQL table and a MongoDB collection.

/// The longest MySQL table name.
const MAX_NAME_LEN: usize = 64;

/// `t_<tag>_<8 hex>`: unique per call, and a valid MySQL table name, MongoDB collection name and
/// Redis key prefix alike when `tag` is `[a-z0-9_]`. The tag is shortened so that the name fits
/// MySQL's 64 characters.
pub fn unique_name(tag: &str) -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("no OS randomness");
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let room = MAX_NAME_LEN - "t__".len() - suffix.len();
    let tag: String = tag.chars().take(room).collect();
    format!("t_{tag}_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn unique_names_differ_and_fit_a_mysql_table_name() {
        let (a, b) = (unique_name("same"), unique_name("same"));
        assert_ne!(a, b);
        assert!(
            a.starts_with("t_same_") && a.len() == "t_same_".len() + 8,
            "{a}"
        );
        let longest = unique_name(&"n".repeat(100));
        assert_eq!(longest.len(), 64, "{longest}");
    }
}
