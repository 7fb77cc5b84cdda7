-- Failed client authentication, counted per client id and per IP for every instance on this
-- database (src/http/client-auth-throttle.ts). The layout is the one rate-limiter-flexible's
-- RateLimiterPostgres reads and writes (key, points, expire in ms since the epoch); it is created
-- here so the server never runs DDL at run time.
-- UNLOGGED: these short-lived counters are not worth WAL on every failed request. A crash empties
-- the table and standbys do not have it, which only forgives recent failures.
CREATE UNLOGGED TABLE "client_auth_throttle" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "client_auth_throttle_pkey" PRIMARY KEY ("key")
);
