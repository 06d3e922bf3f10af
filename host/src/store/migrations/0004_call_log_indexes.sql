-- The call list's one query filters tool, conversation and outcome with `?n IS NULL OR ...`,
-- so SQLite always walks `calls_tenant_seq` (the tenant's calls, newest first) and never
-- used these two; each still cost a B-tree insert per call on the hot path's writer.
-- Retention keeps a tenant's log bounded, which bounds that walk.
DROP INDEX calls_tenant_tool_seq;
DROP INDEX calls_tenant_conversation_seq;
