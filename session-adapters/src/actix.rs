//! [`ActixSessionStore`]: any of our stores as an actix-session store.

use std::collections::HashMap;

use actix_session::storage::{self, LoadError, SaveError, UpdateError};
use serde_json::Value;
use session_core::{Duration, Error, SessionData, SessionKey, SessionStore};

use crate::shared::{self, PROBE_MAX_AGE, Replaced};

/// actix-session's session state.
type State = HashMap<String, String>;

/// Any [`SessionStore`] of ours as an `actix_session::storage::SessionStore` (actix-session
/// 0.11): hand it to `SessionMiddleware::new`.
///
/// - `save` writes under a new [`SessionKey::generate`]d key, and never overwrites an existing
///   record (a taken key is drawn again).
/// - `update` replaces the state of a live session only, with a conditional write; a session
///   destroyed or expired meanwhile stays gone. Concurrent updates of one session end
///   last-writer-wins, as with actix-session's own stores.
/// - `update_ttl` is a [`touch`](SessionStore::touch): it moves the expiry of a live session and
///   never re-creates one.
/// - `load` returns `None` for a missing or expired session; `delete` succeeds when the session
///   is already gone.
///
/// `S` is a concrete store or `Arc<dyn SessionStore>` (the default). Clone it into each worker's
/// `App` (cheap for an `Arc`).
///
/// ```no_run
/// use actix_session::SessionMiddleware;
/// use actix_web::{App, HttpServer, cookie::Key};
/// use session_adapters::ActixSessionStore;
///
/// # async fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let store = ActixSessionStore::new(session_config::connect_from_env().await?);
/// let key = Key::generate(); // load it from configuration in a real app
/// HttpServer::new(move || App::new().wrap(SessionMiddleware::new(store.clone(), key.clone())))
///     .bind(("127.0.0.1", 8080))?
///     .run()
///     .await?;
/// # Ok(()) }
/// ```
///
/// # How an actix-session state is stored
/// | actix-session | our record |
/// |---|---|
/// | the session key (a cookie value) | the [`SessionKey`]; new keys are [`SessionKey::generate`]d (256 bits, 43 characters) |
/// | the state, `HashMap<String, String>` (each value JSON text written by `Session::insert`) | the session data: one JSON *string* member per entry, the text kept byte for byte |
/// | the TTL | the record's `max_age` |
///
/// The values stay strings rather than being parsed: actix-session's contract is the exact text,
/// and parsing would re-format it (`1.0e3` would come back as `1000.0`).
///
/// # Behaviours that differ from actix-session's own stores
/// - `update` of a session that is gone (destroyed by a logout, or expired, since this request
///   loaded it) writes nothing and returns the same key: the next request finds no session.
///   actix-session's Redis store instead saves the state under a new key, which would log the
///   user back in after a logout.
/// - `update` of a session whose record this adapter cannot read (undecodable bytes, or data
///   another middleware wrote under the key; actix-session then hands the handler an empty
///   state) saves the new state under a new key and leaves the record to expire, instead of
///   overwriting data it could not read.
/// - A cookie value that is not a valid [`SessionKey`] of ours (actix accepts up to 4064 bytes of
///   anything) names no session: `load` returns `None`, `update_ttl` and `delete` do nothing,
///   `update` saves under a new key.
/// - Errors keep our [`Error`] as their source (`anyhow`): unreadable records are
///   `LoadError::Deserialization`, bad input `SaveError`/`UpdateError::Serialization`, and the
///   rest `Other`.
#[derive(Debug, Clone)]
pub struct ActixSessionStore<S = std::sync::Arc<dyn SessionStore>> {
    store: S,
}

impl<S: SessionStore> ActixSessionStore<S> {
    /// Wraps `store`.
    pub fn new(store: S) -> Self {
        ActixSessionStore { store }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.store
    }

    /// Writes `state` under a new key.
    async fn save_new(
        &self,
        state: &State,
        ttl: Duration,
    ) -> session_core::Result<storage::SessionKey> {
        let data = to_data(state);
        let key = shared::create(
            &self.store,
            SessionKey::generate(),
            |k: &SessionKey| Ok(k.digest()),
            SessionKey::generate,
            &data,
            ttl,
        )
        .await?;
        to_actix_key(key)
    }
}

/// The key the store keeps the session of an actix key under: its digest
/// ([`IdsAtRest::Sha256`](session_core::IdsAtRest)), so the store never holds an id that could
/// be replayed as a cookie; `None` when the key cannot be one of ours (then no session has it).
fn our_key(key: &storage::SessionKey) -> Option<SessionKey> {
    SessionKey::parse(key.as_ref()).ok().map(|key| key.digest())
}

fn to_actix_key(key: SessionKey) -> session_core::Result<storage::SessionKey> {
    // Our keys are 43 characters, far below actix's 4064-byte limit.
    storage::SessionKey::try_from(key.as_str().to_owned()).map_err(|_| Error::InvalidKey {
        reason: "not accepted by actix-session",
    })
}

fn to_data(state: &State) -> SessionData {
    let map: serde_json::Map<String, Value> = state
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    SessionData::from(map)
}

/// Why stored session data is not an actix-session state.
const NOT_A_STATE: &str = "stored session is not an actix-session state (a value is not a string)";

/// Whether stored data is an actix-session state: every value a string.
fn is_state(data: &SessionData) -> bool {
    data.iter().all(|(_, v)| v.is_string())
}

fn from_data(data: SessionData) -> Result<State, LoadError> {
    data.into_map()
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(LoadError::Deserialization(anyhow::anyhow!(NOT_A_STATE))),
        })
        .collect()
}

/// `true` for errors caused by the data or arguments rather than the store.
fn is_bad_input(e: &Error) -> bool {
    matches!(
        e,
        Error::Encode(_)
            | Error::TooLarge { .. }
            | Error::TooDeep { .. }
            | Error::InvalidMaxAge { .. }
            | Error::InvalidKey { .. }
    )
}

fn save_error(e: Error) -> SaveError {
    if is_bad_input(&e) {
        SaveError::Serialization(e.into())
    } else {
        SaveError::Other(e.into())
    }
}

fn update_error(e: Error) -> UpdateError {
    if is_bad_input(&e) {
        UpdateError::Serialization(e.into())
    } else {
        UpdateError::Other(e.into())
    }
}

impl<S: SessionStore> storage::SessionStore for ActixSessionStore<S> {
    async fn load(&self, session_key: &storage::SessionKey) -> Result<Option<State>, LoadError> {
        let Some(key) = our_key(session_key) else {
            return Ok(None);
        };
        match self.store.get(&key, PROBE_MAX_AGE, false).await {
            Ok(Some(data)) => from_data(data).map(Some),
            Ok(None) => Ok(None),
            Err(e) if e.is_decode() => Err(LoadError::Deserialization(e.into())),
            Err(e) => Err(LoadError::Other(e.into())),
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<storage::SessionKey, SaveError> {
        self.save_new(&state, *ttl).await.map_err(save_error)
    }

    async fn update(
        &self,
        session_key: storage::SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<storage::SessionKey, UpdateError> {
        let Some(key) = our_key(&session_key) else {
            return self.save_new(&state, *ttl).await.map_err(update_error);
        };
        match shared::replace(&self.store, &key, &to_data(&state), *ttl, is_state).await {
            Ok(Replaced::Written) => Ok(session_key),
            Ok(Replaced::Missing) => {
                tracing::debug!(
                    "session ended (logout or expiry) before its update; nothing written"
                );
                Ok(session_key)
            }
            // actix-session handed the handler an empty state for this record; the new state
            // goes under a new key rather than over data this adapter could not read.
            Ok(Replaced::Unreadable) => self.save_new(&state, *ttl).await.map_err(update_error),
            Err(e) => Err(update_error(e)),
        }
    }

    async fn update_ttl(
        &self,
        session_key: &storage::SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let Some(key) = our_key(session_key) else {
            return Ok(());
        };
        self.store.touch(&key, *ttl).await?;
        Ok(())
    }

    async fn delete(&self, session_key: &storage::SessionKey) -> Result<(), anyhow::Error> {
        let Some(key) = our_key(session_key) else {
            return Ok(());
        };
        self.store.destroy(&key).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_state_round_trips_byte_for_byte() {
        let state: State = [
            ("n", "1.0e3"),
            ("user", "\"alice\""),
            ("obj", "{ \"a\" : [1, 2] }"),
            ("empty", ""),
            ("not json", "ünïcødé ✓"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(from_data(to_data(&state)).unwrap(), state);
    }

    #[test]
    fn a_non_string_value_is_a_deserialization_error() {
        let data = SessionData::try_from(serde_json::json!({"n": 1})).unwrap();
        assert!(matches!(
            from_data(data),
            Err(LoadError::Deserialization(_))
        ));
    }

    #[test]
    fn foreign_cookie_values_name_no_key() {
        for bad in ["", "a b", "a;b", &"x".repeat(200)] {
            let key = storage::SessionKey::try_from(bad.to_owned()).unwrap();
            assert!(our_key(&key).is_none(), "{bad:?}");
        }
        let ours = to_actix_key(SessionKey::generate()).unwrap();
        assert!(our_key(&ours).is_some());
    }
}
