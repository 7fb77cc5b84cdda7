-- When a user was last deactivated: what their sign-ins made before it (browser sessions, refresh
-- and access tokens) stays dead if they are activated again. Null: never deactivated.
ALTER TABLE "users" ADD COLUMN "deactivated_at" TIMESTAMPTZ(3);
