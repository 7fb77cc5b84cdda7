-- Revoked authorization grants (src/domain/token-revocations). JWT access tokens are not stored,
-- so revoking a grant (refresh-token or authorization-code reuse, a revoked refresh token, logout)
-- cannot delete them: every JWT issued under a grant carries its id, and a grant listed here ends
-- them at introspection until the longest access-token lifetime after the revocation has passed.
CREATE TABLE "revoked_grants" (
    "grant_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "revoked_grants_pkey" PRIMARY KEY ("grant_id")
);

CREATE INDEX "revoked_grants_expires_at_idx" ON "revoked_grants"("expires_at");
