//! The [`Session`] handle handlers use, and the per-request state behind it.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use session_core::{SessionData, SessionKey};
use tokio::sync::{Mutex, MutexGuard};

use crate::SessionError;
use crate::cookie::Incoming;
use crate::error::status_for;
use crate::layer::Shared;

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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    // A tokio mutex: it is held across the store's `get`, so concurrent first accesses from
    // one request wait for a single load instead of each loading.
    pub(crate) state: Mutex<State>,
}

/// What the handler did to the session.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) incoming: Incoming,
    /// The key the session will be saved under: the cookie's until the load finds no record,
    /// or until `regenerate`/`destroy` picks a fresh one.
    pub(crate) key: Option<SessionKey>,
    /// `None` until loaded (or replaced).
    pub(crate) data: Option<SessionData>,
    /// The data as the store returned it; `None` when no record backs this session (a new one).
    pub(crate) original: Option<SessionData>,
    /// Set by `replace`: write even if the data equals what was loaded.
    pub(crate) force_write: bool,
    /// The load was a rolling `get`, which already moved the record's expiry.
    pub(crate) rolled: bool,
    /// Records to destroy after the handler (the old id after `regenerate` or `destroy`).
    pub(crate) obsolete: Vec<SessionKey>,
    /// A store failure while loading; the middleware answers with this status.
    pub(crate) failed: Option<http::StatusCode>,
}

impl State {
    pub(crate) fn new(incoming: Incoming) -> Self {
        let key = match &incoming {
            Incoming::Valid { key, .. } => Some(key.clone()),
            _ => None,
        };
        State {
            incoming,
            key,
            data: None,
            original: None,
            force_write: false,
            rolled: false,
            obsolete: Vec::new(),
            failed: None,
        }
    }

    /// Forgets the current record (destroyed after the handler) and starts a new, unsaved
    /// session with a fresh key holding `data`.
    fn restart(&mut self, data: SessionData) {
        let backed = match self.data {
            Some(_) => self.original.is_some(),
            // Not loaded: the cookie's record may exist; destroying a missing one is harmless.
            None => self.key.is_some(),
        };
        if let (true, Some(old)) = (backed, self.key.take()) {
            self.obsolete.push(old);
        }
        self.key = Some(SessionKey::generate());
        self.data = Some(data);
        self.original = None;
        self.rolled = false;
    }
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
                    state.original = Some(data.clone());
                    state.data = Some(data);
                    state.rolled = config.rolling;
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
        // No record: a new session under a fresh key, never the one the client offered (koa
        // does the same), so a client cannot choose the id of a session it is about to get.
        state.key = Some(SessionKey::generate());
        state.original = None;
        state.data = Some(SessionData::new());
        Ok(state)
    }

    /// The value under `name` as a `T`; `Ok(None)` when absent.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed; [`SessionError::Value`] when the
    /// value is not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, SessionError> {
        let state = self.loaded().await?;
        data(&state).get(name).map_err(SessionError::Value)
    }

    /// The raw JSON value under `name`.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn get_value(&self, name: &str) -> Result<Option<Value>, SessionError> {
        let state = self.loaded().await?;
        Ok(data(&state).get_value(name).cloned())
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
        data_mut(&mut state)
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
        Ok(data_mut(&mut state).remove(name))
    }

    /// A copy of the whole session.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn data(&self) -> Result<SessionData, SessionError> {
        let state = self.loaded().await?;
        Ok(data(&state).clone())
    }

    /// `true` when the session holds no values (a new session, or one that was cleared).
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn is_empty(&self) -> Result<bool, SessionError> {
        let state = self.loaded().await?;
        Ok(data(&state).is_empty())
    }

    /// Replaces the whole session with `data`, keeping its id. The session is written after the
    /// handler even when `data` equals what was stored.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed (the load tells whether a record
    /// backs this session, and so whether the cookie's id may be kept).
    pub async fn replace(&self, data: SessionData) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        state.data = Some(data);
        state.force_write = true;
        Ok(())
    }

    /// Removes every value, keeping the id. An existing record is written back empty.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn clear(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        data_mut(&mut state).clear();
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

fn data(state: &State) -> &SessionData {
    static EMPTY: std::sync::OnceLock<SessionData> = std::sync::OnceLock::new();
    state
        .data
        .as_ref()
        .unwrap_or_else(|| EMPTY.get_or_init(SessionData::new))
}

fn data_mut(state: &mut State) -> &mut SessionData {
    state.data.get_or_insert_with(SessionData::new)
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
