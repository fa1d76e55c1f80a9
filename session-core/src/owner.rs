//! Sessions per user: the owner of a session, the metadata shown in a "your sessions" list, and
//! the opaque handle that names a session in that list.
//!
//! An application sets a session's owner at login (the middleware's `Session::set_owner`). The
//! owner travels *in the session data*, under the reserved top-level field [`OWNER_FIELD`], so
//! every store, every merge and every conditional write treats it like any other field, and a
//! session without an owner stores nothing extra. When a store encodes a record whose data has
//! an owner, the header names the owner's [`OwnerIndex`] (format 3, see
//! [`encode`](crate::encode)), so a server-side script can keep the owner's index without
//! parsing JSON.
//!
//! Each store keeps an index owner → sessions and answers
//! [`SessionStore::list_owned`](crate::SessionStore::list_owned) and
//! [`SessionStore::destroy_owned`](crate::SessionStore::destroy_owned) from it. A listed session
//! is named by a [`SessionHandle`], a digest of its id: the id is a credential and never leaves
//! the server, and the handle cannot be turned back into it.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{Error, Result, SessionData, SessionKey};

/// The reserved top-level field of [`SessionData`] that holds the session's owner
/// ([`OwnerInfo`]). Applications set it through the middleware, never by hand.
pub const OWNER_FIELD: &str = "$owner";

/// The longest owner id, in bytes.
pub const MAX_OWNER_LEN: usize = 256;

/// At most this many metadata entries per session.
pub const MAX_META_ENTRIES: usize = 16;

/// The longest metadata name, in bytes.
pub const MAX_META_NAME_LEN: usize = 64;

/// The longest metadata value, in bytes; longer values (a long user agent) are cut at a
/// character boundary rather than refused.
pub const MAX_META_VALUE_LEN: usize = 512;

/// Hex digits of an [`OwnerIndex`].
pub(crate) const OWNER_INDEX_DIGITS: usize = 32;

/// Who a session belongs to: the application's user id (any string of 1 to
/// [`MAX_OWNER_LEN`] bytes without control characters).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(String);

impl Owner {
    /// Checks and wraps a user id.
    ///
    /// # Errors
    /// [`Error::InvalidOwner`] for an empty id, one above [`MAX_OWNER_LEN`] bytes, or one with
    /// control characters.
    pub fn new(id: impl Into<String>) -> Result<Owner> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::InvalidOwner { reason: "empty" });
        }
        if id.len() > MAX_OWNER_LEN {
            return Err(Error::InvalidOwner {
                reason: "longer than MAX_OWNER_LEN bytes",
            });
        }
        if id.chars().any(char::is_control) {
            return Err(Error::InvalidOwner {
                reason: "contains control characters",
            });
        }
        Ok(Owner(id))
    }

    /// The user id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of this owner's index in the stores: a digest, fixed width and free of any
    /// character a key or a header could choke on.
    pub fn index(&self) -> OwnerIndex {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hex = String::with_capacity(OWNER_INDEX_DIGITS);
        for byte in &digest[..OWNER_INDEX_DIGITS / 2] {
            hex.push_str(&format!("{byte:02x}"));
        }
        OwnerIndex(hex)
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Owner").field(&self.0).finish()
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an owner's index: the first 128 bits of SHA-256 of the owner id, as 32 lowercase
/// hex digits. Stores use it in index keys, columns and record headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerIndex(String);

impl OwnerIndex {
    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses 32 lowercase hex digits (as found in a record header).
    pub(crate) fn parse(field: &[u8]) -> Option<OwnerIndex> {
        let ok = field.len() == OWNER_INDEX_DIGITS
            && field
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        ok.then(|| OwnerIndex(String::from_utf8_lossy(field).into_owned()))
    }
}

/// A session's owner as the session data holds it under [`OWNER_FIELD`]: who, since when, the
/// idle lifetime the session was logged in with, and small metadata for the "your sessions"
/// list (user agent, IP address, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerInfo {
    /// The user.
    pub owner: Owner,
    /// When the owner was set (the login), epoch ms: shown as the session's "created at".
    pub since: i64,
    /// The idle lifetime (max age) in ms the session lives by: "last seen" is the record's
    /// expiry minus this.
    pub ttl_ms: i64,
    /// Small application metadata.
    pub meta: BTreeMap<String, String>,
}

impl OwnerInfo {
    /// Owner info for a login at `since` with idle lifetime `ttl_ms`, checking and trimming
    /// `meta` (names up to [`MAX_META_NAME_LEN`] bytes, values cut to [`MAX_META_VALUE_LEN`]
    /// bytes, at most [`MAX_META_ENTRIES`] entries).
    ///
    /// # Errors
    /// [`Error::InvalidOwner`] for too many entries, an empty or long name, or control
    /// characters in a name.
    pub fn new(
        owner: Owner,
        since: i64,
        ttl_ms: i64,
        meta: impl IntoIterator<Item = (String, String)>,
    ) -> Result<OwnerInfo> {
        let mut checked = BTreeMap::new();
        for (name, value) in meta {
            if name.is_empty() || name.len() > MAX_META_NAME_LEN {
                return Err(Error::InvalidOwner {
                    reason: "metadata name empty or longer than MAX_META_NAME_LEN",
                });
            }
            if name.chars().any(char::is_control) {
                return Err(Error::InvalidOwner {
                    reason: "metadata name contains control characters",
                });
            }
            checked.insert(name, truncate(value, MAX_META_VALUE_LEN));
            if checked.len() > MAX_META_ENTRIES {
                return Err(Error::InvalidOwner {
                    reason: "more than MAX_META_ENTRIES metadata entries",
                });
            }
        }
        Ok(OwnerInfo {
            owner,
            since,
            ttl_ms: ttl_ms.max(0),
            meta: checked,
        })
    }

    /// The JSON value stored under [`OWNER_FIELD`].
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::from(self.owner.as_str()));
        map.insert("since".into(), Value::from(self.since));
        map.insert("ttl".into(), Value::from(self.ttl_ms));
        let meta: Map<String, Value> = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        map.insert("meta".into(), Value::Object(meta));
        Value::Object(map)
    }

    /// The owner info in `data`, `None` when the session has no owner.
    ///
    /// # Errors
    /// [`Error::InvalidOwner`] when [`OWNER_FIELD`] holds something else than what
    /// [`to_value`](Self::to_value) writes.
    pub fn from_data(data: &SessionData) -> Result<Option<OwnerInfo>> {
        let Some(value) = data.get_value(OWNER_FIELD) else {
            return Ok(None);
        };
        let bad = |reason| Error::InvalidOwner { reason };
        let map = value.as_object().ok_or(bad("$owner is not an object"))?;
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .ok_or(bad("$owner.id is not a string"))?;
        let since = map
            .get("since")
            .and_then(Value::as_i64)
            .ok_or(bad("$owner.since is not an integer"))?;
        let ttl_ms = map.get("ttl").and_then(Value::as_i64).unwrap_or(0);
        let mut meta = Vec::new();
        if let Some(m) = map.get("meta") {
            let m = m.as_object().ok_or(bad("$owner.meta is not an object"))?;
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or(bad("$owner.meta values must be strings"))?;
                meta.push((k.clone(), v.to_owned()));
            }
        }
        OwnerInfo::new(Owner::new(id)?, since, ttl_ms, meta).map(Some)
    }

    /// Stores this owner info in `data` under [`OWNER_FIELD`].
    pub fn put_into(&self, data: &mut SessionData) {
        data.as_map_mut()
            .insert(OWNER_FIELD.to_owned(), self.to_value());
    }
}

/// The owner index named by `data`'s owner, `None` for a session without owner: what stores put
/// in their index column or key.
///
/// # Errors
/// As [`OwnerInfo::from_data`].
pub fn owner_index(data: &SessionData) -> Result<Option<OwnerIndex>> {
    Ok(OwnerInfo::from_data(data)?.map(|info| info.owner.index()))
}

fn truncate(mut value: String, max: usize) -> String {
    if value.len() > max {
        let mut cut = max;
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        value.truncate(cut);
    }
    value
}

/// The opaque name of a session in a "your sessions" list: 22 base64url characters, the first
/// 128 bits of SHA-256 over a fixed label and the session id. It identifies the session to its
/// owner and to an admin, and is useless as a cookie: the id cannot be computed from it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle(String);

impl SessionHandle {
    /// The handle of the session under `key`.
    pub fn of(key: &SessionKey) -> SessionHandle {
        let mut hasher = Sha256::new();
        hasher.update(b"session-handle\0");
        hasher.update(key.as_str().as_bytes());
        let digest = hasher.finalize();
        SessionHandle(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// Parses a handle as a client sent it back.
    ///
    /// # Errors
    /// [`Error::InvalidOwner`] unless it is 22 base64url characters.
    pub fn parse(s: &str) -> Result<SessionHandle> {
        let ok = s.len() == 22
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(SessionHandle(s.to_owned()))
        } else {
            Err(Error::InvalidOwner {
                reason: "a session handle is 22 base64url characters",
            })
        }
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionHandle").field(&self.0).finish()
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One live session of an owner, as [`SessionStore::list_owned`](crate::SessionStore::list_owned)
/// returns it.
///
/// It knows the session's key, so that a store or the middleware can end it, but never shows
/// it: not in `Debug`, not in `Serialize`-able parts. Hand [`handle`](Self::handle) and the
/// times to clients, never [`key`](Self::key).
#[derive(Clone, PartialEq)]
pub struct OwnedSession {
    key: SessionKey,
    handle: SessionHandle,
    /// When the owner was set (the login), epoch ms.
    pub created_at: i64,
    /// The last request that read or touched the session, epoch ms (its expiry minus its idle
    /// lifetime).
    pub last_seen: i64,
    /// When the session expires unless used again, epoch ms.
    pub expires_at: i64,
    /// The application's metadata (user agent, IP address, …).
    pub meta: BTreeMap<String, String>,
}

impl OwnedSession {
    /// The entry for the record under `key` holding `data` and expiring at `expires_at`, if it
    /// is live at `now` (idle expiry and [absolute lifetime](crate::Lifetime)) and `data`
    /// belongs to `owner`; `None` otherwise (an index entry that lags behind a logout, an owner
    /// change or an expiry).
    pub fn from_record(
        owner: &Owner,
        key: SessionKey,
        data: &SessionData,
        expires_at: i64,
        now: i64,
    ) -> Option<OwnedSession> {
        if expires_at <= now || crate::lifetime_over(data, now) {
            return None;
        }
        let info = OwnerInfo::from_data(data).ok().flatten()?;
        if &info.owner != owner {
            return None;
        }
        Some(OwnedSession {
            handle: SessionHandle::of(&key),
            key,
            created_at: info.since,
            last_seen: expires_at.saturating_sub(info.ttl_ms).max(info.since),
            expires_at,
            meta: info.meta,
        })
    }

    /// As [`from_record`](Self::from_record), for a stored row: the key as stored and the
    /// encoded record. `None` also when the key or the record does not decode (a corrupted row
    /// is left out of a listing rather than failing it).
    pub fn from_stored(
        owner: &Owner,
        key: &str,
        bytes: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Option<OwnedSession> {
        let key = SessionKey::parse(key).ok()?;
        let record = crate::decode(bytes).ok()?;
        OwnedSession::from_record(owner, key, &record.data, expires_at, now)
    }

    /// The session's handle.
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }

    /// The session's key: a credential. For the store and the middleware, never for a client.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }
}

impl fmt::Debug for OwnedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSession")
            .field("handle", &self.handle)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("expires_at", &self.expires_at)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_checked() {
        assert!(Owner::new("").is_err());
        assert!(Owner::new("a\nb").is_err());
        assert!(Owner::new("x".repeat(MAX_OWNER_LEN + 1)).is_err());
        assert!(Owner::new("x".repeat(MAX_OWNER_LEN)).is_ok());
        assert!(Owner::new("alice@example.com").is_ok());
    }

    #[test]
    fn the_index_is_32_hex_digits_and_differs_per_owner() {
        let a = Owner::new("alice").unwrap().index();
        let b = Owner::new("bob").unwrap().index();
        assert_eq!(a.as_str().len(), 32);
        assert!(OwnerIndex::parse(a.as_str().as_bytes()).is_some());
        assert_ne!(a, b);
    }

    #[test]
    fn owner_info_round_trips_through_data_and_trims_metadata() {
        let info = OwnerInfo::new(
            Owner::new("alice").unwrap(),
            1000,
            60_000,
            [("ua".to_owned(), "é".repeat(400))],
        )
        .unwrap();
        assert!(info.meta["ua"].len() <= MAX_META_VALUE_LEN);
        let mut data = SessionData::new();
        info.put_into(&mut data);
        assert_eq!(OwnerInfo::from_data(&data).unwrap(), Some(info));
        let too_many = (0..=MAX_META_ENTRIES).map(|i| (format!("k{i}"), String::new()));
        assert!(OwnerInfo::new(Owner::new("a").unwrap(), 0, 0, too_many).is_err());
    }

    #[test]
    fn a_malformed_owner_field_is_a_typed_error() {
        let mut data = SessionData::new();
        data.insert(OWNER_FIELD, "alice").unwrap();
        assert!(matches!(
            OwnerInfo::from_data(&data),
            Err(Error::InvalidOwner { .. })
        ));
    }

    #[test]
    fn handles_do_not_contain_the_id_and_parse_back() {
        let key = SessionKey::generate();
        let handle = SessionHandle::of(&key);
        assert_eq!(handle.as_str().len(), 22);
        assert!(!key.as_str().contains(handle.as_str()));
        assert_eq!(SessionHandle::parse(handle.as_str()).unwrap(), handle);
        assert!(SessionHandle::parse(key.as_str()).is_err());
        assert_ne!(SessionHandle::of(&SessionKey::generate()), handle);
    }

    #[test]
    fn listing_entries_skip_other_owners_and_expired_records() {
        let alice = Owner::new("alice").unwrap();
        let mut data = SessionData::new();
        OwnerInfo::new(alice.clone(), 10, 100, [])
            .unwrap()
            .put_into(&mut data);
        let key = SessionKey::generate();
        let entry = OwnedSession::from_record(&alice, key.clone(), &data, 500, 400).unwrap();
        assert_eq!((entry.created_at, entry.last_seen), (10, 400));
        assert!(!format!("{entry:?}").contains(key.as_str()));
        assert!(OwnedSession::from_record(&alice, key.clone(), &data, 400, 400).is_none());
        let bob = Owner::new("bob").unwrap();
        assert!(OwnedSession::from_record(&bob, key, &data, 500, 400).is_none());
    }
}
