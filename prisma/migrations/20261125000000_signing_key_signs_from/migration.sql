-- A rotated-in key is published before it signs (signs_from), so that APIs caching the JWKS
-- already hold it when the first token signed with it arrives. NULL: signs from creation.
ALTER TABLE "signing_keys" ADD COLUMN "signs_from" TIMESTAMPTZ(3);
