-- Session table for session-mysql (MySQL 8.0+ and MariaDB 10.11+).
--
-- `MySqlStore::migrate()` runs exactly this statement (with the configured table name in place
-- of `sessions`). Run it yourself when the application's database user has no DDL rights, then
-- grant that user SELECT, INSERT, UPDATE, DELETE on the table.
--
-- id          the session key: ASCII, at most 128 characters, binary collation so keys that
--             differ only in case are different sessions.
-- data        the encoded record (session_core::encode); MEDIUMBLOB holds up to 16 MiB - 1,
--             where BLOB would cap at 64 KiB.
-- expires_at  absolute expiry, epoch milliseconds on the application's clock; indexed for the
--             batched cleanup.
-- version     the record version (session_core::Version), new on every write; compared by the
--             conditional write. 0 marks rows written before versions existed.
-- owner       the owner index (session_core::OwnerIndex, 32 hex digits) of a session with an
--             owner, NULL otherwise; indexed alone (a touch moves only expires_at, never this
--             index) for listing and ending a user's sessions. The index is the rows
--             themselves, so it cannot leak: an expired row leaves it with the cleanup.
CREATE TABLE IF NOT EXISTS `sessions` (
    id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    data MEDIUMBLOB NOT NULL,
    expires_at BIGINT NOT NULL,
    version BIGINT UNSIGNED NOT NULL DEFAULT 0,
    owner CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    PRIMARY KEY (id),
    KEY expires_at_idx (expires_at),
    KEY owner_idx (owner)
) ENGINE = InnoDB;
