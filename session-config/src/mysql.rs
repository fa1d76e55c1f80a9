//! MySQL needs a little more than the other backends: an optional migration and a cleanup task
//! that must live exactly as long as the store.

use std::sync::Arc;
use std::time::Duration;

use session_core::{
    Loaded, Result, SessionData, SessionKey, SessionStore, Version, WriteOutcome, async_trait,
};
use session_mysql::{CleanupTask, MySqlStore};

use crate::{CommonOptions, ConfigError};

/// Rows deleted per statement by the background cleanup.
const CLEANUP_BATCH: u32 = 1000;

/// A [`MySqlStore`] together with its background cleanup task, which stops when the last
/// handle to the store is dropped.
#[derive(Debug)]
struct MySqlWithCleanup {
    store: MySqlStore,
    _cleanup: Option<CleanupTask>,
}

pub(crate) async fn open(
    url: &str,
    table: Option<&str>,
    migrate: bool,
    cleanup_interval: Option<Duration>,
    options: &CommonOptions,
) -> std::result::Result<Arc<dyn SessionStore>, ConfigError> {
    let mut store = MySqlStore::connect(url).await?;
    if let Some(table) = table {
        store = store.with_table_name(table)?;
    }
    if let Some(t) = options.timeout {
        store = store.with_timeout(t);
    }
    if let Some(max) = options.max_record_bytes {
        store = store.with_max_record_bytes(max);
    }
    if migrate {
        store.migrate().await?;
    }
    let cleanup = cleanup_interval.map(|every| store.spawn_cleanup(every, CLEANUP_BATCH));
    Ok(Arc::new(MySqlWithCleanup {
        store,
        _cleanup: cleanup,
    }))
}

#[async_trait]
impl SessionStore for MySqlWithCleanup {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: session_core::Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        self.store.load(key, max_age, rolling).await
    }
    async fn get(
        &self,
        key: &SessionKey,
        max_age: session_core::Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>> {
        self.store.get(key, max_age, rolling).await
    }
    async fn write(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: session_core::Duration,
    ) -> Result<()> {
        self.store.write(key, data, max_age).await
    }
    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: session_core::Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        self.store.write_if(key, data, max_age, expected).await
    }
    async fn touch(&self, key: &SessionKey, max_age: session_core::Duration) -> Result<bool> {
        self.store.touch(key, max_age).await
    }
    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        self.store.destroy(key).await
    }
}
