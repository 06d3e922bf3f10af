-- Tenants, keys, tools and the call log.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL CHECK (plan IN ('free', 'plus', 'pro')),
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    scope       TEXT NOT NULL CHECK (scope IN ('manage', 'invoke')),
    hash        TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE tools (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    function_id  TEXT NOT NULL,
    spec         TEXT NOT NULL,  -- the ToolSpec as JSON
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (tenant_id, function_id)
) STRICT;

CREATE TABLE calls (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    call_id          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    agent            TEXT NOT NULL,
    tool_id          TEXT NOT NULL,
    function_id      TEXT NOT NULL,
    conversation_id  TEXT,
    test             INTEGER NOT NULL,
    ok               INTEGER NOT NULL,
    status           INTEGER,
    error_kind       TEXT,
    detail           TEXT NOT NULL
) STRICT;
CREATE INDEX calls_tenant_seq ON calls(tenant_id, seq DESC);
CREATE INDEX calls_tenant_tool_seq ON calls(tenant_id, tool_id, seq DESC);
