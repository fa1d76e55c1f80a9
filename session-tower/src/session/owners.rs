//! Sessions per user on the [`Session`] handle: set the owner at login, list the owner's
//! sessions, end one of them or all the others.

use std::collections::BTreeMap;

use serde::Serialize;
use session_core::{
    LIFETIME_FIELD, OWNER_FIELD, OwnedSession, Owner, OwnerInfo, SessionHandle, SessionKey,
    SessionStore, now_ms,
};

use super::Session;
use crate::SessionError;

/// One session of the current user, as [`Session::sessions`] lists it: safe to send to the
/// browser. It names the session by its [`SessionHandle`], never by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The handle to pass to [`Session::end_session`].
    pub handle: String,
    /// When the user logged in on that session, epoch ms.
    pub created_at: i64,
    /// The last request of that session, epoch ms.
    pub last_seen: i64,
    /// When it expires unless used again, epoch ms.
    pub expires_at: i64,
    /// What the application attached at login (user agent, IP address, …).
    pub meta: BTreeMap<String, String>,
    /// Whether this is the session of the current request.
    pub current: bool,
}

impl SessionInfo {
    fn new(session: &OwnedSession, current: bool) -> Self {
        SessionInfo {
            handle: session.handle().as_str().to_owned(),
            created_at: session.created_at,
            last_seen: session.last_seen,
            expires_at: session.expires_at,
            meta: session.meta.clone(),
            current,
        }
    }
}

/// The error for writing a reserved field by hand.
pub(super) fn reserved(name: &str) -> Result<(), SessionError> {
    if name == OWNER_FIELD {
        return Err(SessionError::Value(session_core::Error::InvalidOwner {
            reason: "the $owner field is reserved: use Session::set_owner / clear_owner",
        }));
    }
    if name == LIFETIME_FIELD {
        return Err(SessionError::Value(session_core::Error::InvalidOwner {
            reason: "the $lifetime field is reserved: use Session::restart_lifetime",
        }));
    }
    Ok(())
}

impl Session {
    /// Makes `owner` (the application's user id) the owner of this session, with `meta` shown
    /// in the user's session list (user agent, IP address, …; names up to 64 bytes, values cut
    /// to 512 bytes, at most 16 entries). Call it at login, after
    /// [`regenerate`](Self::regenerate). It also starts a new absolute lifetime (a login is a
    /// new authentication). Saved after the handler like any other change; the store's owner
    /// index follows.
    ///
    /// # Errors
    /// [`SessionError::Value`] holding [`Error::InvalidOwner`](session_core::Error::InvalidOwner)
    /// for an invalid owner or metadata; [`SessionError::Store`] when loading the session
    /// failed.
    pub async fn set_owner<I, K, V>(&self, owner: &str, meta: I) -> Result<(), SessionError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let owner = Owner::new(owner).map_err(SessionError::Value)?;
        let ttl = i64::try_from(self.inner.shared.config.max_age.whole_milliseconds())
            .unwrap_or(i64::MAX);
        let meta = meta.into_iter().map(|(k, v)| (k.into(), v.into()));
        let now = now_ms();
        let info = OwnerInfo::new(owner, now, ttl, meta).map_err(SessionError::Value)?;
        let mut state = self.loaded().await?;
        info.put_into(state.data_mut());
        // A login starts a new absolute lifetime.
        if let Some(lifetime) = self.inner.shared.config.new_lifetime(now) {
            lifetime.put_into(state.data_mut());
        }
        Ok(())
    }

    /// Removes the session's owner (the session stays, anonymous): it leaves the owner's list.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed.
    pub async fn clear_owner(&self) -> Result<(), SessionError> {
        let mut state = self.loaded().await?;
        state.data_mut().remove(OWNER_FIELD);
        Ok(())
    }

    /// The session's owner, `None` for an anonymous session.
    ///
    /// # Errors
    /// [`SessionError::Store`] when loading the session failed; [`SessionError::Value`] when the
    /// stored owner field is malformed.
    pub async fn owner(&self) -> Result<Option<String>, SessionError> {
        let state = self.loaded().await?;
        Ok(OwnerInfo::from_data(state.data())
            .map_err(SessionError::Value)?
            .map(|info| info.owner.as_str().to_owned()))
    }

    /// The owner of this session and the key its record is stored under, when it has an owner.
    async fn owned(&self) -> Result<Option<(Owner, Option<SessionKey>)>, SessionError> {
        let state = self.loaded().await?;
        let info = OwnerInfo::from_data(state.data()).map_err(SessionError::Value)?;
        let config = &self.inner.shared.config;
        Ok(info.map(|info| {
            let stored = state
                .key
                .as_ref()
                .map(|key| config.at_rest(key).into_owned());
            (info.owner, stored)
        }))
    }

    fn store(&self) -> &dyn SessionStore {
        &*self.inner.shared.store
    }

    fn store_failed(e: session_core::Error, doing: &str) -> SessionError {
        tracing::error!(
            error = %session_core::error_chain(&e),
            "session store failed while {doing}"
        );
        SessionError::Store(e)
    }

    /// The live sessions of this session's owner, this one marked
    /// [`current`](SessionInfo::current) (and listed even before its first save, so a login
    /// shows up at once). Empty for an anonymous session. No session id is in the answer.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store failed.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, SessionError> {
        let Some((owner, key)) = self.owned().await? else {
            return Ok(Vec::new());
        };
        let current = key.as_ref().map(SessionHandle::of);
        let listed = self
            .store()
            .list_owned(&owner)
            .await
            .map_err(|e| Self::store_failed(e, "listing a user's sessions"))?;
        let mut sessions: Vec<SessionInfo> = listed
            .iter()
            .map(|s| SessionInfo::new(s, Some(s.handle()) == current.as_ref()))
            .collect();
        if let (false, Some(key)) = (sessions.iter().any(|s| s.current), key) {
            // Not saved yet (this request logged in): list it as it will be.
            let state = self.loaded().await?;
            let expires_at = now_ms().saturating_add(
                i64::try_from(self.inner.shared.config.max_age.whole_milliseconds())
                    .unwrap_or(i64::MAX),
            );
            if let Some(s) = OwnedSession::from_record(&owner, key, state.data(), expires_at, 0) {
                sessions.push(SessionInfo::new(&s, true));
            }
        }
        sessions.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.last_seen.cmp(&a.last_seen))
        });
        Ok(sessions)
    }

    /// Ends the session of this session's owner named by `handle` (from
    /// [`sessions`](Self::sessions)); answers whether there was one. Ending the current
    /// session's handle is [`destroy`](Self::destroy). A handle of another user's session, or a
    /// malformed one, ends nothing.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store failed.
    pub async fn end_session(&self, handle: &str) -> Result<bool, SessionError> {
        let Ok(handle) = SessionHandle::parse(handle) else {
            return Ok(false);
        };
        let Some((owner, key)) = self.owned().await? else {
            return Ok(false);
        };
        if key.as_ref().map(SessionHandle::of) == Some(handle.clone()) {
            self.destroy().await;
            return Ok(true);
        }
        self.store()
            .destroy_by_handle(&owner, &handle)
            .await
            .map_err(|e| Self::store_failed(e, "ending one of a user's sessions"))
    }

    /// Ends every other session of this session's owner ("log out other devices", and what to
    /// do after a password change); this one stays. Answers how many ended.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store failed.
    pub async fn end_other_sessions(&self) -> Result<u64, SessionError> {
        let Some((owner, key)) = self.owned().await? else {
            return Ok(0);
        };
        self.store()
            .destroy_owned(&owner, key.as_ref())
            .await
            .map_err(|e| Self::store_failed(e, "ending a user's other sessions"))
    }

    /// Ends every session of this session's owner, this one included ("log out everywhere").
    /// Answers how many ended in the store (this one counts when it was saved).
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store failed.
    pub async fn end_all_sessions(&self) -> Result<u64, SessionError> {
        let Some((owner, _)) = self.owned().await? else {
            self.destroy().await;
            return Ok(0);
        };
        let ended = self
            .store()
            .destroy_owned(&owner, None)
            .await
            .map_err(|e| Self::store_failed(e, "ending all of a user's sessions"))?;
        self.destroy().await;
        Ok(ended)
    }
}
