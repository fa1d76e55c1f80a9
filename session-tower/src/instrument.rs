//! [`Instrumented`]: the store wrapper every [`SessionLayer`](crate::SessionLayer) puts around
//! its store, so that each store operation gets a span and a latency sample.
//!
//! The span is named `session_store` and carries OpenTelemetry's database attributes:
//! `db.system` (`redis`, `mysql`, …), `db.operation.name` (the store method: `load`, `write`,
//! …), and `server.address` / `server.port` when the store names its server; on failure an
//! `error.type` (`transient` or `permanent`). It never records a session id, an owner or
//! session data: the store's arguments are not fields, and a store error never contains a key.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use ::metrics::{Key, Label, Metadata};
use session_core::{
    Duration, Error, Loaded, OwnedSession, Owner, Result, ScanCursor, ScanPage, SessionData,
    SessionKey, SessionStore, StoreInfo, Version, WriteOutcome, async_trait,
};
use tracing::Instrument;

use crate::metrics::{STORE_ERRORS, STORE_OPERATION_DURATION, WRITE_CONFLICTS};

/// A store that reports every operation of the store it wraps: a `session_store` span, the
/// `session_store_operation_duration_seconds` histogram, `session_store_errors_total` and
/// `session_write_conflicts_total` (see the [metrics table](crate::metrics#metrics)). It
/// changes nothing else: every answer and error is the inner store's.
///
/// The layer applies it itself; wrap a store by hand only to get the same reports outside the
/// middleware (a background job, an admin tool).
#[derive(Debug)]
pub struct Instrumented {
    inner: Arc<dyn SessionStore>,
    info: StoreInfo,
    /// The histogram's key for each operation, labels included, built once: an operation then
    /// allocates nothing for its metrics, which matters when no recorder is installed and the
    /// rest of the report is a no-op.
    latency: [Key; OPERATIONS.len()],
}

/// Every operation the wrapper reports, in the order of [`Instrumented::latency`].
const OPERATIONS: [&str; 9] = [
    "load",
    "write",
    "write_if",
    "touch",
    "destroy",
    "list_owned",
    "destroy_owned",
    "scan",
    "purge_expired",
];

/// Indexes into [`OPERATIONS`].
mod op {
    pub(super) const LOAD: usize = 0;
    pub(super) const WRITE: usize = 1;
    pub(super) const WRITE_IF: usize = 2;
    pub(super) const TOUCH: usize = 3;
    pub(super) const DESTROY: usize = 4;
    pub(super) const LIST_OWNED: usize = 5;
    pub(super) const DESTROY_OWNED: usize = 6;
    pub(super) const SCAN: usize = 7;
    pub(super) const PURGE_EXPIRED: usize = 8;
}

/// What a recorder is told about where the metrics come from.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

impl Instrumented {
    /// Wraps `store`, asking it once for its [`StoreInfo`].
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        let info = store.info();
        let latency = OPERATIONS.map(|operation| {
            Key::from_parts(
                STORE_OPERATION_DURATION,
                vec![
                    Label::from_static_parts("backend", info.system),
                    Label::from_static_parts("operation", operation),
                ],
            )
        });
        Instrumented {
            inner: store,
            info,
            latency,
        }
    }

    /// Runs `op`, the store method `operation`, inside its span and records its time and its
    /// failure, if any.
    async fn run<T>(&self, index: usize, op: impl Future<Output = Result<T>>) -> Result<T> {
        let operation = OPERATIONS[index];
        let span = tracing::info_span!(
            "session_store",
            "db.system" = self.info.system,
            "db.operation.name" = operation,
            "server.address" = self.info.address.as_deref(),
            "server.port" = self.info.port,
            "error.type" = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = if span.is_disabled() {
            op.await
        } else {
            op.instrument(span.clone()).await
        };
        let elapsed = started.elapsed().as_secs_f64();
        ::metrics::with_recorder(|recorder| {
            recorder
                .register_histogram(&self.latency[index], &METADATA)
                .record(elapsed);
        });
        if let Err(e) = &result {
            // A record that does not decode is counted by the middleware as a decode failure;
            // an unsupported operation is a question of the caller, not a failure of the store.
            if !e.is_decode() && !e.is_unsupported() {
                let kind = error_kind(e);
                span.record("error.type", kind);
                ::metrics::counter!(STORE_ERRORS, "backend" => self.info.system, "kind" => kind)
                    .increment(1);
            }
        }
        result
    }
}

/// `transient` when retrying may help ([`Error::is_transient`]), `permanent` otherwise.
fn error_kind(e: &Error) -> &'static str {
    if e.is_transient() {
        "transient"
    } else {
        "permanent"
    }
}

#[async_trait]
impl SessionStore for Instrumented {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        self.run(op::LOAD, self.inner.load(key, max_age, rolling))
            .await
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        self.run(op::WRITE, self.inner.write(key, data, max_age))
            .await
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let outcome = self
            .run(
                op::WRITE_IF,
                self.inner.write_if(key, data, max_age, expected),
            )
            .await;
        if matches!(outcome, Ok(WriteOutcome::Conflict)) {
            ::metrics::counter!(WRITE_CONFLICTS, "backend" => self.info.system).increment(1);
        }
        outcome
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        self.run(op::TOUCH, self.inner.touch(key, max_age)).await
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.run(op::DESTROY, self.inner.destroy(key)).await
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        self.run(op::LIST_OWNED, self.inner.list_owned(owner)).await
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        self.run(op::DESTROY_OWNED, self.inner.destroy_owned(owner, keep))
            .await
    }

    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        self.run(op::SCAN, self.inner.scan(cursor, page_size)).await
    }

    async fn purge_expired(&self, limit: u32) -> Result<u64> {
        self.run(op::PURGE_EXPIRED, self.inner.purge_expired(limit))
            .await
    }

    fn info(&self) -> StoreInfo {
        self.info.clone()
    }
}
