-- The deviceflow store on PostgreSQL: the tables of the SQLite store, with integer millisecond
-- times, SHA-256/HMAC hashes as 32-byte bytea under unique indexes, and the enumerations checked.
-- Applied once per database (or schema) by refinery; never edit an applied migration, add V2.

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  device_code_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(device_code_hash) = 32),
  user_code_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(user_code_hash) = 32),
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  interval_ms BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  subject TEXT,
  last_poll_ms BIGINT,
  slow_downs INTEGER NOT NULL DEFAULT 0 CHECK (slow_downs >= 0),
  source TEXT NOT NULL,
  redeemed_at_ms BIGINT,
  sealed_response BYTEA
);
CREATE INDEX devices_expiry ON devices (expires_at_ms);
-- "Your devices": the grants one person approved (pending codes have no subject: not indexed).
CREATE INDEX devices_subject ON devices (subject) WHERE subject IS NOT NULL;

CREATE TABLE tokens (
  hash BYTEA PRIMARY KEY CHECK (octet_length(hash) = 32),
  kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
  grant_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  subject TEXT NOT NULL,
  issued_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  grant_expires_at_ms BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'rotated', 'revoked'))
);
CREATE INDEX tokens_grant ON tokens (grant_id);
CREATE INDEX tokens_expiry ON tokens (expires_at_ms);

-- Rate-limit counters (issuance, code entry): shared by every instance on the database.
CREATE TABLE counters (
  key TEXT PRIMARY KEY,
  window_start_ms BIGINT NOT NULL,
  count BIGINT NOT NULL CHECK (count >= 0)
);
CREATE INDEX counters_window ON counters (window_start_ms);

-- Keys every instance must share (user-code HMAC, session cookie): the first insert wins.
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL CHECK (octet_length(value) = 32)
);

-- JWT signing keys (RFC 9068 access tokens): one row per generation, the first insert wins.
CREATE TABLE signing_keys (
  generation BIGINT PRIMARY KEY,
  kid TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL,
  private_key BYTEA NOT NULL
);
