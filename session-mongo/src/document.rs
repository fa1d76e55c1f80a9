//! The shape of a session document.
//!
//! ```text
//! { _id: "<session key>", data: "ss2:9f86d081884c7d65:1732320000000:{\"user\":\"alice\"}",
//!   expiresAt: ISODate(…), version: NumberLong(…), owner: "2bd806c9…" }
//! ```
//!
//! `owner` is present only on a session with an owner: its
//! [`OwnerIndex`](session_core::OwnerIndex), which a sparse index on `owner` (see `index.rs`)
//! finds. The documents are their own owner index, so it cannot leak: an expired document
//! leaves it when the TTL monitor deletes the document.
//!
//! `data` holds the record [`session_core::encode`] produces (a versioned header plus JSON text)
//! as a BSON **string**, not as a BSON sub-document. Converting JSON to BSON is lossy: BSON has no
//! unsigned 64-bit integer (so `u64` values above `i64::MAX` would not survive), field names may
//! not contain NUL and `$`/`.` names are awkward in queries, and drivers normalise `-0.0` and
//! number types differently. The record string round-trips every JSON value exactly, carries the
//! format version, and stays readable in `mongosh`. A string rather than binary, because the record
//! is always valid UTF-8 and a string is what an operator debugging a session wants to see.
//!
//! `version` is the record version (the 64 bits of [`Version`] as a BSON 64-bit integer, the
//! same value as in the record header): a field, so that a conditional write puts it in the
//! filter of its update and the server never parses the record. Documents written before
//! versions existed have no `version` field and an `ss1` record; both mean [`Version::LEGACY`].
//!
//! `expiresAt` is the authoritative expiry (the expiry inside the record header is only the one at
//! write time): a BSON Date in epoch milliseconds from the application's clock, which the TTL
//! index reads and every query filters on.

use mongodb::bson::{Bson, DateTime, Document, doc};
use session_core::{DecodeError, Loaded, OwnerIndex, SessionKey, Version};

/// The field holding the encoded record.
pub(crate) const DATA: &str = "data";

/// The field holding the expiry, a BSON Date; the TTL index is on it.
pub(crate) const EXPIRES_AT: &str = "expiresAt";

/// The field holding the record version, a BSON 64-bit integer; absent on legacy documents.
pub(crate) const VERSION: &str = "version";

/// The field holding the owner index of a session with an owner; absent otherwise.
pub(crate) const OWNER: &str = "owner";

/// The version as BSON stores it: the same 64 bits, as a signed integer (BSON has no unsigned
/// 64-bit type).
fn version_bson(version: Version) -> i64 {
    i64::from_ne_bytes(version.as_u64().to_ne_bytes())
}

/// The whole document of a session, for `replaceOne`.
pub(crate) fn session_document(
    key: &SessionKey,
    record: String,
    version: Version,
    expires_at: i64,
    owner: Option<&OwnerIndex>,
) -> Document {
    let mut document = doc! {
        "_id": key.as_str(),
        DATA: record,
        EXPIRES_AT: DateTime::from_millis(expires_at),
        VERSION: version_bson(version),
    };
    if let Some(owner) = owner {
        document.insert(OWNER, owner.as_str());
    }
    document
}

/// Matches the session under `key` only while it is unexpired at `now` and at `version`.
pub(crate) fn live_at(key: &SessionKey, now: i64, version: Version) -> Document {
    let mut filter = live(key, now);
    if version.is_legacy() {
        filter.insert(VERSION, doc! { "$exists": false });
    } else {
        filter.insert(VERSION, version_bson(version));
    }
    filter
}

/// Replaces data, expiry, version and owner, for a conditional write.
pub(crate) fn set_record(
    record: String,
    version: Version,
    expires_at: i64,
    owner: Option<&OwnerIndex>,
) -> Document {
    let mut set = doc! {
        DATA: record,
        EXPIRES_AT: DateTime::from_millis(expires_at),
        VERSION: version_bson(version),
    };
    match owner {
        Some(owner) => {
            set.insert(OWNER, owner.as_str());
            doc! { "$set": set }
        }
        None => doc! { "$set": set, "$unset": { OWNER: "" } },
    }
}

/// Matches the live sessions of `owner` at `now`, except the one under `keep`.
pub(crate) fn owned_by(owner: &OwnerIndex, now: i64, keep: Option<&SessionKey>) -> Document {
    let mut filter =
        doc! { OWNER: owner.as_str(), EXPIRES_AT: { "$gt": DateTime::from_millis(now) } };
    if let Some(keep) = keep {
        filter.insert("_id", doc! { "$ne": keep.as_str() });
    }
    filter
}

/// The key, expiry and record of a listed session, or `None` for a malformed document.
pub(crate) fn listed(document: &Document) -> Option<(&str, &str, i64)> {
    Some((
        document.get_str("_id").ok()?,
        document.get_str(DATA).ok()?,
        document.get_datetime(EXPIRES_AT).ok()?.timestamp_millis(),
    ))
}

/// Matches the session under `key` only while it is unexpired at `now` (epoch ms).
///
/// The TTL monitor deletes expired documents only about once a minute, so without this filter a
/// read could return, and a touch could extend, a session that has already expired.
pub(crate) fn live(key: &SessionKey, now: i64) -> Document {
    doc! { "_id": key.as_str(), EXPIRES_AT: { "$gt": DateTime::from_millis(now) } }
}

/// Matches the session under `key`, expired or not.
pub(crate) fn by_key(key: &SessionKey) -> Document {
    doc! { "_id": key.as_str() }
}

/// Moves the expiry and touches nothing else.
pub(crate) fn set_expiry(expires_at: i64) -> Document {
    doc! { "$set": { EXPIRES_AT: DateTime::from_millis(expires_at) } }
}

/// Only the data, version and expiry fields are read back.
pub(crate) fn data_projection() -> Document {
    doc! { DATA: 1, VERSION: 1, EXPIRES_AT: 1 }
}

/// Only the `_id` is read back: for "is there a live document?".
pub(crate) fn id_projection() -> Document {
    doc! { "_id": 1 }
}

/// Decodes the session data and version of a document read from the collection. The version
/// is the `version` field's (the one conditional writes compare); a document without one is
/// legacy.
pub(crate) fn decode(document: &Document) -> Result<Loaded, DecodeError> {
    let version = match document.get(VERSION) {
        None => Version::LEGACY,
        Some(Bson::Int64(v)) => Version::from_u64(u64::from_ne_bytes(v.to_ne_bytes())),
        Some(_) => {
            return Err(DecodeError::Field(
                "the session document's `version` field is not a 64-bit integer",
            ));
        }
    };
    match document.get(DATA) {
        Some(Bson::String(record)) => Ok(Loaded::new(
            session_core::decode(record.as_bytes())?.data,
            version,
        )),
        Some(_) => Err(DecodeError::Field(
            "the session document's `data` field is not a string",
        )),
        None => Err(DecodeError::Field(
            "the session document has no `data` field",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::{DEFAULT_MAX_RECORD_BYTES, SessionData, encode};

    fn key() -> SessionKey {
        SessionKey::generate()
    }

    #[test]
    fn a_written_document_decodes_to_its_data() {
        let mut data = SessionData::new();
        data.insert("big", u64::MAX).unwrap();
        data.insert("$set.x", "a\0b").unwrap();
        // A version above i64::MAX survives the trip through a signed BSON integer.
        let version = Version::from_u64(u64::MAX - 1);
        let record = encode(&data, version, 42, DEFAULT_MAX_RECORD_BYTES).unwrap();
        let record = String::from_utf8(record).unwrap();
        let document = session_document(&key(), record, version, 42, None);
        assert_eq!(
            document.get_datetime(EXPIRES_AT).ok(),
            Some(&DateTime::from_millis(42))
        );
        assert_eq!(decode(&document).ok(), Some(Loaded::new(data, version)));
    }

    #[test]
    fn a_document_from_before_versions_is_legacy() {
        let loaded = decode(&doc! { DATA: "ss1:1:{\"a\":1}" }).unwrap();
        assert_eq!(loaded.version, Version::LEGACY);
        let filter = live_at(&key(), 0, Version::LEGACY);
        assert_eq!(
            filter.get_document(VERSION).ok(),
            Some(&doc! { "$exists": false })
        );
        assert!(matches!(
            decode(&doc! { DATA: "ss1:1:{}", VERSION: "x" }),
            Err(DecodeError::Field(_))
        ));
    }

    #[test]
    fn wrong_types_and_garbage_are_decode_errors() {
        assert!(matches!(
            decode(&doc! { DATA: 42 }),
            Err(DecodeError::Field(_))
        ));
        assert!(matches!(decode(&doc! {}), Err(DecodeError::Field(_))));
        assert!(matches!(
            decode(&doc! { DATA: "garbage" }),
            Err(DecodeError::NotARecord)
        ));
        assert!(matches!(
            decode(&doc! { DATA: "ss9:1:{}" }),
            Err(DecodeError::UnsupportedVersion(9))
        ));
    }
}
