-- The browser origins (scheme://host[:port]) allowed to call the token endpoint for an application
-- (CORS, https://fetch.spec.whatwg.org/#http-cors-protocol). Empty, the default: no cross-origin
-- caller may read a token response for it.
ALTER TABLE "applications" ADD COLUMN "allowed_origins" TEXT[] DEFAULT ARRAY[]::TEXT[];
