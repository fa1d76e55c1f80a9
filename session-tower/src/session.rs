//! The [`Session`] handle handlers use: it loads the session on demand and records what the
//! handler did in the request's [`State`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use session_core::{SessionData, WriteOutcome, now_ms};
use tokio::sync::{Mutex, MutexGuard};

use crate::cookie::Incoming;
use crate::error::status_for;
use crate::hooks::owner_of;
use crate::metrics::{self, count};
use crate::plan::{SAVE_ATTEMPTS, back_off};
use crate::shared::Shared;
use crate::state::State;
use crate::{SessionError, SessionEvent};

mod owners;
pub use owners::SessionInfo;

/// The current request's session, found in the request's extensions (and, with the `axum`
/// feature, an extractor).
///
/// The session is loaded from the store on the first call that needs its data, at most once per
/// request; a handler that never calls a method costs no store I/O. Clones share the same
/// session. What happens after the handler (write, touch, destroy, cookie) is decided by the
/// middleware from what the handler did: see the [crate documentation](crate#after-the-handler).
///
/// `Debug` never prints the session key or data.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    // A tokio mutex: it is held across the store's `get`, so concurrent first accesses from
    // one request wait for a single load instead of each loading.
    state: Mutex<State>,
}

impl Session {
    pub(crate) fn new(shared: Arc<Shared>, incoming: Incoming) -> Self {
        Session {
            inner: Arc::new(Inner {
                shared,
                state: Mutex::new(State::new(incoming)),
            }),
        }
    }

    /// Locks the state as the handler left it, for the end-of-request plan.
    pub(crate) async fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().await
    }

    /// Locks the state with the data loaded.
    async fn loaded(&self) -> Result<MutexGuard<'_, State>, SessionError> {
        let mut state = self.inner.state.lock().await;
        if state.failed.is_some() {
            return Err(SessionError::Failed);
        }
        if state.data.is_some() {
            return Ok(state);
        }
        let shared = &self.inner.shared;
        let config = &shared.config;
        if let Some(key) = state.key.clone() {
            match shared
                .store
                .load(&config.at_rest(&key), config.max_age, config.rolling)
                .await
            {
                Ok(Some(loaded)) if config.lifetime_ended(&loaded.data, now_ms()) => {
                    // Over by the absolute lifetime configured now (the store already refuses
                    // records past the end they carry): gone, and its record with it.
                    tracing::debug!("session past its absolute lifetime treated as no session");
                    shared.hooks.emit(&SessionEvent::ExpiredOnRead {
                        owner: owner_of(&loaded.data),
                    });
                    state.obsolete.push(key);
                }
                Ok(Some(loaded)) => {
                    count(metrics::LOADED);
                    state.found(loaded.data, loaded.version, config.rolling);
                    return Ok(state);
                }
                Ok(None) => match state.incoming {
                    // The cookie says its session was over: expired, not merely unknown.
                    Incoming::Valid { expires_at, .. } if expires_at <= now_ms() => {
                        shared
                            .hooks
                            .emit(&SessionEvent::ExpiredOnRead { owner: None });
                    }
                    _ => count(metrics::MISSED),
                },
                Err(e) if e.is_decode() => {
                    shared.metrics.decode_error();
                    tracing::warn!(
                        error = %session_core::error_chain(&e),
                        "unreadable session record treated as no session"
                    );
                }
                Err(e) => return Err(self.failed(&mut state, e, "loading")),
            }
        }
        state.start_new();
        Ok(state)
    }

    /// Records a store failure: counted, logged (without the key), and answered by the middleware
    /// with its status whatever the handler returns.
    fn failed(&self, state: &mut State, e: session_core::Error, doing: &str) -> SessionError {
        self.inner.shared.metrics.store_error();
        let status = status_for(&e);
        tracing::error!(
            error = %session_core::error_chain(&e),
            status = status.as_u16(),
            "session store failed while {doing} a session"
        );
        state.failed = Some(status);
        SessionError::Store(e)
    }

    /// Read-modify-write of the value under `name`, safe against concurrent requests on the same
    /// session: for values one request must never overwrite with a stale copy (a counter, a
    /// cart). `f` gets the current value (`None` when absent) and returns the new one.
    ///
    /// For a stored session the new value is written at once, conditionally on the record being
    /// unchanged since it was read; when another request wrote it meanwhile, the session is
    /// reloaded and `f` runs again on the newer value, up to 20 times (with a growing random
    /// pause between tries). So 64 concurrent increments through `update` add exactly 64. The
    /// handler's other changes are kept and saved after the handler as usual. For a new session (no record yet, a fresh id
    /// no other request knows) `f` simply runs once.
    ///
    /// Returns the value written.
    ///
    /// # Errors
    /// [`SessionError::Ended`] when another request destroyed or regenerated the session first
    /// (nothing is written); [`SessionError::Value`] when the current value is not a `T` or the
    /// new one is not representable; [`SessionError::Store`] holding
    /// [`Error::WriteConflict`](session_core::Error::WriteConflict) when every attempt lost, or
    /// another store error.
    pub async fn update<T, F>(&self, name: &str, mut f: F) -> Result<T, SessionError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> T,
    {
        owners::reserved(name)?;
        let mut state = self.loaded().await?;
        let (Some(key), Some(_)) = (state.key.clone(), state.original.as_ref()) else {
            let new = f(state.data().get(name).map_err(SessionError::Value)?);
            state
                .data_mut()
                .insert(name, &new)
                .map_err(SessionError::Value)?;
            return Ok(new);
        };
        let store = &*self.inner.shared.store;
        let max_age = self.inner.shared.config.max_age;
        let key = self.inner.shared.config.at_rest(&key).into_owned();
        for attempt in 1..=SAVE_ATTEMPTS {
            let stored = state.original.clone().unwrap_or_default();
            let new = f(stored.get(name).map_err(SessionError::Value)?);
            let mut next = stored;
            next.insert(name, &new).map_err(SessionError::Value)?;
            let outcome = match store.write_if(&key, &next, max_age, state.version).await {
                Ok(outcome) => outcome,
                Err(e) => return Err(self.failed(&mut state, e, "updating")),
            };
            match outcome {
                WriteOutcome::Written(version) => {
                    state.rebase(next, version);
                    // The write moved the record's expiry, as a rolling load does: the cookie is
                    // refreshed after the handler.
                    state.rolled = true;
                    // The handler's own earlier change to `name`, if any, is superseded.
                    state
                        .data_mut()
                        .insert(name, &new)
                        .map_err(SessionError::Value)?;
                    return Ok(new);
                }
                WriteOutcome::Missing => return Err(SessionError::Ended),
                WriteOutcome::Conflict if attempt == SAVE_ATTEMPTS => break,
                WriteOutcome::Conflict => back_off(attempt).await,
            }
            match store.load(&key, max_age, false).await {
                Ok(Some(newer)) => state.rebase(newer.data, newer.version),
                Ok(None) => return Err(SessionError::Ended),
                Err(e) => return Err(self.failed(&mut state, e, "updating")),
            }
        }
        let e = session_core::Error::WriteConflict {
            attempts: SAVE_ATTEMPTS,
        };
        Err(self.failed(&mut state, e, "updating"))
    }

    /// The value under `name` as a `T`; `Ok(None)` when absent.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed; [`SessionError::Value`] holding
    /// [`Error::TypeMismatch`](session_core::Error::TypeMismatch) when the value is not a `T`
    /// (the session itself is intact and stays as it is).
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, SessionError> {
        let state = self.loaded().await?;
        state.data().get(name).map_err(SessionError::Value)
    }

    /// The raw JSON value under `name`.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn get_value(&self, name: &str) -> Result<Option<Value>, SessionError> {
        let state = self.loaded().await?;
        Ok(state.data().get_value(name).cloned())
    }

    /// Stores `value` under `name`.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed; [`SessionError::Value`] when
    /// `value` cannot be represented as JSON, or `name` is the reserved
    /// [`OWNER_FIELD`](session_core::OWNER_FIELD) (use [`set_owner`](Self::set_owner)).
    pub async fn insert<T: Serialize>(
        &self,
        name: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
        let name = name.into();
        owners::reserved(&name)?;
        let mut state = self.loaded().await?;
        state
            .data_mut()
            .insert(name, value)
            .map(drop)
            .map_err(SessionError::Value)
    }

    /// Removes `name`, returning its raw value.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn remove(&self, name: &str) -> Result<Option<Value>, SessionError> {
        owners::reserved(name)?;
        let mut state = self.loaded().await?;
        Ok(state.data_mut().remove(name))
    }

    /// A copy of the whole session.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn data(&self) -> Result<SessionData, SessionError> {
        let state = self.loaded().await?;
        Ok(state.data().clone())
    }

    /// `true` when the session holds no values (a new session, or one that was cleared).
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        let state = self.loaded().await?;
        Ok(state.data().is_empty())
    }

    /// Replaces the whole session with `data`, keeping its id. The session is written after the
    /// handler even when `data` equals what was stored.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed (the load tells whether a record
    /// backs this session, and so whether the cookie's id may be kept).
    pub async fn replace(&self, data: SessionData) -> Result<(), SessionError> {
        self.loaded().await?.replace(data);
        Ok(())
    }

    /// Removes every value, keeping the id. An existing record is written back empty.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn clear(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        state.data_mut().clear();
        Ok(())
    }

    /// Destroys the session: after the handler its record is removed from the store and the
    /// browser is told to drop the cookie. Costs no store I/O before then.
    ///
    /// Using the session again in the same request starts a new, empty one with a fresh id.
    pub async fn destroy(&self) {
        let mut state = self.inner.state.lock().await;
        state.restart_with(SessionData::new(), |owner| SessionEvent::Destroyed {
            owner,
        });
    }

    /// Gives the session a fresh id, keeping its data: the record under the old id is destroyed
    /// after the handler and the data is saved under the new one. Call it when the privilege
    /// level changes (at login) so that an id planted in the browser before login is worthless
    /// afterwards (session fixation). The session keeps its absolute lifetime: a login restarts
    /// it through [`set_owner`](Self::set_owner) or [`restart_lifetime`](Self::restart_lifetime).
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the data to keep failed.
    pub async fn regenerate(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        let data = state.data.take().unwrap_or_default();
        state.restart_with(data, |owner| SessionEvent::Regenerated { owner });
        Ok(())
    }

    /// Starts a new absolute lifetime now (see
    /// [`SessionLayer::with_absolute_lifetime`](crate::SessionLayer::with_absolute_lifetime)):
    /// for a fresh login. [`set_owner`](Self::set_owner) does it already; call this at a login
    /// that does not set an owner. Does nothing when no absolute lifetime is configured.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn restart_lifetime(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        if let Some(lifetime) = self.inner.shared.config.new_lifetime(now_ms()) {
            lifetime.put_into(state.data_mut());
        }
        Ok(())
    }

    /// Gives the session a fresh id and drops its data: the old record is destroyed after the
    /// handler. Costs no store I/O before then.
    pub async fn regenerate_empty(&self) {
        let mut state = self.inner.state.lock().await;
        state.restart_with(SessionData::new(), |owner| SessionEvent::Regenerated {
            owner,
        });
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
