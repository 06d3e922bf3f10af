-- The call log's retention by age needs a sortable time; filters need their indexes.
ALTER TABLE calls ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;
UPDATE calls SET created_ms = COALESCE(CAST(unixepoch(created_at, 'subsec') * 1000 AS INTEGER), 0);
CREATE INDEX calls_created_ms ON calls(created_ms);
CREATE INDEX calls_tenant_conversation_seq ON calls(tenant_id, conversation_id, seq DESC);
