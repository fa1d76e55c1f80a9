//! [`TowerSessionsStore`]: any of our stores as a tower-sessions store.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use session_core::{Duration, Error, SessionData, SessionKey, SessionStore, error_chain};
use time::{OffsetDateTime, UtcOffset};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store;

use crate::shared::{self, PROBE_MAX_AGE, Replaced};

/// Any [`SessionStore`] of ours as a `tower_sessions::SessionStore` (tower-sessions 0.15): hand
/// it to `SessionManagerLayer::new`.
///
/// - `create` never overwrites an existing session: while the record's id is taken it draws a
///   new `Id` (see the crate docs for how the check is made).
/// - `save` replaces the data of a live session only, with a conditional write; a session
///   destroyed or expired meanwhile stays gone, so a request that finishes after a logout (or
///   runs with `with_always_save(true)`) can never bring it back. Concurrent saves of one
///   session end last-writer-wins, as with tower-sessions' own stores.
/// - `load` returns `None` for a missing or expired session.
/// - `delete` destroys the session, and succeeds when it is already gone.
///
/// `S` is a concrete store or `Arc<dyn SessionStore>` (the default).
///
/// ```no_run
/// use session_adapters::TowerSessionsStore;
/// use tower_sessions::{Expiry, SessionManagerLayer, cookie::time::Duration};
///
/// # async fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let store = session_config::connect_from_env().await?; // an Arc<dyn SessionStore>
/// let layer = SessionManagerLayer::new(TowerSessionsStore::new(store))
///     .with_expiry(Expiry::OnInactivity(Duration::minutes(30)));
/// let app: axum::Router = axum::Router::new().layer(layer);
/// # Ok(()) }
/// ```
///
/// # How a tower-sessions record is stored
/// | tower-sessions `Record` | our record |
/// |---|---|
/// | `id` (an `i128`, written as 22 base64url characters by its `Display`) | the [`SessionKey`]: those 22 characters, all within our key alphabet |
/// | `data` (`HashMap<String, serde_json::Value>`) | the session data's `"data"` member, a JSON object, values unchanged |
/// | `expiry_date` (`OffsetDateTime`) | the record's expiry (`max_age` = `expiry_date` − now, in milliseconds), and exactly, to the nanosecond and with its UTC offset, in the session data's `"expiry_date"` member: `{"unix_nanos": …, "offset_seconds": …}` |
///
/// So a stored session reads, for example,
/// `{"data": {"user": "alice"}, "expiry_date": {"unix_nanos": 1732320000123456789, "offset_seconds": 0}}`.
/// The data sits one level down, so tower-sessions data may nest one level less deep than
/// [`MAX_NESTING_DEPTH`](session_core::MAX_NESTING_DEPTH).
///
/// # Behaviours that differ from tower-sessions' own stores
/// - `save` replaces a *live* record only (see [`TowerSessionsStore`]); tower-sessions itself
///   only ever calls `save` for a session it loaded or created, so apps see no difference except
///   that a logout wins over a concurrent request. `CachingSessionStore` uses `save` to fill its
///   cache after a miss: with this adapter as the cache, that fill writes nothing, so every load
///   goes to the backing store (correct, only uncached).
/// - A record whose `expiry_date` is already past is not stored: `create` writes nothing and
///   `save` removes the session (our stores take a positive lifetime; an expired session must
///   not be returned anyway). An `expiry_date` more than 100 years ahead
///   ([`MAX_MAX_AGE`](session_core::MAX_MAX_AGE)) is refused with an `Encode` error.
/// - tower-sessions' errors carry only a message: our [`Error`]'s source chain is flattened into
///   it (it never contains the session id). Bad input gives `Encode` errors, the rest `Backend`
///   errors.
/// - `load` of a record it cannot read (corrupted bytes, or a session another middleware wrote
///   under the same key) returns `None`, as for a missing session, instead of a `Decode` error:
///   tower-sessions would turn that error into a `500` on every request carrying the cookie. The
///   record is left as it is, and `create` never reuses its id.
#[derive(Debug, Clone)]
pub struct TowerSessionsStore<S = std::sync::Arc<dyn SessionStore>> {
    store: S,
}

impl<S: SessionStore> TowerSessionsStore<S> {
    /// Wraps `store`.
    pub fn new(store: S) -> Self {
        TowerSessionsStore { store }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.store
    }
}

/// The key the store keeps a tower-sessions id under: the digest
/// ([`IdsAtRest::Sha256`](session_core::IdsAtRest)) of its 22-character base64url form (the
/// cookie's), so the store never holds an id that could be replayed as a cookie.
fn key_of(id: &Id) -> session_core::Result<SessionKey> {
    Ok(SessionKey::parse(&id.to_string())?.digest())
}

/// The lifetime left until `expiry_date`, `None` when it has passed.
fn remaining(expiry_date: OffsetDateTime) -> Option<Duration> {
    let left = expiry_date - OffsetDateTime::now_utc();
    (left > Duration::ZERO).then_some(left)
}

/// tower-sessions' data and expiry as our session data (see the module docs).
fn to_data(record: &Record) -> session_core::Result<SessionData> {
    let unix_nanos = i64::try_from(record.expiry_date.unix_timestamp_nanos()).map_err(|_| {
        Error::InvalidMaxAge {
            reason: "expiry_date outside the years 1678 to 2261",
        }
    })?;
    let data: Map<String, Value> = record
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let stored = json!({
        "data": data,
        "expiry_date": {
            "unix_nanos": unix_nanos,
            "offset_seconds": record.expiry_date.offset().whole_seconds(),
        },
    });
    SessionData::try_from(stored)
}

/// Why a save found a record it cannot read.
const UNREADABLE: &str = "stored session is not a readable tower-sessions record; left as it is";

/// The expiry date in data written by [`to_data`]; `None` when the data is not in that shape (a
/// session written by another middleware sharing the store, or by hand).
fn expiry_in(data: &SessionData) -> Option<OffsetDateTime> {
    if !data.get_value("data").is_some_and(Value::is_object) {
        return None;
    }
    let expiry = data.get_value("expiry_date")?;
    let unix_nanos = expiry.get("unix_nanos")?.as_i64()?;
    let offset = i32::try_from(expiry.get("offset_seconds")?.as_i64()?).ok()?;
    let offset = UtcOffset::from_whole_seconds(offset).ok()?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos)).ok()?;
    Some(at.to_offset(offset))
}

/// The inverse of [`to_data`]; `None` when the data is not in that shape.
fn from_data(id: Id, data: SessionData) -> Option<Record> {
    let expiry_date = expiry_in(&data)?;
    let Some(Value::Object(values)) = data.into_map().remove("data") else {
        return None;
    };
    Some(Record {
        id,
        data: values.into_iter().collect::<HashMap<_, _>>(),
        expiry_date,
    })
}

/// Our error as tower-sessions' (message only; see the module docs).
fn to_tower(e: Error) -> session_store::Error {
    let message = error_chain(&e);
    match e {
        Error::Decode(_) => session_store::Error::Decode(message),
        Error::Encode(_)
        | Error::TooLarge { .. }
        | Error::TooDeep { .. }
        | Error::InvalidMaxAge { .. }
        | Error::InvalidKey { .. } => session_store::Error::Encode(message),
        _ => session_store::Error::Backend(message),
    }
}

#[async_trait]
impl<S: SessionStore + 'static> session_store::SessionStore for TowerSessionsStore<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let Some(max_age) = remaining(record.expiry_date) else {
            // Already expired: there is no live session to store.
            return Ok(());
        };
        let data = to_data(record).map_err(to_tower)?;
        record.id = shared::create(&self.store, record.id, key_of, Id::default, &data, max_age)
            .await
            .map_err(to_tower)?;
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let key = key_of(&record.id).map_err(to_tower)?;
        let Some(max_age) = remaining(record.expiry_date) else {
            return self.store.destroy(&key).await.map_err(to_tower);
        };
        let data = to_data(record).map_err(to_tower)?;
        match shared::replace(&self.store, &key, &data, max_age, |stored| {
            expiry_in(stored).is_some()
        })
        .await
        {
            Ok(Replaced::Written) => Ok(()),
            Ok(Replaced::Missing) => {
                tracing::debug!(
                    "session ended (logout or expiry) before its save; nothing written"
                );
                Ok(())
            }
            // `load` answered `None` for this record, so tower-sessions only saves here when the
            // record changed under a loaded session: report it rather than overwrite it.
            Ok(Replaced::Unreadable) => Err(session_store::Error::Decode(UNREADABLE.to_owned())),
            Err(e) => Err(to_tower(e)),
        }
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let key = key_of(session_id).map_err(to_tower)?;
        let record = match self.store.get(&key, PROBE_MAX_AGE, false).await {
            Ok(None) => return Ok(None),
            Ok(Some(data)) => from_data(*session_id, data),
            // An unreadable record is no session, as a missing one is: an error here would
            // answer 500 to every request with this cookie until the record expired. The record
            // itself is left alone, and `create` will not reuse its id.
            Err(e) if e.is_decode() => None,
            Err(e) => return Err(to_tower(e)),
        };
        let Some(record) = record else {
            tracing::warn!("stored session is not a readable tower-sessions record; starting anew");
            return Ok(None);
        };
        // The store's expiry is in whole milliseconds; the record's may end within the last one.
        Ok(remaining(record.expiry_date).map(|_| record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let key = key_of(session_id).map_err(to_tower)?;
        self.store.destroy(&key).await.map_err(to_tower)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(expiry_date: OffsetDateTime) -> Record {
        let data = [
            ("user".to_owned(), json!("alice")),
            ("big".to_owned(), json!(u64::MAX)),
            ("nested".to_owned(), json!({"a": [1.5, null, {"b": "ü"}]})),
        ];
        Record {
            id: Id::default(),
            data: data.into_iter().collect(),
            expiry_date,
        }
    }

    #[test]
    fn a_record_round_trips_to_the_nanosecond_and_offset() {
        let offset = UtcOffset::from_hms(5, 30, 15).unwrap();
        let expiry = OffsetDateTime::from_unix_timestamp_nanos(1_732_320_000_123_456_789)
            .unwrap()
            .to_offset(offset);
        let original = record(expiry);
        let back = from_data(original.id, to_data(&original).unwrap()).unwrap();
        assert_eq!(back, original);
        assert_eq!(back.expiry_date.offset(), offset);
    }

    #[test]
    fn ids_are_stored_under_the_digest_of_their_cookie_form() {
        for _ in 0..1000 {
            let id = Id::default();
            let cookie_form = SessionKey::parse(&id.to_string()).unwrap();
            assert_eq!(cookie_form.as_str().parse::<Id>().unwrap(), id);
            let key = key_of(&id).unwrap();
            assert_eq!(key, cookie_form.digest());
            assert!(!key.as_str().contains(cookie_form.as_str()));
        }
    }

    #[test]
    fn data_not_in_the_record_shape_is_no_record() {
        for stored in [
            json!({"user": "alice"}),
            json!({"data": {}, "expiry_date": {"unix_nanos": "1", "offset_seconds": 0}}),
            json!({"data": [], "expiry_date": {"unix_nanos": 1, "offset_seconds": 0}}),
            json!({"data": {}, "expiry_date": {"unix_nanos": 1, "offset_seconds": 999_999}}),
        ] {
            let data = SessionData::try_from(stored).unwrap();
            assert_eq!(from_data(Id::default(), data), None);
        }
    }

    #[test]
    fn a_past_expiry_leaves_no_lifetime() {
        assert_eq!(
            remaining(OffsetDateTime::now_utc() - Duration::SECOND),
            None
        );
        let left = remaining(OffsetDateTime::now_utc() + Duration::MINUTE).unwrap();
        assert!(left > Duration::seconds(59) && left <= Duration::MINUTE);
    }
}
