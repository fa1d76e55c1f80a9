//! Record versions in signed 64-bit integer columns.

use session_core::{Loaded, Result, Version};

/// A version as a signed `BIGINT` (PostgreSQL) or `INTEGER` (SQLite) column holds it: the same
/// 64 bits, so versions above `i64::MAX` come out negative. Only equality is ever asked of the
/// column, which the bit pattern preserves. [`Version::LEGACY`] is 0.
pub fn version_to_column(version: Version) -> i64 {
    i64::from_ne_bytes(version.as_u64().to_ne_bytes())
}

/// The inverse of [`version_to_column`].
pub fn version_from_column(column: i64) -> Version {
    Version::from_u64(u64::from_ne_bytes(column.to_ne_bytes()))
}

/// What a load returns for the `data` and `version` columns of a live row read at `now`: the
/// decoded record at the column's version, or `None` when the record is past its absolute
/// lifetime (ended, whatever the expiry column says).
///
/// The `expires_at` column, moved by touches and rolling reads, is authoritative and was already
/// checked by the statement; the record header's expiry is the one at write time. The `version`
/// column is what `write_if` compares, so it is the version returned (written by the same
/// statement as the record; 0 for a row from before versions, whose `ss1` record is legacy too).
///
/// # Errors
/// [`Error::Decode`](session_core::Error::Decode) for bytes that are not a record.
pub fn loaded_row(bytes: &[u8], version: Version, now: i64) -> Result<Option<Loaded>> {
    let data = session_core::decode(bytes)?.data;
    Ok((!session_core::lifetime_over(&data, now)).then(|| Loaded::new(data, version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_keep_all_64_bits_in_a_signed_column() {
        for v in [0, 1, 1 << 62, (1 << 63) - 1, 1 << 63, u64::MAX] {
            let version = Version::from_u64(v);
            assert_eq!(version_from_column(version_to_column(version)), version);
        }
        assert_eq!(version_to_column(Version::LEGACY), 0);
        assert_eq!(version_to_column(Version::from_u64(u64::MAX)), -1);
    }
}
