-- Wasm components: bytes stored once per content hash, records per tenant.
CREATE TABLE component_blobs (
    sha256      TEXT PRIMARY KEY,
    bytes       BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE components (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES component_blobs(sha256),
    size_bytes  INTEGER NOT NULL,
    hooks       TEXT NOT NULL,  -- JSON array of "params" / "response"
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, sha256)
) STRICT;
