//! The [`SessionStore`](session_core::SessionStore) operations of a SQL store, written once.

/// Implements [`SessionStore`](session_core::SessionStore) for `$store`, a SQL store with the
/// fields `pool` (a sqlx pool), `queries` (with the `Arc<str>` statements `select`,
/// `select_expiry`, `touch_returning`, `touch`, `upsert`, `write_if`, `delete`, `list_owned` and `delete_owned`),
/// `timeout`, `expiry_resolution` and
/// `max_record_bytes`, whose driver errors `$classify` reads.
///
/// Expanded in the backend crate, against its own `sqlx` (with its one driver): the statements
/// differ per database, the sequence of calls and the outcome logic do not. Each operation is
/// one statement, run with [`timed_retry`](crate::timed_retry):
///
/// | operation | statement | result |
/// |---|---|---|
/// | `load` | `select` (id, now), or `touch_returning` (new expiry, id, now) when rolling; with a non-zero expiry resolution, `select_expiry` (id, now) first and `touch_returning` only when the expiry lags | `(data, version)` row of a live session |
/// | `write` | `upsert` (id, data, expiry, version) | — |
/// | `write_if` | `write_if` (expected, data, expiry, new version, id, now) | the row's resulting version: none is missing, the new one written, another a conflict |
/// | `touch` | `touch` (new expiry, id, now) | rows affected |
/// | `destroy` | `delete` (id) | — |
/// | `list_owned` | `list_owned` (owner index, now) | `(id, data, expires_at)` rows of the owner's live sessions |
/// | `destroy_owned` | `delete_owned` (owner index, now, kept id, batch), repeated while a batch is full | rows affected |
#[macro_export]
macro_rules! impl_session_store {
    ($store:ty, $classify:ty) => {
        $crate::impl_row_ops!($store, $classify, version: i64);

        #[::session_core::async_trait]
        impl ::session_core::SessionStore for $store {
            async fn load(
                &self,
                key: &::session_core::SessionKey,
                max_age: ::session_core::Duration,
                rolling: bool,
            ) -> ::session_core::Result<Option<::session_core::Loaded>> {
                let max_age = ::session_core::max_age_ms(max_age)?;
                let now = ::session_core::now_ms();
                let q = &self.queries;
                // One statement either way, safe to repeat: a touch that ran twice moved the expiry to
                // the same place twice. The rolling read is an UPDATE … RETURNING: it decides whether the
                // session is alive, moves its expiry and returns it in one statement, and an expired row
                // can never be extended.
                //
                // With a non-zero expiry resolution the rolling read first reads the row with its
                // expiry (one SELECT, nothing to commit) and rewrites the expiry only when it lags
                // by more than the resolution; that UPDATE re-checks liveness itself.
                let lazy = rolling && self.expiry_resolution.slack_ms(max_age) > 0;
                let row: Option<(Vec<u8>, i64)> =
                    $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || async {
                        if lazy {
                            if let Some(settled) = self.settled_read(key, now, max_age).await? {
                                return Ok(settled);
                            }
                        }
                        if rolling {
                            ::sqlx::query_as(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                                &q.touch_returning,
                            )))
                            .bind(now.saturating_add(max_age))
                            .bind(key.as_str())
                            .bind(now)
                            .fetch_optional(&self.pool)
                            .await
                        } else {
                            self.select_row(key, now).await
                        }
                    })
                    .await?;
                match row {
                    None => Ok(None),
                    Some((bytes, version)) => {
                        $crate::loaded_row(&bytes, $crate::version_from_column(version), now)
                    }
                }
            }

            async fn write(
                &self,
                key: &::session_core::SessionKey,
                data: &::session_core::SessionData,
                max_age: ::session_core::Duration,
            ) -> ::session_core::Result<()> {
                // now + max_age, or the end of the absolute lifetime when that comes first.
                let expires_at = ::session_core::write_expiry(data, max_age)?;
                let version = ::session_core::Version::generate();
                // Encoding enforces the size limit before any I/O.
                let bytes =
                    ::session_core::encode(data, version, expires_at, self.max_record_bytes)?;
                let owner = ::session_core::owner_index(data)?;
                $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                    ::sqlx::query(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                        &self.queries.upsert,
                    )))
                    .bind(key.as_str())
                    .bind(bytes.as_slice())
                    .bind(expires_at)
                    .bind($crate::version_to_column(version))
                    .bind(owner.as_ref().map(|o| o.as_str().to_owned()))
                    .execute(&self.pool)
                })
                .await?;
                Ok(())
            }

            async fn write_if(
                &self,
                key: &::session_core::SessionKey,
                data: &::session_core::SessionData,
                max_age: ::session_core::Duration,
                expected: ::session_core::Version,
            ) -> ::session_core::Result<::session_core::WriteOutcome> {
                let now = ::session_core::now_ms();
                let expires_at = ::session_core::write_expiry(data, max_age)?;
                let version = ::session_core::Version::generate();
                let bytes =
                    ::session_core::encode(data, version, expires_at, self.max_record_bytes)?;
                let owner = ::session_core::owner_index(data)?;
                // Safe to repeat after a conflict: a rolled-back attempt changed nothing.
                let after: Option<i64> =
                    $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                        ::sqlx::query_scalar(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                            &self.queries.write_if,
                        )))
                        .bind($crate::version_to_column(expected))
                        .bind(bytes.as_slice())
                        .bind(expires_at)
                        .bind($crate::version_to_column(version))
                        .bind(key.as_str())
                        .bind(now)
                        .bind(owner.as_ref().map(|o| o.as_str().to_owned()))
                        .fetch_optional(&self.pool)
                    })
                    .await?;
                Ok(match after {
                    None => ::session_core::WriteOutcome::Missing,
                    Some(v) if $crate::version_from_column(v) == version => {
                        ::session_core::WriteOutcome::Written(version)
                    }
                    Some(_) => ::session_core::WriteOutcome::Conflict,
                })
            }

            async fn touch(
                &self,
                key: &::session_core::SessionKey,
                max_age: ::session_core::Duration,
            ) -> ::session_core::Result<bool> {
                self.touch_row(key, max_age).await
            }

            async fn destroy(
                &self,
                key: &::session_core::SessionKey,
            ) -> ::session_core::Result<()> {
                self.delete_row(key).await
            }

            async fn list_owned(
                &self,
                owner: &::session_core::Owner,
            ) -> ::session_core::Result<Vec<::session_core::OwnedSession>> {
                self.owned_rows(owner).await
            }

            async fn destroy_owned(
                &self,
                owner: &::session_core::Owner,
                keep: Option<&::session_core::SessionKey>,
            ) -> ::session_core::Result<u64> {
                self.delete_owned_rows(owner, keep).await
            }

            async fn scan(
                &self,
                cursor: &::session_core::ScanCursor,
                page_size: u32,
            ) -> ::session_core::Result<::session_core::ScanPage> {
                // Keyset pagination on the primary key: each page is an index range read,
                // however deep into the table (OFFSET would re-read every row before it).
                let size = page_size.clamp(1, $crate::MAX_CLEANUP_BATCH);
                let now = ::session_core::now_ms();
                let ids: Vec<String> =
                    $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                        ::sqlx::query_scalar(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                            &self.queries.scan,
                        )))
                        .bind(cursor.position())
                        .bind(now)
                        .bind(i64::from(size))
                        .fetch_all(&self.pool)
                    })
                    .await?;
                Ok(::session_core::ScanPage::after_last(&ids, size))
            }

            async fn purge_expired(&self, limit: u32) -> ::session_core::Result<u64> {
                self.cleanup_batches(limit, || true).await
            }

            fn info(&self) -> ::session_core::StoreInfo {
                // OpenTelemetry's `db.system` names.
                ::session_core::StoreInfo::new(
                    match <$classify as $crate::Classify<::sqlx::Error>>::BACKEND {
                        "postgres" => "postgresql",
                        other => other,
                    },
                )
            }
        }
    };
}

/// The one-statement row operations every SQL store shares, MySQL's included, as inherent
/// methods of `$store` (fields `pool`, `queries` with the `Arc<str>` statements `select`,
/// `select_expiry`, `touch`, `delete`, `list_owned` and `delete_owned`, `timeout`,
/// `expiry_resolution`), whose `version` column reads as `$version`: `select_row`, the plain
/// read, and `settled_read`, the first statement of a lazy rolling read, both for `load`; then,
/// run with [`timed_retry`](crate::timed_retry) and driver errors read by `$classify`,
/// `touch_row`, `delete_row`, `owned_rows` and `delete_owned_rows`, for the
/// [`SessionStore`](session_core::SessionStore) methods `touch`, `destroy`, `list_owned` and
/// `destroy_owned` (see [`impl_session_store!`](crate::impl_session_store), which uses them).
#[macro_export]
macro_rules! impl_row_ops {
    ($store:ty, $classify:ty, version: $version:ty) => {
        impl $store {
            /// `select` (id, now): the `data` and `version` of the live row `key`.
            async fn select_row(
                &self,
                key: &::session_core::SessionKey,
                now: i64,
            ) -> ::std::result::Result<Option<(Vec<u8>, $version)>, ::sqlx::Error> {
                ::sqlx::query_as(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                    &self.queries.select,
                )))
                .bind(key.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            }

            /// The first statement of a rolling read with a non-zero expiry resolution:
            /// `select_expiry` (id, now) reads the live row with its expiry. `Some(answer)` when
            /// that settles the read (no live row, or an expiry recent enough: nothing to
            /// commit), `None` when the expiry lags and must be rewritten by the exact path,
            /// which re-checks liveness itself.
            async fn settled_read(
                &self,
                key: &::session_core::SessionKey,
                now: i64,
                max_age: i64,
            ) -> ::std::result::Result<Option<Option<(Vec<u8>, $version)>>, ::sqlx::Error> {
                let found: Option<(Vec<u8>, $version, i64)> = ::sqlx::query_as(
                    ::sqlx::AssertSqlSafe(::std::sync::Arc::clone(&self.queries.select_expiry)),
                )
                .bind(key.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let found = found.map(|(bytes, version, stored)| ((bytes, version), stored));
                Ok(self.expiry_resolution.settle(found, now, max_age))
            }

            /// [`SessionStore::touch`](::session_core::SessionStore::touch): `touch` (new expiry,
            /// id, now), `true` when it matched a row.
            async fn touch_row(
                &self,
                key: &::session_core::SessionKey,
                max_age: ::session_core::Duration,
            ) -> ::session_core::Result<bool> {
                let now = ::session_core::now_ms();
                let expires_at = now.saturating_add(::session_core::max_age_ms(max_age)?);
                // A touch moves the expiry of a live row and nothing else: no upsert, so a touch arriving
                // after a logout or after expiry cannot bring the session back. (On MySQL, sqlx sets
                // CLIENT_FOUND_ROWS, so the matched row counts even when its expiry did not move.)
                let touched = $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                    ::sqlx::query(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                        &self.queries.touch,
                    )))
                    .bind(expires_at)
                    .bind(key.as_str())
                    .bind(now)
                    .execute(&self.pool)
                })
                .await?;
                Ok(touched.rows_affected() > 0)
            }

            /// [`SessionStore::destroy`](::session_core::SessionStore::destroy): `delete` (id).
            async fn delete_row(
                &self,
                key: &::session_core::SessionKey,
            ) -> ::session_core::Result<()> {
                $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                    ::sqlx::query(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                        &self.queries.delete,
                    )))
                    .bind(key.as_str())
                    .execute(&self.pool)
                })
                .await?;
                Ok(())
            }

            /// [`SessionStore::list_owned`](::session_core::SessionStore::list_owned):
            /// `list_owned` (owner index, now).
            async fn owned_rows(
                &self,
                owner: &::session_core::Owner,
            ) -> ::session_core::Result<Vec<::session_core::OwnedSession>> {
                let now = ::session_core::now_ms();
                let index = owner.index();
                let rows: Vec<(String, Vec<u8>, i64)> =
                    $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                        ::sqlx::query_as(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                            &self.queries.list_owned,
                        )))
                        .bind(index.as_str())
                        .bind(now)
                        .fetch_all(&self.pool)
                    })
                    .await?;
                Ok(rows
                    .iter()
                    .filter_map(|(id, bytes, expires_at)| {
                        ::session_core::OwnedSession::from_stored(
                            owner,
                            id,
                            bytes,
                            *expires_at,
                            now,
                        )
                    })
                    .collect())
            }

            /// [`SessionStore::destroy_owned`](::session_core::SessionStore::destroy_owned):
            /// `delete_owned` (owner index, now, kept id, batch), repeated while a batch is
            /// full. Batches bound how long one statement holds its row locks; each is safe to
            /// repeat after a conflict.
            async fn delete_owned_rows(
                &self,
                owner: &::session_core::Owner,
                keep: Option<&::session_core::SessionKey>,
            ) -> ::session_core::Result<u64> {
                const BATCH: i64 = 1000;
                let index = owner.index();
                let keep = keep.map_or("", ::session_core::SessionKey::as_str);
                let mut ended = 0;
                loop {
                    let now = ::session_core::now_ms();
                    let done = $crate::timed_retry::<$classify, _, _, _, _>(self.timeout, || {
                        ::sqlx::query(::sqlx::AssertSqlSafe(::std::sync::Arc::clone(
                            &self.queries.delete_owned,
                        )))
                        .bind(index.as_str())
                        .bind(now)
                        .bind(keep)
                        .bind(BATCH)
                        .execute(&self.pool)
                    })
                    .await?;
                    ended += done.rows_affected();
                    if done.rows_affected() < BATCH as u64 {
                        return Ok(ended);
                    }
                }
            }
        }
    };
}
