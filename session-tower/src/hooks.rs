//! Lifecycle hooks: [`SessionLayer::with_hook`] and the [`SessionEvent`]s it is called with.
//!
//! An application audits logins and logouts here without reading the store: a hook learns
//! that a session was created, regenerated, destroyed or found expired, and whose it was, but
//! never its id or data. Every event is also counted in the [metrics](crate::metrics).
//!
//! ```
//! use std::sync::Arc;
//!
//! use session_tower::{SessionEvent, SessionLayer};
//!
//! let layer = SessionLayer::unsigned(Arc::new(session_memory::MemoryStore::new())).with_hook(
//!     |event: &SessionEvent| {
//!         if let SessionEvent::Destroyed { owner: Some(owner) } = event {
//!             tracing::info!(user = owner.as_str(), "logged out");
//!         }
//!     },
//! );
//! # drop(layer);
//! ```

use std::fmt;
use std::sync::Arc;

use session_core::{Owner, OwnerInfo, SessionData};

use crate::SessionLayer;
use crate::metrics::{self, count};
use crate::plan::{CookieStep, Plan, StoreStep};
use crate::shared::Shared;
use crate::state::State;

/// Something that happened to a session, as a [hook](SessionLayer::with_hook) hears of it.
///
/// `owner` is the session's owner ([`Session::set_owner`](crate::Session::set_owner)) when it
/// had one. No event carries the session id or data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A new session was written to the store for the first time (after the handler).
    Created {
        /// The owner set in this request (a login), if any.
        owner: Option<Owner>,
    },
    /// A stored session got a fresh id (`regenerate`, `regenerate_empty`): its old record was
    /// destroyed and, unless it was emptied, its data saved under the new id (after the
    /// handler).
    Regenerated {
        /// The owner before the regeneration (`regenerate_empty` drops it), if any.
        owner: Option<Owner>,
    },
    /// A stored session was destroyed by a handler (a logout), after the handler.
    Destroyed {
        /// The owner it had, if it was loaded and had one.
        owner: Option<Owner>,
    },
    /// A request came with the cookie of a session that had run out: past its absolute
    /// lifetime, or its record gone after the expiry the cookie carries. Heard as the session
    /// is loaded.
    ExpiredOnRead {
        /// The owner, when the record was still there to say (absolute lifetime).
        owner: Option<Owner>,
    },
}

impl SessionEvent {
    /// The owner the event names, if any.
    pub fn owner(&self) -> Option<&Owner> {
        match self {
            SessionEvent::Created { owner }
            | SessionEvent::Regenerated { owner }
            | SessionEvent::Destroyed { owner }
            | SessionEvent::ExpiredOnRead { owner } => owner.as_ref(),
        }
    }

    /// The counter this event adds to.
    fn metric(&self) -> &'static str {
        match self {
            SessionEvent::Created { .. } => metrics::CREATED,
            SessionEvent::Regenerated { .. } => metrics::REGENERATED,
            SessionEvent::Destroyed { .. } => metrics::DESTROYED,
            SessionEvent::ExpiredOnRead { .. } => metrics::EXPIRED_ON_READ,
        }
    }
}

type Hook = Arc<dyn Fn(&SessionEvent) + Send + Sync>;

/// The hooks of a layer, called in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct Hooks(Vec<Hook>);

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} hooks", self.0.len())
    }
}

impl Hooks {
    /// Counts `event` and hands it to every hook.
    pub(crate) fn emit(&self, event: &SessionEvent) {
        count(event.metric());
        for hook in &self.0 {
            hook(event);
        }
    }
}

impl SessionLayer {
    /// Adds `hook`, called with every [`SessionEvent`] of the sessions this layer handles, on
    /// the request's task: keep it quick (send to a channel for slow work). Hooks run in the
    /// order they were added; events after the handler run only once the store step
    /// succeeded. Default: no hooks.
    pub fn with_hook(self, hook: impl Fn(&SessionEvent) + Send + Sync + 'static) -> Self {
        let mut hooks = self.shared.hooks.clone();
        hooks.0.push(Arc::new(hook));
        SessionLayer {
            shared: Arc::new(Shared {
                hooks,
                ..(*self.shared).clone()
            }),
        }
    }
}

/// The owner `data` names, if it names a valid one.
pub(crate) fn owner_of(data: &SessionData) -> Option<Owner> {
    OwnerInfo::from_data(data)
        .ok()
        .flatten()
        .map(|info| info.owner)
}

/// After the plan for `state` was carried out and `cookie_sent` says whether a `Set-Cookie` went
/// out: the events the handler caused, the new session, the renewal.
pub(crate) fn after_save(shared: &Shared, state: &State, plan: &Plan<'_>, cookie_sent: bool) {
    for event in &state.events {
        shared.hooks.emit(event);
    }
    let regenerated = state
        .events
        .iter()
        .any(|event| matches!(event, SessionEvent::Regenerated { .. }));
    let renewed = match plan.store {
        StoreStep::Create(_, data) if !regenerated => {
            shared.hooks.emit(&SessionEvent::Created {
                owner: owner_of(data),
            });
            false
        }
        // A touch that found the record is what sends the cookie.
        StoreStep::Touch(..) => cookie_sent,
        StoreStep::Nothing => state.rolled && matches!(plan.cookie, CookieStep::Set { .. }),
        StoreStep::Create(..) | StoreStep::Save { .. } => false,
    };
    if renewed {
        count(metrics::RENEWED);
    }
}
