//! The [`SessionStore`] trait.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use time::Duration;

use crate::{Result, SessionData, SessionKey};

/// Where sessions live: the koa-session store contract with typed keys and errors.
///
/// The trait is object-safe, so an application can pick its backend at run time and hold an
/// `Arc<dyn SessionStore>`. See the [crate documentation](crate) for a complete example store.
///
/// # Guarantees every implementation makes
///
/// | call | does | never does |
/// |---|---|---|
/// | `get(k, _, false)` | returns the data of an existing, unexpired record | returns an expired record, even before the backend's TTL sweeper ran |
/// | `get(k, max_age, true)` | as above, and moves the expiry to now + `max_age` in the same operation | takes two round trips where the backend can do one |
/// | `set(k, data, max_age, true)` | the same as `write(k, data, max_age)` | — |
/// | `write(k, data, max_age)` | upserts `data` with expiry now + `max_age` | — |
/// | `set(k, data, max_age, false)` | the same as `touch(k, max_age)` | writes `data`; re-creates a missing, expired or destroyed record |
/// | `touch(k, max_age)` | moves the expiry of an existing, unexpired record to now + `max_age`; answers whether there was one | writes anything else; re-creates a missing, expired or destroyed record |
/// | `destroy(k)` | removes the record | fails because the record is already gone |
///
/// Expiry is absolute epoch milliseconds from the application's clock
/// ([`now_ms`](crate::now_ms)), never the database's.
#[async_trait]
pub trait SessionStore: Debug + Send + Sync {
    /// Loads the session under `key`.
    ///
    /// Returns `Ok(None)` if the record is missing or expired. When `rolling` is true, an existing
    /// record's expiry moves to now + `max_age` in the same operation as the read; a missing
    /// record is not created. When `rolling` is false, `max_age` is only validated.
    ///
    /// # Errors
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge) for a non-positive `max_age`;
    /// [`Error::Decode`](crate::Error::Decode) when the stored bytes are unreadable (the record is
    /// left as it is); transient errors when the server is unreachable or slow.
    async fn get(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<SessionData>>;

    /// Saves or touches the session under `key`: koa-session's `set`.
    ///
    /// With `changed == true`, does what [`write`](Self::write) does. With `changed == false`,
    /// does exactly what [`touch`](Self::touch) does and ignores `data`: only an existing,
    /// unexpired record gets the new expiry; a missing, expired or destroyed record stays absent,
    /// so a late touch can never undo a logout.
    ///
    /// Provided: stores implement `write` and `touch`, and this dispatches to them.
    ///
    /// # Errors
    /// As [`write`](Self::write) or [`touch`](Self::touch).
    async fn set(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        changed: bool,
    ) -> Result<()> {
        if changed {
            self.write(key, data, max_age).await
        } else {
            self.touch(key, max_age).await.map(drop)
        }
    }

    /// Writes `data` under `key` with expiry now + `max_age`, creating or replacing the record
    /// (an expired record not yet swept is replaced too).
    ///
    /// # Errors
    /// [`Error::TooLarge`](crate::Error::TooLarge) when the encoded record exceeds the store's
    /// limit and [`Error::TooDeep`](crate::Error::TooDeep) when the data nests deeper than
    /// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH) (nothing is written, the old record stays);
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge); backend errors.
    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()>;

    /// Moves the expiry of the existing, unexpired record under `key` to now + `max_age`, in one
    /// operation, and never changes its data. Returns `true` when such a record was found,
    /// `false` when it is missing, expired or destroyed; then nothing is written, so a touch
    /// arriving after a logout can never bring the session back.
    ///
    /// The middleware uses the answer to stop refreshing the cookie of a session that is gone.
    ///
    /// # Errors
    /// [`Error::InvalidMaxAge`](crate::Error::InvalidMaxAge); backend errors.
    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool>;

    /// Removes the session under `key`. Succeeds when there is nothing to remove.
    ///
    /// # Errors
    /// Backend errors only.
    async fn destroy(&self, key: &SessionKey) -> Result<()>;
}

macro_rules! forward_store {
    ($($ptr:ty),*) => {$(
        #[async_trait]
        impl<S: SessionStore + ?Sized> SessionStore for $ptr {
            async fn get(&self, key: &SessionKey, max_age: Duration, rolling: bool) -> Result<Option<SessionData>> {
                (**self).get(key, max_age, rolling).await
            }
            async fn set(&self, key: &SessionKey, data: &SessionData, max_age: Duration, changed: bool) -> Result<()> {
                (**self).set(key, data, max_age, changed).await
            }
            async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
                (**self).write(key, data, max_age).await
            }
            async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
                (**self).touch(key, max_age).await
            }
            async fn destroy(&self, key: &SessionKey) -> Result<()> {
                (**self).destroy(key).await
            }
        }
    )*};
}

forward_store!(Arc<S>, Box<S>);
