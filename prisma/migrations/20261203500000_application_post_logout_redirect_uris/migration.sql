-- Where a client may send a person after RP-initiated logout (OpenID Connect RP-Initiated Logout
-- 1.0 §3, `post_logout_redirect_uris` client metadata). Empty, the default: the logout ends on
-- Gatehouse's own "you are signed out" page.
ALTER TABLE "applications" ADD COLUMN "post_logout_redirect_uris" TEXT[] DEFAULT ARRAY[]::TEXT[];
