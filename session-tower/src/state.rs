//! What the handler did to the session in one request: the input of the end-of-request
//! [plan](crate::plan).

use http::StatusCode;
use session_core::{LIFETIME_FIELD, Lifetime, Owner, SessionData, SessionKey, Version};

use crate::SessionEvent;
use crate::config::Config;
use crate::cookie::Incoming;
use crate::hooks::owner_of;
use crate::merge::Changes;

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
    /// The version of the record `original` came from: the save is conditional on it.
    pub(crate) version: Version,
    /// Set by `replace`: write even if the data equals what was loaded.
    pub(crate) force_write: bool,
    /// The load was a rolling `get`, which already moved the record's expiry.
    pub(crate) rolled: bool,
    /// Records to destroy after the handler (the old id after `regenerate` or `destroy`).
    pub(crate) obsolete: Vec<SessionKey>,
    /// A store failure while loading; the middleware answers with this status.
    pub(crate) failed: Option<StatusCode>,
    /// Regenerations and destructions, told to the hooks once the plan was carried out.
    pub(crate) events: Vec<SessionEvent>,
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
            version: Version::LEGACY,
            force_write: false,
            rolled: false,
            obsolete: Vec::new(),
            failed: None,
            events: Vec::new(),
        }
    }

    /// The load found `data` at `version` under the cookie's key; `rolled` when it was a
    /// rolling load.
    pub(crate) fn found(&mut self, data: SessionData, version: Version, rolled: bool) {
        self.original = Some(data.clone());
        self.data = Some(data);
        self.version = version;
        self.rolled = rolled;
    }

    /// The stored record is now `stored` at `version` (a newer one another request wrote, or
    /// one this request wrote through `update`): the handler's own pending changes move on top.
    pub(crate) fn rebase(&mut self, stored: SessionData, version: Version) {
        let pending = match &self.original {
            Some(original) => Changes::between(original, self.data()),
            None => Changes::default(),
        };
        self.data = Some(pending.applied_to(stored.clone()));
        self.original = Some(stored);
        self.version = version;
    }

    /// No record backs the session (no cookie, or the load found nothing): a new, empty session
    /// under a fresh key, never the one the client offered (koa does the same), so a client
    /// cannot choose the id of a session it is about to get.
    pub(crate) fn start_new(&mut self) {
        self.key = Some(SessionKey::generate());
        self.original = None;
        self.data = Some(SessionData::new());
    }

    /// `replace`: the session holds `data` and is written even if nothing differs.
    pub(crate) fn replace(&mut self, data: SessionData) {
        self.data = Some(data);
        self.force_write = true;
    }

    /// Forgets the current record (destroyed after the handler) and starts a new, unsaved
    /// session with a fresh key holding `data`.
    pub(crate) fn restart(&mut self, data: SessionData) {
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

    /// `restart`, telling the hooks `event(owner)` after the handler when a stored session was
    /// given up (loaded, or named by a cookie and not loaded); `owner` is the one of the data as
    /// loaded.
    pub(crate) fn restart_with(
        &mut self,
        data: SessionData,
        event: fn(Option<Owner>) -> SessionEvent,
    ) {
        let stored = match &self.original {
            Some(_) => true,
            None => self.data.is_none() && matches!(self.incoming, Incoming::Valid { .. }),
        };
        let owner = self.original.as_ref().and_then(owner_of);
        self.restart(data);
        if stored {
            self.events.push(event(owner));
        }
    }

    /// Before the end-of-request plan: gives a session about to be saved the absolute lifetime
    /// it must carry. A session that had one keeps it, even if the handler cleared or replaced
    /// the data; one that had none (new, or stored before lifetimes were configured) starts one
    /// now. A session that stays empty gets nothing, so it still costs no record.
    pub(crate) fn keep_lifetime(&mut self, config: &Config, now: i64) {
        let Some(data) = &mut self.data else {
            return;
        };
        if data.get_value(LIFETIME_FIELD).is_some() || (data.is_empty() && self.original.is_none())
        {
            return;
        }
        let stored = self
            .original
            .as_ref()
            .and_then(|original| original.get_value(LIFETIME_FIELD))
            .cloned();
        match stored {
            Some(value) => {
                data.as_map_mut().insert(LIFETIME_FIELD.to_owned(), value);
            }
            None => {
                if let Some(lifetime) = config.new_lifetime(now) {
                    lifetime.put_into(data);
                }
            }
        }
    }

    /// The end of the session's absolute lifetime, epoch ms, when the loaded data has one.
    pub(crate) fn lifetime_until(&self) -> Option<i64> {
        let data = self.data.as_ref()?;
        Lifetime::from_data(data)?
            .ok()
            .map(|lifetime| lifetime.until)
    }

    /// The data, empty until loaded.
    pub(crate) fn data(&self) -> &SessionData {
        static EMPTY: std::sync::OnceLock<SessionData> = std::sync::OnceLock::new();
        self.data
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(SessionData::new))
    }

    pub(crate) fn data_mut(&mut self) -> &mut SessionData {
        self.data.get_or_insert_with(SessionData::new)
    }
}
