//! [`RedisStore`]: the struct, its settings, and the [`SessionStore`] implementation.

use std::fmt;
use std::time::Duration as StdDuration;

use redis::Value;
use session_core::{
    DEFAULT_MAX_RECORD_BYTES, Duration, Error, ExpiryResolution, Loaded, OwnedSession, Owner,
    OwnerIndex, Result, ScanCursor, ScanPage, SessionData, SessionKey, SessionStore, StoreInfo,
    Version, WriteOutcome, async_trait, decode, encode, lifetime_over, max_age_ms, now_ms,
    owner_index, write_expiry,
};

use crate::connection::Connection;
use crate::owners::{BUMP, EXTEND, OWNED_BATCH, WRITE_IF, WRITE_OWNED, owner_in, version_segment};

/// Default key prefix: the Redis key of a session is `"rsess:"` followed by the session key.
///
/// Releases before issue 16 used `"sess:"`, connect-redis's default, so that the two read each
/// other's records; upgrading users keep their sessions with `with_prefix("sess:")` (or
/// `prefix=sess:` in a store URL).
pub const DEFAULT_PREFIX: &str = "rsess:";

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

/// A session store on Redis or Redis Cluster.
///
/// Cloning is cheap: clones share the connection. See the [crate documentation](crate) for the
/// commands it sends and how it behaves when the server is down or slow.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: Connection,
    prefix: String,
    pub(crate) timeout: StdDuration,
    max_record_bytes: usize,
    resolution: ExpiryResolution,
    /// The node's host and port when the store was connected by URL to one node (for
    /// [`SessionStore::info`]).
    pub(crate) server: Option<(String, u16)>,
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
            .field("expiry_resolution", &self.resolution)
            .finish()
    }
}

impl RedisStore {
    /// A store on `conn` with the default settings; the public constructors are in `connect.rs`.
    pub(crate) fn from_connection(conn: Connection) -> Self {
        RedisStore {
            server: None,
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            resolution: ExpiryResolution::default(),
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

    /// Sets how far behind a rolling read may leave a session's TTL before it moves it (default
    /// [`ExpiryResolution::Auto`]: a hundredth of the max-age, at most a minute).
    ///
    /// A rolling read first reads the record and its `PTTL` in one round trip of two plain
    /// commands. When the TTL is still within the resolution of the max-age it answers with
    /// that; otherwise it runs the owner-aware extend script, which moves the TTL (and the
    /// owner's index entry) to the full max-age. Redis runs a script several times slower than
    /// a plain command (about 5 µs of server time against 0.3 µs for `GET`, from `INFO
    /// commandstats` here), so the default spares the server that script on all but about one
    /// read per resolution of an active session. [`ExpiryResolution::Exact`] runs the script on
    /// every rolling read. Touches always move the TTL exactly. Either way Redis never returns
    /// an expired key, and a read that does not move the TTL writes nothing, so the owner index
    /// keeps covering the record.
    pub fn with_expiry_resolution(mut self, resolution: ExpiryResolution) -> Self {
        self.resolution = resolution;
        self
    }

    /// The prefix put before every session key.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn redis_key(&self, key: &SessionKey) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.as_str().len());
        k.push_str(&self.prefix);
        k.push_str(key.as_str());
        k
    }

    /// What comes before an owner index in the key of its sorted set. `~` is not a session key
    /// character, so no session key can collide with an index.
    fn index_prefix(&self) -> String {
        format!("{}~owner:", self.prefix)
    }

    /// Whether the record and its owner's index may sit in different slots (a cluster), so that
    /// a script must not touch both.
    fn split_slots(&self) -> bool {
        self.conn.is_cluster()
    }

    fn single_flag(&self) -> &'static str {
        if self.split_slots() { "0" } else { "1" }
    }

    /// A cluster's first step for an owned session: extend the owner's index entry to `expiry`.
    async fn bump(&self, owner: &[u8], key: &SessionKey, expiry: i64) -> Result<()> {
        let mut index = self.index_prefix().into_bytes();
        index.extend_from_slice(owner);
        let mut invocation = BUMP.prepare_invoke();
        invocation
            .key(index)
            .arg(key.as_str())
            .arg(expiry)
            .arg(now_ms());
        let _: i64 = self.conn.invoke(&invocation, self.timeout).await?;
        Ok(())
    }

    /// Drops a stale member from an owner's index after its session moved to another owner or
    /// none (a cluster's last step; on failure the index only lags, see `owners.rs`).
    async fn unlist(&self, owner: &[u8], key: &SessionKey) {
        let mut index = self.index_prefix().into_bytes();
        index.extend_from_slice(owner);
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(index).arg(key.as_str());
        if let Err(e) = self.conn.query::<i64>(&cmd, self.timeout).await {
            tracing::debug!(error = %e, "dropping a stale owner index entry failed; it expires by itself");
        }
    }

    /// A touch (`read == false`) or a rolling read: moves the expiry, and the owner's index
    /// entry first when the session has an owner. Answers whether the record was live, and its
    /// bytes for a read.
    async fn extend(
        &self,
        key: &SessionKey,
        max_age: Duration,
        read: bool,
    ) -> Result<(bool, Option<Vec<u8>>)> {
        let ms = max_age_ms(max_age)?;
        let now = now_ms();
        let expiry = now.saturating_add(ms);
        let redis_key = self.redis_key(key);
        let mut invocation = EXTEND.prepare_invoke();
        invocation
            .key(&redis_key)
            .arg(ms)
            .arg(self.index_prefix())
            .arg(key.as_str())
            .arg(expiry)
            .arg(now)
            .arg(if read { "read" } else { "touch" })
            .arg(self.single_flag());
        let answer: Vec<Value> = self.conn.invoke(&invocation, self.timeout).await?;
        let found = match answer.first() {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let value = match answer.get(1) {
            Some(Value::BulkString(bytes)) if read && found != 0 => Some(bytes.clone()),
            _ => None,
        };
        if found == -1 {
            // A cluster and an owned session: the index first, then the record.
            let Some(Value::BulkString(owner)) = answer.get(2) else {
                return Err(Error::backend(
                    crate::error::BACKEND,
                    "the extend script answered without the owner",
                ));
            };
            self.bump(owner, key, expiry).await?;
            let mut cmd = redis::cmd("PEXPIRE");
            cmd.arg(&redis_key).arg(ms);
            let existed: i64 = self.conn.query(&cmd, self.timeout).await?;
            // Destroyed between the two steps: as if the read came after the destroy.
            return Ok((existed == 1, value.filter(|_| existed == 1)));
        }
        Ok((found == 1, value))
    }

    /// A rolling read: the record when its TTL is recent enough (see
    /// [`with_expiry_resolution`](Self::with_expiry_resolution)), else the extend script's.
    async fn rolling_read(&self, key: &SessionKey, max_age: Duration) -> Result<Option<Vec<u8>>> {
        let ms = max_age_ms(max_age)?;
        if self.resolution.slack_ms(ms) > 0 {
            let redis_key = self.redis_key(key);
            let mut pipe = redis::pipe();
            pipe.cmd("GET").arg(&redis_key).cmd("PTTL").arg(&redis_key);
            let (value, ttl): (Option<Vec<u8>>, i64) =
                self.conn.query_reads(&pipe, self.timeout).await?;
            let Some(value) = value else {
                return Ok(None);
            };
            // `PTTL` is -2 when the key went between the two commands and -1 when it has no
            // TTL (set by hand): both take the script, which decides afresh. The comparison is
            // of durations on the server's clock, so clock skew plays no part.
            let now = now_ms();
            if ttl >= 0 && !self.resolution.must_move(now.saturating_add(ttl), now, ms) {
                return Ok(Some(value));
            }
        }
        // One script reads and moves the TTL (and the owner's index entry) in one round trip,
        // and like GET finds nothing for a missing or expired key, so a rolling read never
        // creates a record.
        Ok(self.extend(key, max_age, true).await?.1)
    }

    /// The live records of `keys`, read in batches: `(key, record bytes)`.
    async fn records(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let mut found = Vec::new();
        for batch in keys.chunks(OWNED_BATCH) {
            let mut cmd = redis::cmd("MGET");
            for key in batch {
                cmd.arg(format!("{}{key}", self.prefix));
            }
            let values: Vec<Option<Vec<u8>>> = self.conn.query(&cmd, self.timeout).await?;
            found.extend(
                batch
                    .iter()
                    .zip(values)
                    .filter_map(|(key, value)| Some((key.clone(), value?))),
            );
        }
        Ok(found)
    }

    /// The members of `owner`'s index with their scores.
    async fn members(&self, owner: &OwnerIndex) -> Result<Vec<(String, i64)>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(format!("{}{}", self.index_prefix(), owner.as_str()))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
        let members: Vec<(String, f64)> = self.conn.query(&cmd, self.timeout).await?;
        #[allow(clippy::cast_possible_truncation)] // scores are epoch ms, exact in an f64
        Ok(members
            .into_iter()
            .map(|(member, score)| (member, score as i64))
            .collect())
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
        let bytes = if rolling {
            self.rolling_read(key, max_age).await?
        } else {
            max_age_ms(max_age)?;
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.redis_key(key));
            self.conn.query(&cmd, self.timeout).await?
        };
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        // The record's embedded expiry is deliberately not checked here. It is the expiry at
        // write time, and touches and rolling reads move only the key's TTL without rewriting
        // the value, so the embedded expiry of a live, touched session is routinely in the
        // past. Redis' TTL is authoritative, and Redis never returns a key whose TTL has
        // passed: it checks expiry on every access, not only in its sweeper.
        let record = decode(&bytes).map_err(Error::Decode)?;
        if lifetime_over(&record.data, now_ms()) {
            // Past its absolute lifetime: ended, whatever its TTL says.
            return Ok(None);
        }
        Ok(Some(Loaded::new(record.data, record.version)))
    }

    async fn write(&self, key: &SessionKey, data: &SessionData, max_age: Duration) -> Result<()> {
        let now = now_ms();
        // now + max_age, or the end of the session's absolute lifetime when that comes first.
        let expiry = write_expiry(data, max_age)?;
        let ms = expiry.saturating_sub(now).max(1);
        // Encode first: a record over the limit fails before any I/O, leaving the old one. The
        // version is drawn here, not read from the server: SET cannot read the old value in
        // the same round trip, which is why versions are random rather than counters.
        let record = encode(data, Version::generate(), expiry, self.max_record_bytes)?;
        let owner = owner_index(data)?;
        match &owner {
            // No owner: a plain SET. An index entry the session had under an earlier owner
            // lags until it expires; listings check the record, so it is never shown.
            None => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.redis_key(key)).arg(record).arg("PX").arg(ms);
                let () = self.conn.query(&cmd, self.timeout).await?;
            }
            Some(owner) if !self.split_slots() => {
                let mut invocation = WRITE_OWNED.prepare_invoke();
                invocation
                    .key(self.redis_key(key))
                    .arg(record)
                    .arg(ms)
                    .arg(self.index_prefix())
                    .arg(key.as_str())
                    .arg(owner.as_str())
                    .arg(expiry)
                    .arg(now_ms());
                let _: i64 = self.conn.invoke(&invocation, self.timeout).await?;
            }
            Some(owner) => {
                self.bump(owner.as_str().as_bytes(), key, expiry).await?;
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.redis_key(key)).arg(record).arg("PX").arg(ms);
                let () = self.conn.query(&cmd, self.timeout).await?;
            }
        }
        Ok(())
    }

    async fn write_if(
        &self,
        key: &SessionKey,
        data: &SessionData,
        max_age: Duration,
        expected: Version,
    ) -> Result<WriteOutcome> {
        let now = now_ms();
        let expiry = write_expiry(data, max_age)?;
        let ms = expiry.saturating_sub(now).max(1);
        let version = Version::generate();
        let record = encode(data, version, expiry, self.max_record_bytes)?;
        let owner = owner_in(&record).map(<[u8]>::to_vec).unwrap_or_default();
        if self.split_slots() && !owner.is_empty() {
            // A cluster: the index entry first (harmless if the write then conflicts).
            self.bump(&owner, key, expiry).await?;
        }
        let mut invocation = WRITE_IF.prepare_invoke();
        invocation
            .key(self.redis_key(key))
            .arg(version_segment(expected))
            .arg(version_segment(version))
            .arg(record)
            .arg(ms)
            .arg(self.index_prefix())
            .arg(key.as_str())
            .arg(&owner)
            .arg(expiry)
            .arg(now)
            .arg(self.single_flag());
        let (answer, old): (i64, Vec<u8>) = self.conn.invoke(&invocation, self.timeout).await?;
        if answer == 1 && self.split_slots() && !old.is_empty() && old != owner {
            self.unlist(&old, key).await;
        }
        Ok(match answer {
            1 => WriteOutcome::Written(version),
            2 => WriteOutcome::Conflict,
            _ => WriteOutcome::Missing,
        })
    }

    async fn touch(&self, key: &SessionKey, max_age: Duration) -> Result<bool> {
        // Never a SET: the script's PEXPIRE does nothing to a missing or expired key, so a
        // touch that arrives after a logout (DEL) or after expiry can never resurrect the
        // session, and the stored data is never overwritten.
        Ok(self.extend(key, max_age, false).await?.0)
    }

    async fn destroy(&self, key: &SessionKey) -> Result<()> {
        // DEL of a missing key answers 0, not an error: destroy is idempotent. An owner's index
        // entry stays until it expires (listings check the record, so it is never shown).
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        let _removed: i64 = self.conn.query(&cmd, self.timeout).await?;
        Ok(())
    }

    async fn list_owned(&self, owner: &Owner) -> Result<Vec<OwnedSession>> {
        let members = self.members(&owner.index()).await?;
        let keys: Vec<String> = members.iter().map(|(m, _)| m.clone()).collect();
        let scores: std::collections::HashMap<&str, i64> =
            members.iter().map(|(m, s)| (m.as_str(), *s)).collect();
        let now = now_ms();
        Ok(self
            .records(&keys)
            .await?
            .iter()
            .filter_map(|(key, bytes)| {
                // A record Redis returned is live, whatever the clocks say; the score is its
                // expiry as of the last touch.
                let expires_at = scores.get(key.as_str()).copied().unwrap_or(0).max(now + 1);
                OwnedSession::from_stored(owner, key, bytes, expires_at, now)
            })
            .collect())
    }

    async fn destroy_owned(&self, owner: &Owner, keep: Option<&SessionKey>) -> Result<u64> {
        let index = owner.index();
        let keys: Vec<String> = self
            .members(&index)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| Some(m.as_str()) != keep.map(SessionKey::as_str))
            .collect();
        let mut ended = 0;
        for batch in keys.chunks(OWNED_BATCH) {
            // Only records whose header still names this owner go.
            let doomed: Vec<String> = self
                .records(batch)
                .await?
                .into_iter()
                .filter(|(_, bytes)| owner_in(bytes) == Some(index.as_str().as_bytes()))
                .map(|(key, _)| key)
                .collect();
            if doomed.is_empty() {
                continue;
            }
            let mut del = redis::cmd("DEL");
            for key in &doomed {
                del.arg(format!("{}{key}", self.prefix));
            }
            let removed: i64 = self.conn.query(&del, self.timeout).await?;
            ended += u64::try_from(removed).unwrap_or(0);
            let mut zrem = redis::cmd("ZREM");
            zrem.arg(format!("{}{}", self.index_prefix(), index.as_str()));
            for key in &doomed {
                zrem.arg(key);
            }
            let _: i64 = self.conn.query(&zrem, self.timeout).await?;
        }
        Ok(ended)
    }

    async fn scan(&self, cursor: &ScanCursor, page_size: u32) -> Result<ScanPage> {
        self.scan_page(cursor, page_size).await
    }

    fn info(&self) -> StoreInfo {
        let info = StoreInfo::new("redis");
        match &self.server {
            Some((host, port)) => info.with_server(host.clone(), Some(*port)),
            None => info,
        }
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
