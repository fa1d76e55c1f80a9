//! NodeRedisStore: a store in a Node format (see its documentation).

use std::fmt;
use std::time::Duration as StdDuration;

use redis::Script;
use session_core::node::{self, NodeFormat};
use session_core::{
    Duration, Loaded, OwnedSession, Owner, Result, SessionData, SessionKey, SessionStore,
    WriteOutcome, async_trait, max_age_ms, now_ms,
};

use crate::RedisStore;
use crate::connection::Connection;
use crate::store::DEFAULT_TIMEOUT;

/// koa-redis's key prefix: none.
pub const KOA_REDIS_PREFIX: &str = "";

/// connect-redis's default key prefix.
pub const CONNECT_REDIS_PREFIX: &str = "sess:";

/// Replaces the record only if it still holds the bytes that were read: KEYS[1], ARGV = old
/// bytes, new bytes, TTL in seconds. Answers 1 (written), 0 (missing), -1 (changed).
const CAS: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
";

/// A session store on Redis in a Node store's format.
///
/// [`NodeRedisStore`]: sessions in the records koa-redis 4 (koa-session 7) or connect-redis 10
/// (express-session 1.19) keep in Redis, so that a Rust service and a running Koa or Express app
/// share them (issue 16; the formats are in `session_core::node`).
///
/// | | koa-redis ([`NodeFormat::Koa`]) | connect-redis ([`NodeFormat::Express`]) |
/// |---|---|---|
/// | key | the session key as it is (default prefix `""`) | `sess:` + key ([`CONNECT_REDIS_PREFIX`]) |
/// | write | `SET key json EX ceil((max_age + 10 s) / 1 s)` (koa-redis's `SETEX`) | `SET key json EX ceil((cookie.expires − now) / 1 s)`, `DEL` when ≤ 0 |
/// | expired | `_expire` < now, or no key | no key (the TTL is connect-redis's only check) |
/// | touch | a rewrite with a new `_expire` (koa has no touch) | `EXPIRE key ceil(max_age / 1 s)`, the JSON untouched |
///
/// A record in another format (a native `ss1:` record, an express record under a koa store)
/// is unreadable: [`Error::Decode`](session_core::Error::Decode), which the middleware counts and treats as no session.
/// Conditional writes compare the record's bytes in a Lua script ([`session_core::node::version_of`]).
#[derive(Clone)]
pub struct NodeRedisStore {
    conn: Connection,
    format: NodeFormat,
    prefix: String,
    timeout: StdDuration,
}

impl fmt::Debug for NodeRedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeRedisStore")
            .field("connection", &self.conn.kind())
            .field("format", &self.format)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl NodeRedisStore {
    /// A store on `store`'s connection in `format`, with that format's Node default prefix
    /// ([`KOA_REDIS_PREFIX`] or [`CONNECT_REDIS_PREFIX`]).
    pub fn new(store: &RedisStore, format: NodeFormat) -> Self {
        NodeRedisStore {
            conn: store.conn.clone(),
            format,
            prefix: match format {
                NodeFormat::Koa => KOA_REDIS_PREFIX,
                NodeFormat::Express => CONNECT_REDIS_PREFIX,
            }
            .to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets the key prefix (koa-redis has none; connect-redis's `prefix` option).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the time one operation may take (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: StdDuration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The record format.
    pub fn format(&self) -> NodeFormat {
        self.format
    }

    fn redis_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    async fn raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.conn.query(&cmd, self.timeout).await
    }

    /// The live data of a record's bytes, `None` when the format judges it expired.
    fn decode(&self, bytes: &[u8], now: i64) -> Result<Option<SessionData>> {
        Ok(match self.format {
            NodeFormat::Koa => node::koa_decode(bytes, now)?,
            NodeFormat::Express => Some(node::express_decode(bytes)?),
        })
    }

    /// The bytes to store for `data` and their TTL in seconds (≤ 0: delete instead).
    fn encode(&self, data: &SessionData, now: i64, ms: i64) -> (String, i64) {
        match self.format {
            NodeFormat::Koa => (
                node::koa_encode(data, now, ms),
                node::koa_store_ttl_secs(ms),
            ),
            NodeFormat::Express => {
                let record = node::express_encode(data, now, ms);
                let ttl = node::connect_redis_ttl_secs(record.expires_ms, now);
                (record.to_json(), ttl)
            }
        }
    }

    async fn cas(&self, key: &str, old: &[u8], new: &str, ttl: i64) -> Result<i64> {
        let script = Script::new(CAS);
        let mut invocation = script.prepare_invoke();
        invocation.key(key).arg(old).arg(new).arg(ttl.max(1));
        self.conn.invoke(&invocation, self.timeout).await
    }
}

#[async_trait]
impl SessionStore for NodeRedisStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        max_age_ms(max_age)?;
        let redis_key = self.redis_key(key);
        let Some(bytes) = self.raw(&redis_key).await? else {
            return Ok(None);
        };
        let Some(data) = self.decode(&bytes, now_ms())? else {
            return Ok(None);
        };
        let mut version = node::version_of(&bytes);
        if rolling {
            match self.format {
                NodeFormat::Express => {
                    self.touch(key, max_age).await?;
                }
                NodeFormat::Koa => {
                    let (new, ttl) = self.encode(&data, now_ms(), max_age_ms(max_age)?);
                    if self.cas(&redis_key, &bytes, &new, ttl).await? == 1 {
                        version = node::version_of(new.as_bytes());
                    }
                }
            }
        }
        Ok(Some(Loaded::new(data, version)))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let ms = max_age_ms(max_age)?;
        let (json, ttl) = self.encode(data, now_ms(), ms);
        let redis_key = self.redis_key(key);
        let cmd = if ttl > 0 {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&redis_key).arg(json).arg("EX").arg(ttl);
            cmd
        } else {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(&redis_key);
            cmd
        };
        let _: redis::Value = self.conn.query(&cmd, self.timeout).await?;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        version: session_core::Version,
    ) -> Result<WriteOutcome> {
        let ms = max_age_ms(max_age)?;
        let redis_key = self.redis_key(key);
        let Some(bytes) = self.raw(&redis_key).await? else {
            return Ok(WriteOutcome::Missing);
        };
        let now = now_ms();
        if self.decode(&bytes, now)?.is_none() {
            return Ok(WriteOutcome::Missing);
        }
        if node::version_of(&bytes) != version {
            return Ok(WriteOutcome::Conflict);
        }
        let (json, ttl) = self.encode(data, now, ms);
        if ttl <= 0 {
            self.destroy(key).await?;
            return Ok(WriteOutcome::Written(node::version_of(json.as_bytes())));
        }
        Ok(match self.cas(&redis_key, &bytes, &json, ttl).await? {
            1 => WriteOutcome::Written(node::version_of(json.as_bytes())),
            0 => WriteOutcome::Missing,
            _ => WriteOutcome::Conflict,
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        let ms = max_age_ms(max_age)?;
        let redis_key = self.redis_key(key);
        match self.format {
            NodeFormat::Express => {
                let mut cmd = redis::cmd("EXPIRE");
                cmd.arg(&redis_key)
                    .arg(ms.div_euclid(1000) + i64::from(ms % 1000 != 0));
                let existed: i64 = self.conn.query(&cmd, self.timeout).await?;
                Ok(existed == 1)
            }
            NodeFormat::Koa => {
                let Some(bytes) = self.raw(&redis_key).await? else {
                    return Ok(false);
                };
                let now = now_ms();
                let Some(data) = self.decode(&bytes, now)? else {
                    return Ok(false);
                };
                let (json, ttl) = self.encode(&data, now, ms);
                Ok(self.cas(&redis_key, &bytes, &json, ttl).await? != 0)
            }
        }
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        let _: i64 = self.conn.query(&cmd, self.timeout).await?;
        Ok(())
    }

    async fn list_owned(&self, _owner: &Owner) -> Result<Vec<OwnedSession>> {
        Err(node::no_owner_index(crate::error::BACKEND))
    }

    async fn destroy_owned(&self, _owner: &Owner, _keep: Option<&SessionKey>) -> Result<u64> {
        Err(node::no_owner_index(crate::error::BACKEND))
    }
}
