//! The statements and the settings every SQL store has, written once.

use std::sync::Arc;

/// The statements of a SQL store for one table, built once per table by the backend. Held in an
/// `Arc` so that cloning a store copies no SQL text. Every value is a bound parameter; the only
/// spliced text is the validated table name.
#[derive(Debug)]
pub struct Statements {
    /// The table.
    pub table: Box<str>,
    /// The migration scripts, one per variant the backend offers (PostgreSQL: logged, then
    /// unlogged; SQLite: one).
    pub create_table: Vec<Arc<str>>,
    /// Parameters: id, now. Reads `data, version` of a live row.
    pub select: Arc<str>,
    /// Parameters: id, now. Reads `data, version, expires_at` of a live row: the rolling read
    /// with a non-zero [`ExpiryResolution`](session_core::ExpiryResolution), which writes only
    /// when the expiry lags.
    pub select_expiry: Arc<str>,
    /// Parameters: new expiry, id, now. The rolling read: moves the expiry of a live row and
    /// returns its `data, version`, in one statement.
    pub touch_returning: Arc<str>,
    /// Parameters: new expiry, id, now. Moves the expiry of a live row.
    pub touch: Arc<str>,
    /// Parameters: id, data, expiry, version, owner index (or NULL). Inserts or replaces a row.
    pub upsert: Arc<str>,
    /// Parameters: expected version, data, expiry, new version, id, now, owner index (or NULL).
    /// Writes a live row at the expected version and returns the row's resulting version (none:
    /// missing).
    pub write_if: Arc<str>,
    /// Parameters: id.
    pub delete: Arc<str>,
    /// Parameters: now, batch size. Deletes one batch of expired rows.
    pub delete_expired: Arc<str>,
    /// Parameters: owner index, now. Reads `id, data, expires_at` of the owner's live rows.
    pub list_owned: Arc<str>,
    /// Parameters: owner index, now, kept id (or ''), batch size. Deletes one batch of the
    /// owner's live rows.
    pub delete_owned: Arc<str>,
    /// Parameters: last id of the previous page (or ''), now, page size. Reads the ids of the
    /// next page of live rows in key order (keyset pagination for `scan`).
    pub scan: Arc<str>,
}

impl Statements {
    /// Every statement, the migration scripts included.
    pub fn all(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.create_table.iter().map(|s| &**s).collect();
        all.extend(
            [
                &self.select,
                &self.select_expiry,
                &self.touch_returning,
                &self.touch,
                &self.upsert,
                &self.write_if,
                &self.delete,
                &self.delete_expired,
                &self.list_owned,
                &self.delete_owned,
            ]
            .map(|s| &**s),
        );
        all
    }

    /// Checks the statements a backend built for table `my_table`: each names the table,
    /// quoted, and never `sessions`; none reads one of the database's clocks (`clocks`, in lower
    /// case), since every expiry comparison binds the application's clock.
    ///
    /// # Panics
    /// On the first statement that does not pass, naming it.
    pub fn assert_well_formed(&self, clocks: &[&str]) {
        for text in self.all() {
            assert!(text.contains("\"my_table\""), "{text}");
            assert!(!text.contains("sessions"), "{text}");
            let lower = text.to_ascii_lowercase();
            for clock in clocks {
                assert!(!lower.contains(clock), "{text} reads the database clock");
            }
        }
    }
}

/// Adds the settings every SQL store has to `$store` (fields `pool: $pool`,
/// `queries: Arc<…>` with a `table` field, `max_record_bytes`, `timeout`,
/// `expiry_resolution`): `with_table_name` (checked by the calling crate's
/// `queries::validate_table_name`, statements from its `queries::statements`),
/// `with_max_record_bytes` (capped at [`MAX_RECORD_BYTES_CAP`](crate::MAX_RECORD_BYTES_CAP), or
/// at the constant `max_record_bytes: CAP` names, in scope where the macro is expanded),
/// `with_timeout`, `with_expiry_resolution`, and their getters.
#[macro_export]
#[allow(
    clippy::crate_in_macro_def,
    reason = "`crate::queries` is the calling backend's module, on purpose"
)]
macro_rules! impl_settings {
    ($store:ty, $pool:ty) => {
        $crate::impl_settings!(
            @impl $store,
            $pool,
            $crate::MAX_RECORD_BYTES_CAP,
            "[`MAX_RECORD_BYTES_CAP`](session_sql::MAX_RECORD_BYTES_CAP)"
        );
    };
    ($store:ty, $pool:ty, max_record_bytes: $cap:ident) => {
        $crate::impl_settings!(@impl $store, $pool, $cap, concat!("[`", stringify!($cap), "`]"));
    };
    (@impl $store:ty, $pool:ty, $cap:expr, $cap_doc:expr) => {
        impl $store {
            /// Uses table `name` instead of the default `sessions`.
            ///
            /// # Errors
            /// [`Error::Config`](session_core::Error::Config) unless `name` is a plain
            /// identifier: `A-Z a-z 0-9 _`, not starting with a digit, within the backend's
            /// length limit. (Identifiers cannot be bound as SQL parameters, so the name is
            /// checked strictly enough to be spliced into statements safely.)
            pub fn with_table_name(mut self, name: &str) -> ::session_core::Result<Self> {
                crate::queries::validate_table_name(name)?;
                self.queries = ::std::sync::Arc::new(crate::queries::statements(name));
                Ok(self)
            }

            /// Bounds the encoded size of one record (default
            /// [`DEFAULT_MAX_RECORD_BYTES`](session_core::DEFAULT_MAX_RECORD_BYTES), 1 MiB); a
            /// larger `set` fails with [`Error::TooLarge`](session_core::Error::TooLarge) before
            /// anything is sent. Values above
            #[doc = $cap_doc]
            /// are capped there.
            pub fn with_max_record_bytes(mut self, max: usize) -> Self {
                self.max_record_bytes = max.min($cap);
                self
            }

            /// Sets the per-operation timeout (default 5 s). An operation that runs longer,
            /// waiting for a pooled connection or a lock included, fails with
            /// [`Error::Timeout`](session_core::Error::Timeout).
            pub fn with_timeout(mut self, timeout: ::std::time::Duration) -> Self {
                self.timeout = timeout;
                self
            }

            /// How far behind a rolling read may leave the stored expiry before it rewrites it
            /// (default [`ExpiryResolution::Auto`](session_core::ExpiryResolution::Auto): a
            /// hundredth of the max-age, at most 60 s). With a non-zero resolution a rolling read
            /// of a session whose expiry is recent enough is one `SELECT` and commits nothing;
            /// [`ExpiryResolution::Exact`](session_core::ExpiryResolution::Exact) rewrites the
            /// expiry on every rolling read. An expired session is never returned in any mode.
            pub fn with_expiry_resolution(
                mut self,
                resolution: ::session_core::ExpiryResolution,
            ) -> Self {
                self.expiry_resolution = resolution;
                self
            }

            /// The configured expiry resolution of rolling reads.
            pub fn expiry_resolution(&self) -> ::session_core::ExpiryResolution {
                self.expiry_resolution
            }

            /// The pool this store runs on.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// The table this store uses.
            pub fn table_name(&self) -> &str {
                &self.queries.table
            }

            /// The configured maximum encoded record size in bytes.
            pub fn max_record_bytes(&self) -> usize {
                self.max_record_bytes
            }

            /// The configured per-operation timeout.
            pub fn timeout(&self) -> ::std::time::Duration {
                self.timeout
            }
        }
    };
}
