//! [`Version`]: what a conditional write compares.

use std::fmt;

/// The version of a stored record: a value that changes on every write of the record's data.
///
/// A conditional write ([`SessionStore::write_if`](crate::SessionStore::write_if)) names the
/// version it read and succeeds only while the record is still at that version, so two requests
/// that loaded the same session cannot silently overwrite each other.
///
/// # Why random, not a counter
/// Every write draws a fresh 64-bit value from the operating system's CSPRNG, never zero. A
/// counter would need the old version to compute the new one, which an unconditional write on
/// Redis (`SET … PX`) cannot read in the same round trip; a random value is computed by the
/// application before the write, needs no read, and is just as good for the only question a
/// version answers ("is it still the record I read?"): two writes pick the same value with
/// probability 2⁻⁶⁴. Touches and rolling reads move only the expiry, so they keep the version.
///
/// # Legacy records
/// Records written before versions existed (format `ss1`, and MySQL rows or MongoDB documents
/// without a version) all have [`Version::LEGACY`]. A conditional write expecting `LEGACY`
/// succeeds on such a record and rewrites it in the current format with a fresh version.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of every record written in a format without versions (`ss1`). Never the
    /// version of a record written by this release.
    pub const LEGACY: Version = Version(0);

    /// A fresh version: 64 bits from the operating system's CSPRNG, never [`LEGACY`](Self::LEGACY).
    ///
    /// # Panics
    /// If the operating system's CSPRNG is unavailable (as [`SessionKey::generate`](crate::SessionKey::generate)).
    pub fn generate() -> Version {
        loop {
            let mut bytes = [0u8; 8];
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut bytes).expect("the operating system's CSPRNG is unavailable");
            let value = u64::from_le_bytes(bytes);
            if value != 0 {
                return Version(value);
            }
        }
    }

    /// The version a backend stored as a number (a MySQL `BIGINT UNSIGNED` column, a MongoDB
    /// 64-bit integer field): the inverse of [`as_u64`](Self::as_u64). `0` is
    /// [`LEGACY`](Self::LEGACY).
    pub const fn from_u64(value: u64) -> Version {
        Version(value)
    }

    /// The version as a number, for backends that store it in a column or document field.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// `true` for [`LEGACY`](Self::LEGACY): the record predates versions.
    pub const fn is_legacy(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_legacy() {
            f.write_str("Version(legacy)")
        } else {
            write!(f, "Version({:016x})", self.0)
        }
    }
}

impl fmt::Display for Version {
    /// 16 lowercase hex digits, as in the record header.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_versions_are_never_legacy_and_differ() {
        let a = Version::generate();
        let b = Version::generate();
        assert!(!a.is_legacy() && !b.is_legacy());
        assert_ne!(a, b);
        assert_eq!(Version::from_u64(a.as_u64()), a);
        assert_eq!(format!("{}", Version::from_u64(0xab)), "00000000000000ab");
        assert_eq!(format!("{:?}", Version::LEGACY), "Version(legacy)");
    }
}
