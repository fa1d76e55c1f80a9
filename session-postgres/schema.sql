-- Session table for session-postgres (PostgreSQL 12+).
--
-- `PgStore::migrate()` runs exactly these statements (with the configured table name in place
-- of `sessions`, and `CREATE UNLOGGED TABLE` when the store is configured unlogged). Run them
-- yourself when the application's database role has no DDL rights, then grant that role
-- SELECT, INSERT, UPDATE, DELETE on the table.
--
-- id          the session key: at most 128 ASCII characters; "C" collation compares bytes, so
--             keys that differ only in case are different sessions.
-- data        the encoded record (session_core::encode).
-- expires_at  absolute expiry, epoch milliseconds on the application's clock; indexed for the
--             batched cleanup.
-- version     the record version (session_core::Version, an unsigned 64-bit value stored with
--             the same bits in a signed BIGINT), new on every write; compared by the conditional
--             write. 0 marks rows written before versions existed.
-- owner       the owner index (session_core::OwnerIndex, 32 hex digits) of a session with an
--             owner, NULL otherwise; a partial index finds a user's sessions, and sessions
--             without an owner are not in it. The index is the rows themselves, so it cannot
--             leak: an expired row leaves it with the cleanup.
--
-- For an UNLOGGED table (faster writes, no WAL, but truncated after a crash and not replicated):
-- CREATE UNLOGGED TABLE … instead, or later ALTER TABLE "sessions" SET UNLOGGED / SET LOGGED.
CREATE TABLE IF NOT EXISTS "sessions" (
    id VARCHAR(128) COLLATE "C" PRIMARY KEY,
    data BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    owner VARCHAR(32) COLLATE "C"
);
CREATE INDEX IF NOT EXISTS "sessions_exp_idx" ON "sessions" (expires_at);
CREATE INDEX IF NOT EXISTS "sessions_own_idx" ON "sessions" (owner) WHERE owner IS NOT NULL;
