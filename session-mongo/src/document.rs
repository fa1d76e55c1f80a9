//! The shape of a session document.
//!
//! ```text
//! { _id: "<session key>", data: "ss1:1732320000000:{\"user\":\"alice\"}", expiresAt: ISODate(…) }
//! ```
//!
//! `data` holds the record [`session_core::encode`] produces (a versioned header plus JSON text)
//! as a BSON **string**, not as a BSON sub-document. Converting JSON to BSON is lossy: BSON has no
//! unsigned 64-bit integer (so `u64` values above `i64::MAX` would not survive), field names may
//! not contain NUL and `$`/`.` names are awkward in queries, and drivers normalise `-0.0` and
//! number types differently. The record string round-trips every JSON value exactly, carries the
//! format version, and stays readable in `mongosh`. A string rather than binary, because the record
//! is always valid UTF-8 and a string is what an operator debugging a session wants to see.
//!
//! `expiresAt` is the authoritative expiry (the expiry inside the record header is only the one at
//! write time): a BSON Date in epoch milliseconds from the application's clock, which the TTL
//! index reads and every query filters on.

use mongodb::bson::{Bson, DateTime, Document, doc};
use session_core::{DecodeError, SessionData, SessionKey};

/// The field holding the encoded record.
pub(crate) const DATA: &str = "data";

/// The field holding the expiry, a BSON Date; the TTL index is on it.
pub(crate) const EXPIRES_AT: &str = "expiresAt";

/// The whole document of a session, for `replaceOne`.
pub(crate) fn session_document(key: &SessionKey, record: String, expires_at: i64) -> Document {
    doc! {
        "_id": key.as_str(),
        DATA: record,
        EXPIRES_AT: DateTime::from_millis(expires_at),
    }
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

/// Only the data field is read back.
pub(crate) fn data_projection() -> Document {
    doc! { DATA: 1 }
}

/// Decodes the session data of a document read from the collection.
pub(crate) fn decode(document: &Document) -> Result<SessionData, DecodeError> {
    match document.get(DATA) {
        Some(Bson::String(record)) => Ok(session_core::decode(record.as_bytes())?.data),
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
    use session_core::{DEFAULT_MAX_RECORD_BYTES, encode};

    fn key() -> SessionKey {
        SessionKey::generate()
    }

    #[test]
    fn a_written_document_decodes_to_its_data() {
        let mut data = SessionData::new();
        data.insert("big", u64::MAX).unwrap();
        data.insert("$set.x", "a\0b").unwrap();
        let record = encode(&data, 42, DEFAULT_MAX_RECORD_BYTES).unwrap();
        let record = String::from_utf8(record).unwrap();
        let document = session_document(&key(), record, 42);
        assert_eq!(
            document.get_datetime(EXPIRES_AT).ok(),
            Some(&DateTime::from_millis(42))
        );
        assert_eq!(decode(&document).ok(), Some(data));
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
