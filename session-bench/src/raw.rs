//! The raw drivers issuing the commands our stores send, with pre-encoded records and no
//! decoding: the floor our abstraction adds to.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op as MokaOp;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use session_core::{async_trait, now_ms};
use sqlx::{AssertSqlSafe, MySqlPool};

use crate::measure::BoxError;
use crate::subject::{MAX_AGE, Subject, Workload};

fn max_age_ms() -> i64 {
    i64::try_from(MAX_AGE.whole_milliseconds()).unwrap_or(i64::MAX)
}

fn missing() -> BoxError {
    "a seeded session was not found".into()
}

/// A single node or a cluster, as in session-redis.
#[derive(Clone)]
pub(crate) enum RedisConn {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl RedisConn {
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        match self.clone() {
            RedisConn::Single(mut c) => cmd.query_async(&mut c).await,
            RedisConn::Cluster(mut c) => cmd.query_async(&mut c).await,
        }
    }
}

/// `GET`, `GETEX … PX`, `SET … PX`, `PEXPIRE`, `DEL`.
pub(crate) struct RawRedis {
    pub(crate) conn: RedisConn,
    pub(crate) keys: Vec<String>,
    pub(crate) record: Arc<Vec<u8>>,
}

#[async_trait]
impl Subject for RawRedis {
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
        let key = &self.keys[i];
        let ms = max_age_ms();
        let getex = || {
            let mut c = redis::cmd("GETEX");
            c.arg(key).arg("PX").arg(ms);
            c
        };
        let set = || {
            let mut c = redis::cmd("SET");
            c.arg(key).arg(self.record.as_slice()).arg("PX").arg(ms);
            c
        };
        match w {
            Workload::Get => {
                let v: Option<Vec<u8>> = self.conn.query(redis::cmd("GET").arg(key)).await?;
                v.map(drop).ok_or_else(missing)
            }
            Workload::RollingGet => {
                let v: Option<Vec<u8>> = self.conn.query(&getex()).await?;
                v.map(drop).ok_or_else(missing)
            }
            Workload::SetChanged | Workload::Seed => Ok(self.conn.query::<()>(&set()).await?),
            Workload::SetUnchanged => {
                let _: i64 = self
                    .conn
                    .query(redis::cmd("PEXPIRE").arg(key).arg(ms))
                    .await?;
                Ok(())
            }
            Workload::Destroy => {
                let _: i64 = self.conn.query(redis::cmd("DEL").arg(key)).await?;
                Ok(())
            }
            Workload::Mix => {
                let v: Option<Vec<u8>> = self.conn.query(&getex()).await?;
                v.ok_or_else(missing)?;
                if Workload::mix_writes(n) {
                    self.conn.query::<()>(&set()).await?;
                }
                Ok(())
            }
        }
    }

    async fn cleanup(&self) -> Result<(), BoxError> {
        for chunk in self.keys.chunks(1000) {
            if matches!(self.conn, RedisConn::Cluster(_)) {
                // Keys of one DEL must share a slot in a cluster.
                for k in chunk {
                    let _: i64 = self.conn.query(redis::cmd("DEL").arg(k)).await?;
                }
            } else {
                let _: i64 = self.conn.query(redis::cmd("DEL").arg(chunk)).await?;
            }
        }
        Ok(())
    }
}

/// `findOne`, `findOneAndUpdate`, `replaceOne` (upsert), `updateOne`, `deleteOne` on documents
/// shaped like session-mongo's.
pub(crate) struct RawMongo {
    pub(crate) collection: mongodb::Collection<Document>,
    pub(crate) keys: Vec<String>,
    pub(crate) record: String,
}

impl RawMongo {
    fn live(&self, i: usize, now: i64) -> Document {
        doc! { "_id": &self.keys[i], "expiresAt": { "$gt": DateTime::from_millis(now) } }
    }
    async fn replace(&self, i: usize) -> Result<(), BoxError> {
        let expires = now_ms() + max_age_ms();
        let d = doc! { "_id": &self.keys[i], "data": &self.record, "expiresAt": DateTime::from_millis(expires) };
        self.collection
            .replace_one(doc! { "_id": &self.keys[i] }, d)
            .upsert(true)
            .await?;
        Ok(())
    }
    async fn rolling(&self, i: usize) -> Result<(), BoxError> {
        let now = now_ms();
        let found = self
            .collection
            .find_one_and_update(
                self.live(i, now),
                doc! { "$set": { "expiresAt": DateTime::from_millis(now + max_age_ms()) } },
            )
            .projection(doc! { "data": 1 })
            .return_document(ReturnDocument::Before)
            .await?;
        found.map(drop).ok_or_else(missing)
    }
}

#[async_trait]
impl Subject for RawMongo {
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
        match w {
            Workload::Get => {
                let found = self
                    .collection
                    .find_one(self.live(i, now_ms()))
                    .projection(doc! { "data": 1 })
                    .await?;
                found.map(drop).ok_or_else(missing)
            }
            Workload::RollingGet => self.rolling(i).await,
            Workload::SetChanged | Workload::Seed => self.replace(i).await,
            Workload::SetUnchanged => {
                let now = now_ms();
                self.collection
                    .update_one(
                        self.live(i, now),
                        doc! { "$set": { "expiresAt": DateTime::from_millis(now + max_age_ms()) } },
                    )
                    .await?;
                Ok(())
            }
            Workload::Destroy => {
                self.collection
                    .delete_one(doc! { "_id": &self.keys[i] })
                    .await?;
                Ok(())
            }
            Workload::Mix => {
                self.rolling(i).await?;
                if Workload::mix_writes(n) {
                    self.replace(i).await?;
                }
                Ok(())
            }
        }
    }

    async fn cleanup(&self) -> Result<(), BoxError> {
        self.collection.drop().await?;
        Ok(())
    }
}

/// The statements session-mysql sends, on a table made by its `migrate`.
pub(crate) struct RawMySql {
    pub(crate) pool: MySqlPool,
    pub(crate) table: String,
    pub(crate) keys: Vec<String>,
    pub(crate) record: Arc<Vec<u8>>,
    pub(crate) sql: RawSql,
}

/// The statement texts, built once.
pub(crate) struct RawSql {
    select: Arc<str>,
    touch: Arc<str>,
    upsert: Arc<str>,
    delete: Arc<str>,
}

impl RawSql {
    pub(crate) fn new(t: &str) -> Self {
        RawSql {
            select: format!("SELECT data FROM `{t}` WHERE id = ? AND expires_at > ?").into(),
            touch: format!("UPDATE `{t}` SET expires_at = ? WHERE id = ? AND expires_at > ?")
                .into(),
            upsert: format!(
                "INSERT INTO `{t}` (id, data, expires_at) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at)"
            )
            .into(),
            delete: format!("DELETE FROM `{t}` WHERE id = ?").into(),
        }
    }
}

fn q(s: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(s))
}

impl RawMySql {
    async fn select(&self, i: usize, now: i64) -> Result<(), BoxError> {
        let row: Option<Vec<u8>> = sqlx::query_scalar(q(&self.sql.select))
            .bind(&self.keys[i])
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(drop).ok_or_else(missing)
    }
    async fn touch(&self, i: usize, now: i64) -> Result<u64, BoxError> {
        let done = sqlx::query(q(&self.sql.touch))
            .bind(now + max_age_ms())
            .bind(&self.keys[i])
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
    async fn upsert(&self, i: usize) -> Result<(), BoxError> {
        sqlx::query(q(&self.sql.upsert))
            .bind(&self.keys[i])
            .bind(self.record.as_slice())
            .bind(now_ms() + max_age_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn rolling(&self, i: usize) -> Result<(), BoxError> {
        let now = now_ms();
        if self.touch(i, now).await? == 0 {
            return Err(missing());
        }
        self.select(i, now).await
    }
}

#[async_trait]
impl Subject for RawMySql {
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
        match w {
            Workload::Get => self.select(i, now_ms()).await,
            Workload::RollingGet => self.rolling(i).await,
            Workload::SetChanged | Workload::Seed => self.upsert(i).await,
            Workload::SetUnchanged => self.touch(i, now_ms()).await.map(drop),
            Workload::Destroy => {
                sqlx::query(q(&self.sql.delete))
                    .bind(&self.keys[i])
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
            Workload::Mix => {
                self.rolling(i).await?;
                if Workload::mix_writes(n) {
                    self.upsert(i).await?;
                }
                Ok(())
            }
        }
    }

    async fn cleanup(&self) -> Result<(), BoxError> {
        let drop = format!("DROP TABLE IF EXISTS `{}`", self.table);
        sqlx::query(AssertSqlSafe(drop)).execute(&self.pool).await?;
        Ok(())
    }
}

/// A moka entry holding encoded bytes and an absolute expiry.
pub(crate) struct RawEntry {
    bytes: Arc<Vec<u8>>,
    expires_at: i64,
}

struct ExpireAt;

impl ExpireAt {
    fn remaining(e: &RawEntry) -> Option<StdDuration> {
        let left = (e.expires_at - now_ms()).max(0);
        Some(StdDuration::from_millis(u64::try_from(left).unwrap_or(0)))
    }
}

impl Expiry<String, Arc<RawEntry>> for ExpireAt {
    fn expire_after_create(
        &self,
        _: &String,
        e: &Arc<RawEntry>,
        _: Instant,
    ) -> Option<StdDuration> {
        Self::remaining(e)
    }
    fn expire_after_update(
        &self,
        _: &String,
        e: &Arc<RawEntry>,
        _: Instant,
        _: Option<StdDuration>,
    ) -> Option<StdDuration> {
        Self::remaining(e)
    }
}

/// moka with per-entry expiry and pre-encoded bytes: what session-memory does minus the
/// session-core layer (key and data types, encoding for the size check, data clones).
pub(crate) struct RawMoka {
    pub(crate) cache: Cache<String, Arc<RawEntry>>,
    pub(crate) keys: Vec<String>,
    pub(crate) record: Arc<Vec<u8>>,
}

impl RawMoka {
    pub(crate) fn cache() -> Cache<String, Arc<RawEntry>> {
        Cache::builder().expire_after(ExpireAt).build()
    }

    async fn extend(&self, i: usize) -> bool {
        let mut found = false;
        let expires_at = now_ms() + max_age_ms();
        self.cache
            .entry_by_ref(self.keys[i].as_str())
            .and_compute_with(|cur| {
                let op = match cur {
                    Some(cur) => {
                        let e = cur.into_value();
                        if e.expires_at <= now_ms() {
                            MokaOp::Remove
                        } else {
                            found = true;
                            MokaOp::Put(Arc::new(RawEntry {
                                bytes: Arc::clone(&e.bytes),
                                expires_at,
                            }))
                        }
                    }
                    None => MokaOp::Nop,
                };
                std::future::ready(op)
            })
            .await;
        found
    }

    async fn insert(&self, i: usize) {
        let entry = RawEntry {
            bytes: Arc::clone(&self.record),
            expires_at: now_ms() + max_age_ms(),
        };
        self.cache
            .insert(self.keys[i].clone(), Arc::new(entry))
            .await;
    }
}

#[async_trait]
impl Subject for RawMoka {
    async fn call(&self, w: Workload, i: usize, n: u64) -> Result<(), BoxError> {
        match w {
            Workload::Get => {
                let e = self
                    .cache
                    .get(self.keys[i].as_str())
                    .await
                    .ok_or_else(missing)?;
                if e.expires_at <= now_ms() {
                    return Err(missing());
                }
                Ok(())
            }
            Workload::RollingGet => self.extend(i).await.then_some(()).ok_or_else(missing),
            Workload::SetChanged | Workload::Seed => {
                self.insert(i).await;
                Ok(())
            }
            Workload::SetUnchanged => {
                self.extend(i).await;
                Ok(())
            }
            Workload::Destroy => {
                self.cache.invalidate(self.keys[i].as_str()).await;
                Ok(())
            }
            Workload::Mix => {
                self.extend(i).await.then_some(()).ok_or_else(missing)?;
                if Workload::mix_writes(n) {
                    self.insert(i).await;
                }
                Ok(())
            }
        }
    }

    async fn cleanup(&self) -> Result<(), BoxError> {
        self.cache.invalidate_all();
        Ok(())
    }
}
