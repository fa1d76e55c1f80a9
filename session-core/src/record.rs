//! The stored record format and the expiry clock every backend shares.
//!
//! A record is ASCII header + JSON payload. This release writes format 2:
//!
//! ```text
//! ss2:9f86d081884c7d65:1732320000000:{"user":"alice","n":3}
//! ^^ ^ ^^^^^^^^^^^^^^^^ ^^^^^^^^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^
//! |  | |                |             the session data, a JSON object
//! |  | |                expiry when the record was written, epoch milliseconds (application clock)
//! |  | record version: 16 lowercase hex digits, new on every write (see Version)
//! |  format version (decimal)
//! magic "ss"
//! ```
//!
//! A session with an owner (see [`OwnerInfo`](crate::OwnerInfo)) is written in format 3, which
//! adds the owner's [`OwnerIndex`](crate::OwnerIndex) after the version, so that a server-side
//! script can keep the owner's index from the header alone; the data still holds the owner
//! itself under [`OWNER_FIELD`](crate::OWNER_FIELD):
//!
//! ```text
//! ss3:9f86d081884c7d65:2bd806c97f0e00af1a1fc3328fa763a9:1732320000000:{"$owner":{…},"n":3}
//! ```
//!
//! Formats 2 and 3 share their first 21 bytes' layout, `ssN:<version>:`, so a conditional write
//! compares bytes 3 to 20 (`:<version>:`) whatever the format. A session without an owner is
//! stored in format 2 and costs nothing extra.
//!
//! This build still reads format 1, written by earlier releases, which has no record version:
//!
//! ```text
//! ss1:1732320000000:{"user":"alice","n":3}
//! ```
//!
//! A format-1 record decodes with [`Version::LEGACY`]; its next write stores format 2. A record
//! from a newer release, or bytes that are not a record at all, decode to [`DecodeError`] instead
//! of wrong data. The text form keeps records readable in `redis-cli` and SQL consoles.
//!
//! The record version sits right after the format marker, at a fixed width, so that a server can
//! check it by comparing the record's first bytes with [`version_prefix`] as a plain string: the
//! Redis store's conditional write does exactly that in a script, and never parses the JSON (Lua
//! would turn large integers into doubles).
//!
//! The header's expiry is the expiry *at write time*. Backends that can move an expiry without
//! rewriting the value (Redis `PEXPIRE`, the MySQL `expires_at` column, the MongoDB `expiresAt`
//! field) keep the authoritative expiry there, so a rolling read stays one cheap operation.

use std::time::{SystemTime, UNIX_EPOCH};

use time::Duration;

use crate::owner::{OWNER_INDEX_DIGITS, OwnerIndex, owner_index};
use crate::{DecodeError, Error, Result, SessionData, Version};

/// The format version this build writes. It reads this one and every older one (format 1).
pub const FORMAT_VERSION: u32 = 2;

/// The format written before records had versions; still read, as [`Version::LEGACY`].
const LEGACY_FORMAT: u32 = 1;

/// The format of a record whose session has an owner: format 2 plus the owner index.
pub const OWNED_FORMAT: u32 = 3;

/// Hex digits of the record version in the header.
const VERSION_DIGITS: usize = 16;

/// Default maximum size of an encoded record: 1 MiB. Every store takes a `with_max_record_bytes`
/// override.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest `max_age` a store accepts: 100 years. Longer durations are almost certainly a unit
/// mistake and would overflow some backends' TTL arithmetic.
pub const MAX_MAX_AGE: Duration = Duration::days(365 * 100);

/// The deepest nesting of arrays and objects a session may hold, counting the session object
/// itself as level 1: `{"a": [[1]]}` is 3 levels deep.
///
/// Every store refuses deeper data at write time with [`Error::TooDeep`], the memory store
/// included, so a record that can be written can always be read back. The alternative, reading
/// without serde_json's recursion limit (128), would move the failure rather than remove it:
/// parsing, serializing, cloning and dropping a `serde_json::Value` all recurse, so data nested
/// deeply enough overflows the stack of whichever reader comes next (another service, a Node app
/// sharing the records, an admin tool). 100 levels is far beyond what session data needs and
/// leaves serde_json's parser a margin.
pub const MAX_NESTING_DEPTH: usize = 100;

const MAGIC: &[u8] = b"ss";

/// Milliseconds since the Unix epoch on the application's clock: the one clock all expiry
/// arithmetic uses. Databases' own `NOW()` is never consulted, so time zones and clock skew
/// between application and database cannot shorten or lengthen sessions.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A clock set before 1970: treat as the epoch rather than panicking.
        Err(_) => 0,
    }
}

/// Checks `max_age` and returns it in whole milliseconds (at least 1).
///
/// # Errors
/// [`Error::InvalidMaxAge`] for zero, negative, or above [`MAX_MAX_AGE`].
pub fn max_age_ms(max_age: Duration) -> Result<i64> {
    if max_age <= Duration::ZERO {
        return Err(Error::InvalidMaxAge {
            reason: "must be positive",
        });
    }
    if max_age > MAX_MAX_AGE {
        return Err(Error::InvalidMaxAge {
            reason: "longer than MAX_MAX_AGE (100 years)",
        });
    }
    // Sub-millisecond durations round up so that a positive max_age never means "already expired".
    let ms = max_age.whole_milliseconds().max(1);
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The absolute expiry (epoch ms) of a record written now with `max_age`.
///
/// # Errors
/// As [`max_age_ms`].
pub fn expires_at(max_age: Duration) -> Result<i64> {
    Ok(now_ms().saturating_add(max_age_ms(max_age)?))
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session data.
    pub data: SessionData,
    /// The record version: [`Version::LEGACY`] for a format-1 record.
    pub version: Version,
    /// Expiry at write time, epoch milliseconds.
    pub expires_at: i64,
    /// The owner index in the header of a format-3 record; `None` for a session without owner.
    pub owner_index: Option<OwnerIndex>,
}

impl Record {
    /// `true` when the record's expiry is at or before `now` (epoch ms).
    pub fn is_expired_at(&self, now: i64) -> bool {
        self.expires_at <= now
    }
}

/// Encodes `data` in the current format ([`FORMAT_VERSION`], or [`OWNED_FORMAT`] when the data
/// has an owner) with its record version and absolute expiry, refusing records above
/// `max_bytes`.
///
/// `version` is normally a fresh [`Version::generate`]. [`Version::LEGACY`] is refused: it
/// stands for "written by an older release", and a current record claiming it could never be
/// told apart from one.
///
/// # Errors
/// [`Error::TooLarge`] above `max_bytes`; [`Error::TooDeep`] when the data nests deeper than
/// [`MAX_NESTING_DEPTH`]; [`Error::InvalidOwner`] when the data's
/// [`OWNER_FIELD`](crate::OWNER_FIELD) is malformed; [`Error::Encode`] if serialization fails or
/// `version` is [`Version::LEGACY`].
pub fn encode(
    data: &SessionData,
    version: Version,
    expires_at: i64,
    max_bytes: usize,
) -> Result<Vec<u8>> {
    if version.is_legacy() {
        return Err(Error::Encode(serde::ser::Error::custom(
            "a record is never written with the legacy version",
        )));
    }
    check_nesting(data)?;
    let index = owner_index(data)?;
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&version_prefix(version));
    if let Some(index) = &index {
        // `ss2:` becomes `ss3:`: the same layout up to the version, then the owner index.
        out[MAGIC.len()] = b'0' + OWNED_FORMAT as u8;
        out.extend_from_slice(index.as_str().as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(expires_at.to_string().as_bytes());
    out.push(b':');
    serde_json::to_writer(&mut out, data).map_err(Error::Encode)?;
    if out.len() > max_bytes {
        return Err(Error::TooLarge {
            size: out.len(),
            limit: max_bytes,
        });
    }
    Ok(out)
}

/// The first bytes of every record at `version`, the part of the header a server compares for
/// a conditional write: `ss2:<16 hex digits>:` for a current version, `ss1:` for
/// [`Version::LEGACY`] (every format-1 record starts so, and only those).
pub fn version_prefix(version: Version) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + VERSION_DIGITS + 1);
    out.extend_from_slice(MAGIC);
    if version.is_legacy() {
        out.extend_from_slice(LEGACY_FORMAT.to_string().as_bytes());
        out.push(b':');
    } else {
        out.extend_from_slice(FORMAT_VERSION.to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(version.to_string().as_bytes());
        out.push(b':');
    }
    out
}

/// Checks that `data` nests at most [`MAX_NESTING_DEPTH`] levels deep (the rule [`encode`]
/// applies; stores that keep data without encoding it call this themselves).
///
/// # Errors
/// [`Error::TooDeep`] above the limit.
pub fn check_nesting(data: &SessionData) -> Result<()> {
    // The session object is level 1. Recursion stops at the limit, so this never goes deeper
    // than MAX_NESTING_DEPTH frames whatever the data.
    fn within(value: &serde_json::Value, level: usize) -> bool {
        use serde_json::Value;
        match value {
            Value::Array(items) => {
                level <= MAX_NESTING_DEPTH && items.iter().all(|v| within(v, level + 1))
            }
            Value::Object(map) => {
                level <= MAX_NESTING_DEPTH && map.values().all(|v| within(v, level + 1))
            }
            _ => true,
        }
    }
    if data.as_map().values().all(|v| within(v, 2)) {
        Ok(())
    } else {
        Err(Error::TooDeep {
            limit: MAX_NESTING_DEPTH,
        })
    }
}

/// Sizes of the record [`encode`] would write, computed by walking the data without serializing
/// it: for stores that keep sessions decoded (the memory store) and need the size only to charge
/// capacity and enforce the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeEstimate {
    /// About the encoded length: strings counted without escapes, numbers at a typical width.
    pub approx: usize,
    /// Never less than the encoded length: every string byte counted as a six-byte `\u00XX`
    /// escape, every number at its longest form. When this is within a limit, the record is.
    pub upper_bound: usize,
}

/// Estimates the size of `encode(data, …)` without encoding; see [`SizeEstimate`].
pub fn estimate_size(data: &SessionData) -> SizeEstimate {
    // "ss" + up to 10 format digits + ':' + 16 version digits + ':' + up to 20 expiry
    // characters + ':'.
    // Plus the owner index of format 3.
    const HEADER_MAX: usize = 2 + 10 + 1 + VERSION_DIGITS + 1 + OWNER_INDEX_DIGITS + 1 + 20 + 1;
    let mut size = SizeEstimate {
        approx: HEADER_MAX,
        upper_bound: HEADER_MAX,
    };
    add_object(data.as_map(), &mut size);
    size
}

fn add_string(s: &str, size: &mut SizeEstimate) {
    size.approx = size.approx.saturating_add(s.len() + 2);
    size.upper_bound = size
        .upper_bound
        .saturating_add(s.len().saturating_mul(6) + 2);
}

fn add_object(map: &serde_json::Map<String, serde_json::Value>, size: &mut SizeEstimate) {
    // Braces, plus a colon and a comma (one too many) per member.
    let overhead = 2 + 2 * map.len();
    size.approx = size.approx.saturating_add(overhead);
    size.upper_bound = size.upper_bound.saturating_add(overhead);
    for (name, value) in map {
        add_string(name, size);
        add_value(value, size);
    }
}

fn add_value(value: &serde_json::Value, size: &mut SizeEstimate) {
    use serde_json::Value;
    let (approx, bound) = match value {
        Value::Null | Value::Bool(true) => (4, 4),
        Value::Bool(false) => (5, 5),
        // The longest forms: "-9223372036854775808", "18446744073709551615" and f64s such as
        // "-2.2250738585072014e-308" (24 characters).
        Value::Number(_) => (8, 24),
        Value::String(s) => return add_string(s, size),
        Value::Array(items) => {
            let overhead = 2 + items.len();
            size.approx = size.approx.saturating_add(overhead);
            size.upper_bound = size.upper_bound.saturating_add(overhead);
            for item in items {
                add_value(item, size);
            }
            return;
        }
        Value::Object(map) => return add_object(map, size),
    };
    size.approx = size.approx.saturating_add(approx);
    size.upper_bound = size.upper_bound.saturating_add(bound);
}

/// Decodes bytes written by [`encode`] (formats 2 and 3) or by an earlier release (format 1, decoded
/// with [`Version::LEGACY`]).
///
/// # Errors
/// [`DecodeError::NotARecord`] without the header, [`DecodeError::UnsupportedVersion`] for a
/// format this build does not know, [`DecodeError::BadVersion`], [`DecodeError::BadExpiry`],
/// [`DecodeError::Json`] or [`DecodeError::NotAnObject`] for a bad header or payload.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(DecodeError::NotARecord)?;
    let (format, rest) = split_field(rest).ok_or(DecodeError::NotARecord)?;
    let format: u32 = parse_ascii(format).ok_or(DecodeError::NotARecord)?;
    let (version, rest) = match format {
        LEGACY_FORMAT => (Version::LEGACY, rest),
        FORMAT_VERSION | OWNED_FORMAT => {
            let (version, rest) = split_field(rest).ok_or(DecodeError::BadVersion)?;
            (parse_version(version)?, rest)
        }
        other => return Err(DecodeError::UnsupportedVersion(other)),
    };
    let (owner_index, rest) = if format == OWNED_FORMAT {
        let field = rest
            .get(..OWNER_INDEX_DIGITS)
            .ok_or(DecodeError::BadOwnerIndex)?;
        let index = OwnerIndex::parse(field).ok_or(DecodeError::BadOwnerIndex)?;
        let rest = rest[OWNER_INDEX_DIGITS..]
            .strip_prefix(b":")
            .ok_or(DecodeError::BadOwnerIndex)?;
        (Some(index), rest)
    } else {
        (None, rest)
    };
    let (expiry, payload) = split_field(rest).ok_or(DecodeError::BadExpiry)?;
    let expires_at: i64 = parse_ascii(expiry).ok_or(DecodeError::BadExpiry)?;
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(DecodeError::Json)?;
    match value {
        serde_json::Value::Object(map) => Ok(Record {
            data: SessionData::from(map),
            version,
            expires_at,
            owner_index,
        }),
        _ => Err(DecodeError::NotAnObject),
    }
}

/// Exactly 16 lowercase hex digits, not all zero: the one spelling [`version_prefix`] writes, so
/// that comparing prefixes as strings and comparing versions agree.
fn parse_version(field: &[u8]) -> Result<Version, DecodeError> {
    let well_formed = field.len() == VERSION_DIGITS
        && field
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    let value = std::str::from_utf8(field)
        .ok()
        .filter(|_| well_formed)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .filter(|&v| v != 0)
        .ok_or(DecodeError::BadVersion)?;
    Ok(Version::from_u64(value))
}

fn split_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    // Header fields are short; bounding the search keeps garbage input from scanning megabytes.
    let colon = bytes.iter().take(24).position(|&b| b == b':')?;
    Some((&bytes[..colon], &bytes[colon + 1..]))
}

fn parse_ascii<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: serde_json::Value) -> SessionData {
        SessionData::try_from(v).unwrap()
    }

    #[test]
    fn round_trips_extreme_values_exactly() {
        let d = data(json!({
            "max": u64::MAX, "min": i64::MIN, "pi": std::f64::consts::PI, "tiny": 5e-324,
            "neg_zero": -0.0, "s": "ünïcødé ✓ 🚀", "empty": "", "nested": {"a": [1, {"b": null}]}
        }));
        let v = Version::generate();
        let bytes = encode(&d, v, 1_732_320_000_000, DEFAULT_MAX_RECORD_BYTES).unwrap();
        let rec = decode(&bytes).unwrap();
        assert_eq!(rec.data, d);
        assert_eq!(rec.version, v);
        assert_eq!(rec.expires_at, 1_732_320_000_000);
        let nz = rec
            .data
            .get::<f64>("neg_zero")
            .ok()
            .flatten()
            .unwrap_or(1.0);
        assert!(nz == 0.0 && nz.is_sign_negative());
    }

    #[test]
    fn the_size_bound_is_never_below_the_encoded_length() {
        let samples = [
            json!({}),
            json!({"": ""}),
            json!({"ctl": "\u{0}\u{1}\u{1f}\"\\", "n": [i64::MIN, u64::MAX, -2.2250738585072014e-308, 5e-324, -0.0]}),
            json!({"emoji": "🚀👩‍👩‍👧", "nested": {"a": [[[]], {}, null, true, false]}}),
            json!({"pad": "x".repeat(10_000), "k": {"x".repeat(300): 1.5}}),
        ];
        for sample in samples {
            let d = data(sample);
            let exact = encode(&d, Version::from_u64(u64::MAX), i64::MIN, usize::MAX)
                .unwrap()
                .len();
            let size = estimate_size(&d);
            assert!(
                size.upper_bound >= exact,
                "bound {} < exact {exact} for {d:?}",
                size.upper_bound
            );
            assert!(
                size.approx * 2 >= exact && size.approx <= exact * 2 + 64,
                "approx {} vs {exact}",
                size.approx
            );
        }
    }

    /// `{"v": [[…[0]…]]}` with the session object counted: `levels` deep in all.
    fn nested(levels: usize, object: bool) -> SessionData {
        let mut v = json!(0);
        for _ in 1..levels {
            v = if object {
                json!({ "k": v })
            } else {
                json!([v])
            };
        }
        data(json!({ "v": v }))
    }

    #[test]
    fn data_at_the_nesting_limit_round_trips_and_one_level_more_is_refused() {
        for object in [false, true] {
            let deepest = nested(MAX_NESTING_DEPTH, object);
            let bytes = encode(&deepest, Version::generate(), 1, usize::MAX).unwrap();
            assert_eq!(decode(&bytes).unwrap().data, deepest);
            let too_deep = nested(MAX_NESTING_DEPTH + 1, object);
            assert!(matches!(
                encode(&too_deep, Version::generate(), 1, usize::MAX),
                Err(Error::TooDeep {
                    limit: MAX_NESTING_DEPTH
                })
            ));
            assert!(check_nesting(&too_deep).is_err());
        }
        // Far beyond serde_json's own recursion limit, still a typed error, not a crash.
        assert!(matches!(
            check_nesting(&nested(1000, false)),
            Err(Error::TooDeep { .. })
        ));
    }

    #[test]
    fn too_large_reports_sizes() {
        let d = data(json!({"x": "a".repeat(100)}));
        match encode(&d, Version::generate(), 0, 50) {
            Err(Error::TooLarge { size, limit }) => assert!(size > 100 && limit == 50),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn owned_sessions_are_written_in_format_3_with_the_owner_index() {
        use crate::{Owner, OwnerInfo};
        let owner = Owner::new("alice").unwrap();
        let mut data = SessionData::new();
        data.insert("n", 1).unwrap();
        OwnerInfo::new(owner.clone(), 1, 2, [])
            .unwrap()
            .put_into(&mut data);
        let version = Version::generate();
        let bytes = encode(&data, version, 42, usize::MAX).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let prefix = String::from_utf8(version_prefix(version)).unwrap();
        // The same layout as format 2 up to the version, then the owner index.
        assert_eq!(&text[..3], "ss3");
        assert_eq!(&text[3..21], &prefix[3..]);
        assert_eq!(&text[21..53], owner.index().as_str());
        let record = decode(&bytes).unwrap();
        assert_eq!(record.data, data);
        assert_eq!(record.version, version);
        assert_eq!(record.expires_at, 42);
        assert_eq!(record.owner_index, Some(owner.index()));
        // Without the owner, format 2 again and no index.
        data.remove(crate::OWNER_FIELD);
        let bytes = encode(&data, version, 42, usize::MAX).unwrap();
        assert!(bytes.starts_with(&version_prefix(version)));
        assert_eq!(decode(&bytes).unwrap().owner_index, None);
        // A malformed owner is refused, not written.
        data.insert(crate::OWNER_FIELD, 7).unwrap();
        assert!(matches!(
            encode(&data, version, 42, usize::MAX),
            Err(Error::InvalidOwner { .. })
        ));
    }

    #[test]
    fn garbage_and_future_formats_are_typed_decode_errors() {
        assert!(matches!(decode(b""), Err(DecodeError::NotARecord)));
        assert!(matches!(
            decode(b"\xff\x00garbage"),
            Err(DecodeError::NotARecord)
        ));
        assert!(matches!(
            decode(b"ss4:00000000000000ab:1:{}"),
            Err(DecodeError::UnsupportedVersion(4))
        ));
        assert!(matches!(
            decode(b"ss3:00000000000000ab:1:{}"),
            Err(DecodeError::BadOwnerIndex)
        ));
        assert!(matches!(
            decode(b"ss3:00000000000000ab:0123456789abcdef0123456789ABCDEF:1:{}"),
            Err(DecodeError::BadOwnerIndex)
        ));
        assert!(matches!(decode(b"ss1:x:{}"), Err(DecodeError::BadExpiry)));
        assert!(matches!(decode(b"ss1:1:{"), Err(DecodeError::Json(_))));
        assert!(matches!(
            decode(b"ss1:1:[1]"),
            Err(DecodeError::NotAnObject)
        ));
        assert!(decode(b"ss1:-5:{}").is_ok());
        assert!(matches!(
            decode(b"ss2:00000000000000ab:x:{}"),
            Err(DecodeError::BadExpiry)
        ));
        assert!(matches!(
            decode(b"ss2:00000000000000ab:1:[1]"),
            Err(DecodeError::NotAnObject)
        ));
    }

    #[test]
    fn a_format_1_record_decodes_with_the_legacy_version() {
        let rec =
            decode(b"ss1:1732320000000:{\"user\":\"alice\",\"n\":18446744073709551615}").unwrap();
        assert_eq!(rec.version, Version::LEGACY);
        assert_eq!(rec.expires_at, 1_732_320_000_000);
        assert_eq!(rec.data, data(json!({"user": "alice", "n": u64::MAX})));
    }

    #[test]
    fn a_format_2_record_decodes_with_its_version() {
        let rec = decode(b"ss2:9f86d081884c7d65:-7:{\"a\":1}").unwrap();
        assert_eq!(rec.version, Version::from_u64(0x9f86_d081_884c_7d65));
        assert_eq!(rec.expires_at, -7);
        assert_eq!(rec.data, data(json!({"a": 1})));
    }

    #[test]
    fn malformed_record_versions_are_refused() {
        for bytes in [
            &b"ss2:1:{}"[..],
            b"ss2:9F86D081884C7D65:1:{}",
            b"ss2:9f86d081884c7d6:1:{}",
            b"ss2:9f86d081884c7d650:1:{}",
            b"ss2:+f86d081884c7d65:1:{}",
            b"ss2:0000000000000000:1:{}",
            b"ss2:",
        ] {
            assert!(
                matches!(
                    decode(bytes),
                    Err(DecodeError::BadVersion | DecodeError::BadExpiry)
                ),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(matches!(
            decode(b"ss2:0000000000000000:1:{}"),
            Err(DecodeError::BadVersion)
        ));
    }

    #[test]
    fn every_record_starts_with_its_version_prefix() {
        let v = Version::from_u64(0xab);
        let bytes = encode(&data(json!({"k": "v"})), v, 5, usize::MAX).unwrap();
        assert_eq!(bytes, b"ss2:00000000000000ab:5:{\"k\":\"v\"}");
        assert!(bytes.starts_with(&version_prefix(v)));
        assert!(!bytes.starts_with(&version_prefix(Version::from_u64(0xac))));
        assert!(!bytes.starts_with(&version_prefix(Version::LEGACY)));
        assert_eq!(version_prefix(Version::LEGACY), b"ss1:");
        assert!(b"ss1:5:{}".starts_with(&version_prefix(Version::LEGACY)));
    }

    #[test]
    fn the_legacy_version_is_never_written() {
        assert!(matches!(
            encode(&SessionData::new(), Version::LEGACY, 1, usize::MAX),
            Err(Error::Encode(_))
        ));
    }

    #[test]
    fn max_age_must_be_positive_and_bounded() {
        assert!(max_age_ms(Duration::ZERO).is_err());
        assert!(max_age_ms(Duration::seconds(-1)).is_err());
        assert!(max_age_ms(MAX_MAX_AGE + Duration::SECOND).is_err());
        assert_eq!(max_age_ms(Duration::microseconds(1)).ok(), Some(1));
        assert_eq!(max_age_ms(Duration::seconds(2)).ok(), Some(2000));
    }
}
