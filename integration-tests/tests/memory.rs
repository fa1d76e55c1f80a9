//! The conformance suite against `MemoryStore`. Needs no server.

use std::sync::Arc;

use session_core::{Result, SessionStore};
use session_memory::MemoryStore;
use session_testkit::conformance::MAX_RECORD_BYTES;

/// Every namespace is its own store: memory stores share nothing.
async fn make(_namespace: String) -> Result<Arc<dyn SessionStore>> {
    Ok(Arc::new(
        MemoryStore::builder()
            .max_record_bytes(MAX_RECORD_BYTES)
            .build(),
    ))
}

session_testkit::conformance_suite!(memory, make);
