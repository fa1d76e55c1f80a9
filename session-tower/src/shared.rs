//! What a [`SessionLayer`](crate::SessionLayer), its clones, the services it builds and every
//! [`Session`](crate::Session) handle share. Its own module so that the layer, the service and the
//! session handle all depend on it and not on each other.

use std::sync::Arc;

use session_core::SessionStore;

use crate::SessionMetrics;
use crate::config::Config;
use crate::hooks::Hooks;

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) config: Config,
    pub(crate) metrics: Arc<SessionMetrics>,
    pub(crate) hooks: Hooks,
}
