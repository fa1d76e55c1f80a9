//! Walking every session of a store page by page, for operators' tools ([`SessionStore::scan`]),
//! and what a store says about itself ([`StoreInfo`]).
//!
//! [`SessionStore::scan`]: crate::SessionStore::scan

use std::fmt;

use crate::SessionKey;

/// Where a [`scan`](crate::SessionStore::scan) goes on: opaque to callers, meaningful only to the
/// store that returned it. Start with [`ScanCursor::start`].
///
/// A cursor never holds a session key in the clear where a store can avoid it (Redis and MongoDB
/// cursors are server positions); SQL cursors hold the last key as stored, which is the
/// at-rest form (a digest unless ids are kept plain). `Debug` hides it either way.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ScanCursor(String);

impl ScanCursor {
    /// The cursor of the first page.
    pub fn start() -> Self {
        ScanCursor(String::new())
    }

    /// A cursor a store made from its own position (for store implementations).
    pub fn from_position(position: impl Into<String>) -> Self {
        ScanCursor(position.into())
    }

    /// The store's position; empty for the first page (for store implementations).
    pub fn position(&self) -> &str {
        &self.0
    }

    /// `true` for the cursor of the first page.
    pub fn is_start(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ScanCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_start() {
            f.write_str("ScanCursor(start)")
        } else {
            f.write_str("ScanCursor(…)")
        }
    }
}

/// One page of a [`scan`](crate::SessionStore::scan): the keys of sessions found, as stored, and
/// where to go on.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ScanPage {
    /// The keys (as the store holds them) of the sessions on this page. May be empty while
    /// `next` is not `None` (Redis `SCAN` pages can be).
    pub keys: Vec<SessionKey>,
    /// The cursor of the next page; `None` once every session was visited.
    pub next: Option<ScanCursor>,
}

impl ScanPage {
    /// A page (for store implementations).
    pub fn new(keys: Vec<SessionKey>, next: Option<ScanCursor>) -> Self {
        ScanPage { keys, next }
    }

    /// The page of a keyset-paginated scan that asked for `size` keys in key order and got
    /// `ids` (for store implementations): the next page starts after the last id, unless the
    /// page came back short, which means the end. Ids that are not valid keys are left out.
    pub fn after_last<S: AsRef<str>>(ids: &[S], size: u32) -> Self {
        let next = match ids.last() {
            Some(last) if ids.len() == size as usize => {
                Some(ScanCursor::from_position(last.as_ref()))
            }
            _ => None,
        };
        let keys = ids
            .iter()
            .filter_map(|id| SessionKey::parse(id.as_ref()).ok())
            .collect();
        ScanPage { keys, next }
    }
}

/// What a store says about itself, for traces and metrics: never a password, never a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreInfo {
    /// The backend, as OpenTelemetry's `db.system` names it: `redis`, `mysql` (MariaDB too),
    /// `mongodb`, `postgresql`, `sqlite`, or `memory` for an in-process store.
    pub system: &'static str,
    /// The server's host (OpenTelemetry's `server.address`), when there is one server to name.
    pub address: Option<String>,
    /// The server's port (`server.port`).
    pub port: Option<u16>,
}

impl StoreInfo {
    /// A store of `system` with no server to name.
    pub fn new(system: &'static str) -> Self {
        StoreInfo {
            system,
            address: None,
            port: None,
        }
    }

    /// The same, naming the server at `address:port`.
    pub fn with_server(mut self, address: impl Into<String>, port: Option<u16>) -> Self {
        self.address = Some(address.into());
        self.port = port;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_debug_hides_the_position() {
        let cursor = ScanCursor::from_position("sess:abc");
        assert_eq!(format!("{cursor:?}"), "ScanCursor(…)");
        assert!(ScanCursor::start().is_start());
    }
}
