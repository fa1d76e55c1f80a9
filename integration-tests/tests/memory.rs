//! The conformance suite against `MemoryStore`, in the exact and the default expiry resolution,
//! and the resolution check. Needs no server.

use std::sync::Arc;

use session_core::{ExpiryResolution, Result, SessionKey, SessionStore};
use session_memory::MemoryStore;
use session_testkit::conformance::MAX_RECORD_BYTES;

/// Every namespace is its own store: memory stores share nothing. The exact mode: every rolling
/// read rewrites the expiry.
async fn make(_namespace: String) -> Result<Arc<dyn SessionStore>> {
    Ok(Arc::new(
        MemoryStore::builder()
            .max_record_bytes(MAX_RECORD_BYTES)
            .expiry_resolution(ExpiryResolution::Exact)
            .build(),
    ))
}

session_testkit::conformance_suite!(memory, make);

/// The same suite in the default resolution.
async fn make_default(_namespace: String) -> Result<Arc<dyn SessionStore>> {
    Ok(Arc::new(
        MemoryStore::builder()
            .max_record_bytes(MAX_RECORD_BYTES)
            .build(),
    ))
}

session_testkit::conformance_suite!(memory_default_resolution, make_default);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_reads_rewrite_only_a_lagging_expiry() {
    let store = MemoryStore::builder().build();
    let raw = store.clone();
    session_testkit::resolution::rolling_reads_rewrite_only_a_lagging_expiry(
        |r| Arc::new(store.clone().with_expiry_resolution(r)),
        |id| {
            let raw = raw.clone();
            async move {
                let key = SessionKey::parse(&id).unwrap();
                raw.expiry_of(&key).await.unwrap()
            }
        },
    )
    .await;
}
