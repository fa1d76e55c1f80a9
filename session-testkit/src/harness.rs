//! Builds the stores a conformance check runs against.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use session_core::{Result, SessionStore};

use crate::{reachable, unique_name};

/// The future a store factory returns.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn SessionStore>>> + Send>>;

type Factory = Arc<dyn Fn(String) -> StoreFuture + Send + Sync>;

/// One check's view of a backend: a store in a namespace of its own, and a way to build more.
pub struct Harness {
    backend: &'static str,
    namespace: String,
    factory: Factory,
    store: Arc<dyn SessionStore>,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("backend", &self.backend)
            .field("namespace", &self.namespace)
            .field("store", &self.store)
            .finish()
    }
}

impl Harness {
    /// Builds the check's store in a fresh namespace ([`unique_name`] of the check). Returns
    /// `None` (after a loud message) when the server is unreachable and skipping is allowed;
    /// panics on any other failure.
    pub async fn new<F, Fut>(backend: &'static str, check: &str, make: F) -> Option<Harness>
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Arc<dyn SessionStore>>> + Send + 'static,
    {
        let factory: Factory = Arc::new(move |ns| Box::pin(make(ns)) as StoreFuture);
        let namespace = unique_name(check);
        let store = reachable(backend, check, factory(namespace.clone()).await)?;
        Some(Harness {
            backend,
            namespace,
            factory,
            store,
        })
    }

    /// The backend's name, as in the test module (`memory`, `redis`, …).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// This check's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The store in this check's namespace.
    pub fn store(&self) -> &dyn SessionStore {
        &*self.store
    }

    /// A shared handle to the store, for spawned tasks.
    pub fn shared(&self) -> Arc<dyn SessionStore> {
        Arc::clone(&self.store)
    }

    /// A second store over the same server in `namespace`.
    ///
    /// # Panics
    /// When the factory fails.
    pub async fn store_in(&self, namespace: &str) -> Arc<dyn SessionStore> {
        (self.factory)(namespace.to_owned())
            .await
            .expect("building a second store failed")
    }

    /// A fresh namespace derived from this check's.
    pub fn sibling_namespace(&self, tag: &str) -> String {
        unique_name(tag)
    }
}
