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
/// `with_timeout`, `with_expiry_resolution`, their getters, and `debug_settings`, the
/// settings' part of the store's `Debug` output.
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
            /// length limit (MySQL: 64 characters). (Identifiers cannot be bound as SQL parameters, so the name is
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

            /// Adds the settings and the pool's state to the `Debug` output `d` of the store,
            /// after where it points (never its password) and its table.
            fn debug_settings<'d, 'a, 'b>(
                &self,
                d: &'d mut ::std::fmt::DebugStruct<'a, 'b>,
            ) -> &'d mut ::std::fmt::DebugStruct<'a, 'b> {
                d.field("max_record_bytes", &self.max_record_bytes)
                    .field("timeout", &self.timeout)
                    .field("expiry_resolution", &self.expiry_resolution)
                    .field("pool_size", &self.pool.size())
                    .field("pool_idle", &self.pool.num_idle())
            }
        }
    };
}

/// The tests of what [`impl_settings!`](crate::impl_settings) adds, and of the size limit, for
/// the store the expression `$store` gives in an async test: one that never reaches a database
/// (a lazy pool to a port nothing listens on, an in-memory database without the table), whose
/// record limit is capped at `$cap`.
#[doc(hidden)]
#[macro_export]
macro_rules! settings_tests {
    ($store:expr, $cap:expr) => {
        #[tokio::test]
        async fn table_name_is_validated_and_settings_apply() {
            let store = $store;
            assert!(matches!(
                store.clone().with_table_name("bad-name"),
                Err(::session_core::Error::Config { .. })
            ));
            let store = store
                .with_table_name("app_sessions")
                .unwrap()
                .with_max_record_bytes(usize::MAX)
                .with_timeout(::std::time::Duration::from_millis(250));
            assert_eq!(store.table_name(), "app_sessions");
            assert_eq!(store.max_record_bytes(), $cap);
            assert_eq!(store.timeout(), ::std::time::Duration::from_millis(250));
            assert!(format!("{store:?}").contains("app_sessions"));
        }

        #[tokio::test]
        async fn too_large_is_reported_before_any_io() {
            use ::session_core::SessionStore as _;
            // Reaching the database would be another error (Unavailable, Backend), not TooLarge.
            let store = $store.with_max_record_bytes(100);
            let mut data = ::session_core::SessionData::new();
            data.insert("pad", "x".repeat(200)).unwrap();
            let err = store
                .set(
                    &::session_core::SessionKey::generate(),
                    &data,
                    ::session_core::Duration::hours(1),
                    true,
                )
                .await;
            assert!(
                matches!(err, Err(::session_core::Error::TooLarge { limit: 100, .. })),
                "{err:?}"
            );
        }
    };
}

/// The tests of a server store's URL handling, for `$store_type` with `connect(url)` and the
/// store the expression `$lazy(url)` gives over a lazy pool: `Debug` never prints the password
/// of `$with_password` (a URL to 127.0.0.1 with the password `s3cr3t-pw`), and each of the
/// `$malformed` URLs (with that password) is a configuration error whose sources, displayed or
/// debug-printed, never name it.
#[doc(hidden)]
#[macro_export]
macro_rules! url_tests {
    ($store_type:ty, $lazy:expr, $with_password:literal, [$($malformed:literal),+ $(,)?]) => {
        #[tokio::test]
        async fn debug_never_prints_the_password() {
            let store = $lazy($with_password);
            let printed = format!("{store:?}");
            assert!(
                printed.contains("sessions") && printed.contains("127.0.0.1"),
                "{printed}"
            );
            assert!(!printed.contains("s3cr3t-pw"), "{printed}");
        }

        #[tokio::test]
        async fn malformed_url_is_a_config_error_without_the_password() {
            for url in [$($malformed),+] {
                match <$store_type>::connect(url).await {
                    Err(e @ ::session_core::Error::Config { .. }) => {
                        // Every source, displayed and debug-printed.
                        let mut chain = e.to_string();
                        let mut source = ::std::error::Error::source(&e);
                        while let Some(s) = source {
                            chain.push_str(&format!(": {s} {s:?}"));
                            source = s.source();
                        }
                        assert!(!chain.contains("s3cr3t-pw"), "{chain}");
                    }
                    other => panic!("{url}: expected Config, got {other:?}"),
                }
            }
        }
    };
}
