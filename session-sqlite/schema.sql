-- Session table for session-sqlite (SQLite 3.35+; the crate compiles in a recent SQLite).
--
-- `SqliteStore::migrate()` runs exactly these statements (with the configured table name in
-- place of `sessions`).
--
-- id          the session key: at most 128 ASCII characters, compared byte for byte (SQLite's
--             default BINARY collation), so keys that differ only in case are different sessions.
-- data        the encoded record (session_core::encode).
-- expires_at  absolute expiry, epoch milliseconds on the application's clock; indexed for the
--             batched cleanup.
-- version     the record version (session_core::Version, an unsigned 64-bit value stored with
--             the same bits in a signed INTEGER), new on every write; compared by the conditional
--             write. 0 marks rows written before versions existed.
-- owner       the owner index (session_core::OwnerIndex, 32 hex digits) of a session with an
--             owner, NULL otherwise; a partial index finds a user's sessions. The index is the
--             rows themselves, so it cannot leak: an expired row leaves it with the cleanup.
CREATE TABLE IF NOT EXISTS "sessions" (
    id TEXT NOT NULL PRIMARY KEY,
    data BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS "sessions_exp_idx" ON "sessions" (expires_at);
CREATE INDEX IF NOT EXISTS "sessions_own_idx" ON "sessions" (owner) WHERE owner IS NOT NULL;
