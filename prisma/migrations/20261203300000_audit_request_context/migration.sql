-- Audit events name the request that caused them (issue 10): the caller's address and the
-- request id that also appears in the access log, so an event can be traced to its log lines.
ALTER TABLE "audit_events" ADD COLUMN "ip" TEXT;
ALTER TABLE "audit_events" ADD COLUMN "request_id" TEXT;
CREATE INDEX "audit_events_actor_idx" ON "audit_events"("actor");
CREATE INDEX "audit_events_action_idx" ON "audit_events"("action");
