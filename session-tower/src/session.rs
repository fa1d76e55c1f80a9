//! The [`Session`] handle handlers use: it loads the session on demand and records what the
//! handler did in the request's [`State`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use session_core::SessionData;
use tokio::sync::{Mutex, MutexGuard};

use crate::SessionError;
use crate::cookie::Incoming;
use crate::error::status_for;
use crate::shared::Shared;
use crate::state::State;

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
            match shared.store.get(&key, config.max_age, config.rolling).await {
                Ok(Some(data)) => {
                    state.found(data, config.rolling);
                    return Ok(state);
                }
                Ok(None) => {}
                Err(e) if e.is_decode() => {
                    shared.metrics.decode_error();
                    tracing::warn!(
                        error = %session_core::error_chain(&e),
                        "unreadable session record treated as no session"
                    );
                }
                Err(e) => {
                    shared.metrics.store_error();
                    tracing::error!(
                        error = %session_core::error_chain(&e),
                        status = status_for(&e).as_u16(),
                        "session store failed while loading a session"
                    );
                    state.failed = Some(status_for(&e));
                    return Err(SessionError::Store(e));
                }
            }
        }
        state.start_new();
        Ok(state)
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
    /// `value` cannot be represented as JSON.
    pub async fn insert<T: Serialize>(
        &self,
        name: impl Into<String>,
        value: T,
    ) -> Result<(), SessionError> {
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
        state.restart(SessionData::new());
    }

    /// Gives the session a fresh id, keeping its data: the record under the old id is destroyed
    /// after the handler and the data is saved under the new one. Call it when the privilege
    /// level changes (at login) so that an id planted in the browser before login is worthless
    /// afterwards (session fixation).
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the data to keep failed.
    pub async fn regenerate(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        let data = state.data.take().unwrap_or_default();
        state.restart(data);
        Ok(())
    }

    /// Gives the session a fresh id and drops its data: the old record is destroyed after the
    /// handler. Costs no store I/O before then.
    pub async fn regenerate_empty(&self) {
        let mut state = self.inner.state.lock().await;
        state.restart(SessionData::new());
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
