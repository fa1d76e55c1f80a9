//! [`RedisStore`]: the struct, its settings, and the [`SessionStore`] implementation.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration as StdDuration;

use redis::Script;
use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, Error, Loaded, Result, SessionData, SessionKey,
    SessionStore, Version, WriteOutcome, async_trait, decode, encode, max_age_ms, now_ms,
    version_prefix,
};

use crate::connection::Connection;

/// Default key prefix: the Redis key of a session is `"sess:"` followed by the session key.
pub const DEFAULT_PREFIX: &str = "sess:";

/// Default per-operation timeout: 2 seconds.
///
/// Long enough for a healthy server under load (Redis answers in well under a millisecond, and a
/// 1 MiB record crosses a LAN in about 10 ms), short enough that a dead or stalled server fails a
/// request quickly with [`Error::Timeout`] instead of holding it until the client gives up.
///
/// Shorter than the 5 s of the MongoDB and MySQL stores because nothing slow sits in front of a
/// Redis command: one multiplexed connection, authenticated once, where those stores may wait
/// for a pooled connection or open and authenticate one within an operation, and MongoDB must
/// outlast its 3 s server selection.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(2);

/// The conditional write: one key, so it runs on a cluster too.
///
/// `KEYS[1]` the Redis key; `ARGV[1]` the header prefix of the expected version
/// ([`version_prefix`]); `ARGV[2]` the prefix of the new version; `ARGV[3]` the new record;
/// `ARGV[4]` the TTL in ms. Answers 0 missing, 1 written, 2 conflict.
///
/// The version is compared as the record's first bytes, a plain string comparison: the JSON is
/// never parsed on the server, where Lua's numbers are doubles. Only those first bytes are read
/// (`GETRANGE`), so the record itself is never copied into Lua. A missing or expired key reads as
/// an empty string (Redis checks the TTL on access, inside scripts too; no record is empty), so
/// nothing is re-created.
/// Finding the *new* version already in place means this very write was applied and its answer
/// lost with a dropped connection; answering "written" again makes the retry in
/// `Connection::invoke` safe.
static WRITE_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local head = redis.call('GETRANGE', KEYS[1], 0, math.max(#ARGV[1], #ARGV[2]) - 1)
if head == '' then return 0 end
if string.sub(head, 1, #ARGV[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
    return 1
end
if string.sub(head, 1, #ARGV[2]) == ARGV[2] then return 1 end
return 2
",
    )
});

/// A session store on Redis or Redis Cluster.
///
/// Cloning is cheap: clones share the connection. See the [crate documentation](crate) for the
/// commands it sends and how it behaves when the server is down or slow.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: Connection,
    prefix: String,
    timeout: StdDuration,
    max_record_bytes: usize,
}

impl fmt::Debug for RedisStore {
    // Hand-written: neither the connection (whose client holds the password) nor any key is
    // printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("connection", &self.conn.kind())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl RedisStore {
    /// A store on `conn` with the default settings; the public constructors are in `connect.rs`.
    pub(crate) fn from_connection(conn: Connection) -> Self {
        RedisStore {
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// Sets the prefix put before every session key to form the Redis key (default
    /// [`DEFAULT_PREFIX`]). Give each application sharing a server its own prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the time one operation may take, retry included (default [`DEFAULT_TIMEOUT`]).
    /// Past it the operation fails with [`Error::Timeout`].
    pub fn with_timeout(mut self, timeout: StdDuration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the largest encoded record `set` writes (default
    /// [`DEFAULT_MAX_RECORD_BYTES`], 1 MiB); larger records fail with [`Error::TooLarge`]
    /// before anything is sent.
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.max_record_bytes = max;
        self
    }

    fn redis_key(&self, key: &SessionKey) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.as_str().len());
        k.push_str(&self.prefix);
        k.push_str(key.as_str());
        k
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn load(
        &self,
        key: &SessionKey,
        max_age: Duration,
        rolling: bool,
    ) -> Result<Option<Loaded>> {
        let ms = max_age_ms(max_age)?;
        let redis_key = self.redis_key(key);
        let cmd = if rolling {
            // GETEX reads and moves the TTL in one round trip and, like GET, returns nothing for
            // a missing or expired key, so a rolling read never creates a record.
            let mut cmd = redis::cmd("GETEX");
            cmd.arg(&redis_key).arg("PX").arg(ms);
            cmd
        } else {
            let mut cmd = redis::cmd("GET");
            cmd.arg(&redis_key);
            cmd
        };
        let bytes: Option<Vec<u8>> = self.conn.query(&cmd, self.timeout).await?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        // The record's embedded expiry is deliberately not checked here. It is the expiry at
        // write time, and touches (PEXPIRE) and rolling reads (GETEX) move only the key's TTL
        // without rewriting the value, so the embedded expiry of a live, touched session is
        // routinely in the past. Redis' TTL is authoritative, and Redis never returns a key
        // whose TTL has passed: it checks expiry on every access, not only in its sweeper.
        let record = decode(&bytes).map_err(Error::Decode)?;
        Ok(Some(Loaded::new(record.data, record.version)))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let ms = max_age_ms(max_age)?;
        // Encode first: a record over the limit fails before any I/O, leaving the old one. The
        // version is drawn here, not read from the server: SET cannot read the old value in
        // the same round trip, which is why versions are random rather than counters.
        let record = encode(
            data,
            Version::generate(),
            now_ms().saturating_add(ms),
            self.max_record_bytes,
        )?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key)).arg(record).arg("PX").arg(ms);
        let () = self.conn.query(&cmd, self.timeout).await?;
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let ms = max_age_ms(max_age)?;
        let version = Version::generate();
        let record = encode(
            data,
            version,
            now_ms().saturating_add(ms),
            self.max_record_bytes,
        )?;
        let mut invocation = WRITE_IF.prepare_invoke();
        invocation
            .key(self.redis_key(key))
            .arg(version_prefix(expected))
            .arg(version_prefix(version))
            .arg(record)
            .arg(ms);
        let answer: i64 = self.conn.invoke(&invocation, self.timeout).await?;
        Ok(match answer {
            1 => WriteOutcome::Written(version),
            2 => WriteOutcome::Conflict,
            _ => WriteOutcome::Missing,
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        // A touch is PEXPIRE, not SET: PEXPIRE does nothing to a missing or expired key (and
        // answers 0), so a touch that arrives after a logout (DEL) or after expiry can never
        // resurrect the session, and the stored data is never overwritten.
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.redis_key(key)).arg(max_age_ms(max_age)?);
        let existed: i64 = self.conn.query(&cmd, self.timeout).await?;
        Ok(existed == 1)
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        // DEL of a missing key answers 0, not an error: destroy is idempotent.
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        let _removed: i64 = self.conn.query(&cmd, self.timeout).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use redis::aio::ConnectionManager;

    use super::*;

    #[tokio::test]
    async fn debug_shows_settings_but_no_password() {
        // A lazy manager never connects, so this needs no server.
        let client = redis::Client::open("redis://:hunter2@127.0.0.1:1").expect("valid url");
        let conn = ConnectionManager::new_lazy_with_config(
            client,
            redis::aio::ConnectionManagerConfig::new(),
        )
        .expect("lazy manager");
        let store = RedisStore::new(conn).with_prefix("app:");
        let printed = format!("{store:?}");
        assert!(
            printed.contains("app:") && printed.contains("single node"),
            "{printed}"
        );
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(
            store.redis_key(&SessionKey::parse("abc").expect("key")),
            "app:abc"
        );
    }
}
