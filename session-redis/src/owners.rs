//! The owner index on Redis: one sorted set per owner, `prefix + "~owner:" + OwnerIndex`, whose
//! members are the owner's session keys scored by their expiry (epoch ms, application clock).
//!
//! # Invariants
//!
//! - **Superset.** Every live session whose record names an owner is a member of that owner's
//!   set, with a score at or after its expiry, and the set itself lives at least
//!   [`INDEX_SLACK_MS`] past its highest score. On a single node each write, touch or rolling read
//!   of an owned session updates the set in the same script as the record. On a cluster the set
//!   and the record sit in different slots, so the store updates the set *first* (a separate
//!   command) and extends or writes the record only when that succeeded; if the second step
//!   fails, the set merely lives longer than needed.
//! - **Lag, never loss.** A destroyed session, a session whose owner changed and (on a cluster) a
//!   failed second step can leave a member behind. Listing reads every member's record and shows
//!   only live ones that still name the owner; ending an owner's sessions checks each record's
//!   header the same way. A stale member goes when its score is [`INDEX_SLACK_MS`] in the past
//!   (pruned at the next update of the set) or with the set.
//! - **No leak.** The set expires by itself ([`INDEX_SLACK_MS`] after its last session), so an
//!   owner who never comes back leaves nothing behind, with no sweeper and no keyspace
//!   notifications.
//!
//! The slack absorbs clock skew between the application (which computes scores) and Redis (which
//! expires keys by its own clock).

use std::sync::LazyLock;

use redis::Script;

/// How long an index entry and the index itself outlive the expiry they were scored with.
pub(crate) const INDEX_SLACK_MS: i64 = 2_000;

/// Sessions read or deleted per command when listing or ending an owner's sessions.
pub(crate) const OWNED_BATCH: usize = 500;

/// The Lua helpers every owner-aware script starts with.
///
/// `owner_of(key)`: the owner index in the header of the record under `key` (format 3:
/// `ss3:<16 hex>:<32 hex>:…`, so bytes 22 to 53), or `false`.
/// `bump(index, member, expiry, now)`: adds or raises the member's score to `expiry`, makes the
/// set live until at least `expiry + slack`, and (unless `now` is `false`: touches and rolling
/// reads skip it) prunes members whose score is `slack` past `now`.
const PRELUDE: &str = r"
local SLACK = SLACK_MS
local function owner_of(key)
    local head = redis.call('GETRANGE', key, 0, 52)
    if #head == 53 and string.sub(head, 1, 4) == 'ss3:' then return string.sub(head, 22, 53) end
    return false
end
local function owner_in(value)
    if string.sub(value, 1, 4) == 'ss3:' then return string.sub(value, 22, 53) end
    return false
end
local function bump(index, member, expiry, now)
    redis.call('ZADD', index, 'GT', expiry, member)
    local until_ms = tonumber(expiry) + SLACK
    local current = redis.call('PEXPIRETIME', index)
    if current < until_ms then redis.call('PEXPIREAT', index, until_ms) end
    if now then redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (tonumber(now) - SLACK)) end
end
local function at_version(head, v)
    if v == 'ss1:' then return string.sub(head, 1, 4) == 'ss1:' end
    local m = string.sub(head, 1, 4)
    return (m == 'ss2:' or m == 'ss3:') and string.sub(head, 4, 21) == v
end
";

fn script(body: &str) -> Script {
    let prelude = PRELUDE.replace("SLACK_MS", &INDEX_SLACK_MS.to_string());
    Script::new(&format!("{prelude}{body}"))
}

/// The conditional write, owner-aware.
///
/// `KEYS[1]` the record; `ARGV[1]` the expected version's segment ([`version_segment`]);
/// `ARGV[2]` the new version's segment; `ARGV[3]` the new record; `ARGV[4]` the TTL in ms;
/// `ARGV[5]` the index key prefix; `ARGV[6]` the member (session key); `ARGV[7]` the new owner
/// index or `''`; `ARGV[8]` the expiry; `ARGV[9]` now; `ARGV[10]` `'1'` when the script may
/// update index keys itself (single node), `'0'` on a cluster (the caller did).
///
/// Answers `{outcome, old owner or ''}` with outcome 0 missing, 1 written, 2 conflict. Finding
/// the *new* version in place means this very write was applied and its answer lost with a
/// dropped connection: "written" again, so the retry is safe. The version is compared as a
/// string in the header (`GETRANGE`); the JSON is never parsed and the record never copied into
/// Lua.
pub(crate) static WRITE_IF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local head = redis.call('GETRANGE', KEYS[1], 0, 52)
if head == '' then return {0, ''} end
if at_version(head, ARGV[2]) then return {1, ''} end
if not at_version(head, ARGV[1]) then return {2, ''} end
local old = owner_in(head) or ''
if ARGV[10] == '1' then
    if ARGV[7] ~= '' then bump(ARGV[5] .. ARGV[7], ARGV[6], ARGV[8], ARGV[9]) end
    if old ~= '' and old ~= ARGV[7] then redis.call('ZREM', ARGV[5] .. old, ARGV[6]) end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return {1, old}
",
    )
});

/// An owned write on a single node: the index entry and the record in one script.
///
/// `KEYS[1]` the record; `ARGV[1]` the record; `ARGV[2]` the TTL in ms; `ARGV[3]` the index key
/// prefix; `ARGV[4]` the member; `ARGV[5]` the owner index; `ARGV[6]` the expiry; `ARGV[7]` now.
pub(crate) static WRITE_OWNED: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local old = owner_of(KEYS[1])
bump(ARGV[3] .. ARGV[5], ARGV[4], ARGV[6], ARGV[7])
if old and old ~= ARGV[5] then redis.call('ZREM', ARGV[3] .. old, ARGV[4]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
",
    )
});

/// A touch (`ARGV[6] == 'touch'`) or a rolling read (`'read'`), owner-aware.
///
/// `KEYS[1]` the record; `ARGV[1]` the TTL in ms; `ARGV[2]` the index key prefix; `ARGV[3]` the
/// member; `ARGV[4]` the expiry; `ARGV[5]` now; `ARGV[7]` `'1'` on a single node, `'0'` on a
/// cluster.
///
/// Single node: extends the record and, when it names an owner, the owner's entry; answers
/// `{found (0/1), value or ''}`. Cluster: an unowned record is extended at once; an owned one is
/// *not* (its index lives in another slot and must be extended first): the answer is
/// `{-1, value or '', owner}` and the caller bumps the index, then extends with `PEXPIRE`.
pub(crate) static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local value = ''
if ARGV[6] == 'read' then
    value = redis.call('GET', KEYS[1])
    if not value then return {0, ''} end
end
local owner = owner_of(KEYS[1])
if owner and ARGV[7] ~= '1' then return {-1, value, owner} end
local found = redis.call('PEXPIRE', KEYS[1], ARGV[1])
if found == 1 and owner then bump(ARGV[2] .. owner, ARGV[3], ARGV[4], false) end
return {found, value}
",
    )
});

/// Bumps one owner's index entry (a cluster's first step). `KEYS[1]` the index; `ARGV[1]` the
/// member; `ARGV[2]` the expiry; `ARGV[3]` now.
pub(crate) static BUMP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
bump(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
",
    )
});

/// The part of a version's header prefix the scripts compare: `:<16 hex>:` for a current
/// version (formats 2 and 3 agree there), `ss1:` for the legacy version.
pub(crate) fn version_segment(version: session_core::Version) -> Vec<u8> {
    let prefix = session_core::version_prefix(version);
    if version.is_legacy() {
        prefix
    } else {
        prefix[3..].to_vec()
    }
}

/// The owner index in an encoded record's header (format 3), as the scripts read it.
pub(crate) fn owner_in(record: &[u8]) -> Option<&[u8]> {
    if record.starts_with(b"ss3:") {
        record.get(21..53)
    } else {
        None
    }
}
