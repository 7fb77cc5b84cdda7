-- RFC 7662 §4: which clients may introspect tokens issued for an API besides the token's own client.
ALTER TABLE "application_api_grants" ADD COLUMN "can_introspect" BOOLEAN NOT NULL DEFAULT false;
