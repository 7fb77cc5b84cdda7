-- `gatehouse keys revoke`: a revoked key leaves the JWKS at once and verifies nothing more. Its
-- state becomes 'retired' (neither signs nor published); revoked_at records why and when.
ALTER TABLE "signing_keys" ADD COLUMN "revoked_at" TIMESTAMPTZ(3);
