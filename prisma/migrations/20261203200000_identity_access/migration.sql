-- Issue 10: roles, permission codenames per API, permissions of applications, opaque API tokens.

-- A permission may belong to an API (resource server): its codename then goes into that API's
-- access tokens. Gatehouse's own admin codenames are marked built-in (never deleted).
ALTER TABLE "permissions" ADD COLUMN     "api_resource_id" TEXT,
ADD COLUMN     "is_built_in" BOOLEAN NOT NULL DEFAULT false;

-- Permissions granted to an application itself (its client-credentials tokens carry them).
CREATE TABLE "application_permissions" (
    "application_id" TEXT NOT NULL,
    "permission_id" TEXT NOT NULL,

    CONSTRAINT "application_permissions_pkey" PRIMARY KEY ("application_id","permission_id")
);

CREATE INDEX "application_permissions_permission_id_idx" ON "application_permissions"("permission_id");

CREATE INDEX "permissions_api_resource_id_idx" ON "permissions"("api_resource_id");

ALTER TABLE "permissions" ADD CONSTRAINT "permissions_api_resource_id_fkey" FOREIGN KEY ("api_resource_id") REFERENCES "api_resources"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "application_permissions" ADD CONSTRAINT "application_permissions_application_id_fkey" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "application_permissions" ADD CONSTRAINT "application_permissions_permission_id_fkey" FOREIGN KEY ("permission_id") REFERENCES "permissions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- API tokens: explicit codenames (empty: not narrowed), the last client IP, a scope always set.
-- No API token was ever written before this version; the UPDATE only guards hand-made rows.
UPDATE "api_tokens" SET "scope" = 'write' WHERE "scope" IS NULL;

ALTER TABLE "api_tokens" ADD COLUMN     "last_used_ip" TEXT,
ADD COLUMN     "permissions" TEXT[] DEFAULT ARRAY[]::TEXT[],
ALTER COLUMN "scope" SET NOT NULL,
ALTER COLUMN "scope" SET DEFAULT 'write';

-- A token bound to an application ends with it (DESIGN.md §5), instead of outliving it unbound.
ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_application_id_fkey";

ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_application_id_fkey" FOREIGN KEY ("application_id") REFERENCES "applications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE INDEX "api_tokens_application_id_idx" ON "api_tokens"("application_id");
