import { z } from 'zod';

const boolean = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** An absolute https URL, or a path on this server (`/x`, never the scheme-relative `//host/x`). */
function isLogoUrl(value: string): boolean {
  if (/[\s\p{Cc}]/u.test(value)) return false;
  if (value.startsWith('/')) return !value.startsWith('//') && !value.startsWith('/\\');
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const port = z.coerce.number().int().min(0).max(65535);

/** As users.username (domain/users/user.schema.ts), repeated here: config imports nothing but lib. */
const Username = z
  .string()
  .min(1)
  .max(150)
  .regex(/^[A-Za-z0-9@.+_-]+$/, 'letters, digits and @ . + - _ only');

/**
 * Every environment variable Gatehouse reads. `docs/configuration.md` and the README's table are
 * generated from the `.describe()` texts (`npm run docs:config`), and CI checks they are current.
 */
export const EnvSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('`production` refuses development-only defaults (generated master key on PostgreSQL, http issuer on a non-loopback host).'),
  PORT: port.default(3000).describe('TCP port the HTTP server listens on.'),
  HOST: z.string().min(1).optional().describe('Interface to bind. Unset: all interfaces (IPv6 and IPv4).'),
  ISSUER: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'Issuer identifier: the public base URL clients use. Default `http://localhost:$PORT`. No trailing slash, query or fragment.',
    ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe('Directory of the embedded database (PGlite), its lock, control socket and the generated master key file.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .describe('PostgreSQL connection URL. Unset: the embedded database in DATA_DIR.'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10).describe('PostgreSQL connections per process.'),
  MASTER_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43,}={0,2}$/, 'must be at least 32 random bytes, base64url (e.g. `openssl rand -base64 32 | tr +/ -_`)')
    .optional()
    .describe(
      'Secret (≥ 32 bytes, base64url) from which the keys that encrypt signing keys at rest and digest client secrets are derived. Every instance sharing a database must use the same value. Unset: read from MASTER_KEY_FILE, generated there on first start.',
    ),
  MASTER_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('File holding the master key when MASTER_KEY is unset. Default `$DATA_DIR/master.key` (created with mode 0600).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(86400 * 30)
    .default(3600)
    .describe('Default access-token lifetime for APIs that do not set their own.'),
  KEY_ACTIVATION_DELAY_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86400 * 7)
    .default(600)
    .describe(
      'How long `gatehouse keys rotate` publishes a new signing key before it signs, so APIs that cache the JWKS (ours says max-age=300) hold it before the first token it signed arrives. `keys rotate --now` skips the wait.',
    ),
  DEFAULT_SIGNING_ALG: z
    .enum(['ES256', 'RS256'])
    .default('ES256')
    .describe('JWS algorithm of access tokens for APIs that do not set their own.'),
  TRUST_PROXY: boolean
    .default(false)
    .describe(
      'Trust `X-Forwarded-Proto`/`X-Forwarded-For` from a TLS-terminating proxy in front of Gatehouse. The client IP (for the client-authentication throttle and logs) is then the last `X-Forwarded-For` entry, the one that proxy added.',
    ),
  SHUTDOWN_GRACE_SECONDS: z.coerce
    .number()
    .min(0)
    .max(300)
    .default(10)
    .describe('On SIGTERM/SIGINT, how long in-flight requests may take before connections are closed.'),
  REQUEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(64 * 1024)
    .describe("Largest request body accepted by Gatehouse's own endpoints (introspection, revocation, admin API)."),
  TOKEN_FAST_PATH: boolean
    .default(true)
    .describe(
      "Issue plain client-credentials tokens for JWT APIs without oidc-provider's general request pipeline (the same tokens, about twice the throughput). `false` sends every token request through oidc-provider.",
    ),
  CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(20)
    .describe(
      'Failed client authentications (wrong secret, unknown client) allowed per presented client id per minute at the token, introspection and revocation endpoints; the next failure starts a block (429 with `Retry-After`). A correct secret is never blocked. Counted across all instances. `0` turns this limit off.',
    ),
  CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(100)
    .describe(
      'Failed client authentications allowed per client IP (an IPv6 /64; see TRUST_PROXY) per minute, as for the per-client limit. `0` turns this limit off.',
    ),
  CLIENT_AUTH_BLOCK_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(60)
    .describe(
      'How long a client id or IP over its failure limit gets 429 for failed authentications. Each further block within a day doubles it, up to CLIENT_AUTH_MAX_BLOCK_SECONDS.',
    ),
  CLIENT_AUTH_MAX_BLOCK_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(3600)
    .describe('Longest block of a client id or IP for failed client authentications (the doubling stops here).'),
  PASSWORD_MAX_FAILURES_PER_ACCOUNT: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(10)
    .describe(
      'Failed password sign-ins (the sign-in page and HTTP Basic on the admin API) allowed per presented username per PASSWORD_FAILURE_WINDOW_SECONDS, counted alike for unknown and existing accounts; past half of it failures are answered more slowly, the next one past it starts a block (429 with `Retry-After`) during which even the right password is refused, except from an address the account signed in from successfully in the last 20 days. Counted across all instances. `0` turns this limit off.',
    ),
  PASSWORD_MAX_FAILURES_PER_IP: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(100)
    .describe(
      'Failed password sign-ins allowed per client IP (an IPv6 /64; see TRUST_PROXY) per PASSWORD_FAILURE_WINDOW_SECONDS, whatever the usernames; past it every password sign-in from that address is refused until the block ends. `0` turns this limit off.',
    ),
  PASSWORD_FAILURE_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(86400)
    .default(900)
    .describe('The window in which failed password sign-ins are counted (fixed windows).'),
  PASSWORD_BLOCK_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(60)
    .describe(
      'How long an account or IP over its password failure limit is refused. Each further block within a day doubles it, up to PASSWORD_MAX_BLOCK_SECONDS.',
    ),
  PASSWORD_MAX_BLOCK_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(900)
    .describe('Longest block of an account or IP for failed password sign-ins (the doubling stops here).'),
  INTERACTION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(3600)
    .describe(
      'How long a person has to finish signing in (the login and consent pages of one authorization request); after it the pages say the sign-in expired and offer to start again.',
    ),
  AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(120)
    .describe(
      'Authorization requests (`/oauth/authorize`, and devices\' `POST /oauth/device/code`) answered per client IP (an IPv6 /64; see TRUST_PROXY) per minute, counted by each instance in memory; past it the browser gets a "too many requests" page (429) with Retry-After, a device a 429 `slow_down`. A valid authorization request stores the state of its sign-in (a device request its device code), the one write an anonymous caller can cause: this bounds it. `0` turns the limit off.',
    ),
  SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(86400 * 400)
    .default(14 * 86400)
    .describe(
      'How long a browser stays signed in to Gatehouse after the password was checked (the session cookie and its record). Refresh tokens issued without `offline_access` end with the session.',
    ),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(86400 * 400)
    .default(14 * 86400)
    .describe(
      'Lifetime of a refresh token, and the longest a grant (a consent given to an application) lasts. Each use returns a new refresh token (rotation) that expires no later than its grant.',
    ),
  DEVICE_CODE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86400)
    .default(600)
    .describe(
      'Device authorization grant (RFC 8628): how long a device code and its user code stay usable (`expires_in`). After it the device hears `expired_token` and a person typing the code is told it expired.',
    ),
  DEVICE_POLL_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(60)
    .default(5)
    .describe(
      'Device authorization grant: the `interval` a device must wait between polls of the token endpoint; a device polling sooner while the request is pending is told `slow_down` (RFC 8628 §3.5). Counted across all instances.',
    ),
  DEVICE_USER_CODE_MAX_FAILURES_PER_IP: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(20)
    .describe(
      'Wrong, expired or used user codes a client IP (an IPv6 /64; see TRUST_PROXY) may type on the device page per PASSWORD_FAILURE_WINDOW_SECONDS (RFC 8628 §5.1); past it the address is refused (a page saying so, 429) for PASSWORD_BLOCK_SECONDS, doubling with each further block within a day up to PASSWORD_MAX_BLOCK_SECONDS. Counted across all instances. `0` turns this limit off.',
    ),
  ADMIN_USERNAME: Username.optional().describe(
    'With ADMIN_PASSWORD: a superuser created at start if no user has this username (idempotent; an existing user, and a password changed since, are left alone).',
  ),
  ADMIN_PASSWORD: z
    .string()
    .min(8)
    .max(1024)
    .optional()
    .describe('The first password of ADMIN_USERNAME (at least 8 characters). Used only when the user is created; never logged.'),
  PRODUCT_NAME: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .default('Gatehouse')
    .describe('Name shown on the sign-in, consent, device and logout pages (page titles and header).'),
  LOGO_URL: z
    .string()
    .refine(isLogoUrl, 'must be an absolute https:// URL or a path starting with a single /')
    .optional()
    .describe(
      "Logo shown beside PRODUCT_NAME on the pages: an absolute `https://` URL or a path on this server (`/…`). Unset: the name alone. The pages' Content-Security-Policy allows images from `https:` and this server only.",
    ),
  ACCENT_COLOR: z
    .string()
    .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a hex colour such as #1f5fae or #15a')
    .default('#1f5fae')
    .describe(
      "Accent colour of the pages' buttons, links and focus rings (`#rgb` or `#rrggbb`). Any colour is accepted: button text is black or white, whichever contrasts more (at least 4.5:1), and links and focus rings use the accent darkened until it contrasts at least 4.5:1 with the white page.",
    ),
  PASSWORD_HASH_MEMORY_KIB: z.coerce
    .number()
    .int()
    .min(8)
    .max(4 * 1024 * 1024)
    .default(19456)
    .describe(
      'argon2id memory cost of password hashes, in KiB (at least 8 × PASSWORD_HASH_PARALLELISM). The default (19 MiB, 2 iterations, 1 lane) is the OWASP Password Storage Cheat Sheet baseline. Hashes made with other parameters are upgraded at the next successful sign-in.',
    ),
  PASSWORD_HASH_ITERATIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe('argon2id time cost (passes over memory) of password hashes.'),
  PASSWORD_HASH_PARALLELISM: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe(
      "argon2id lanes of password hashes. Each lane takes a thread of Node's libuv pool (4 threads by default) for the duration of a hash, so 1 keeps sign-ins from starving other work.",
    ),
  API_TOKEN_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86400 * 3660)
    .default(0)
    .describe(
      'Longest lifetime of an API token created through the admin API or CLI: a token asked for without an expiry gets this one, a longer one is refused. `0`: no maximum (tokens live until revoked unless their creator sets an expiry). Tokens declared by AUTH_TOKENS never expire.',
    ),
  DEFAULT_APPLICATION_FOR_NEW_USERS: boolean
    .default(true)
    .describe(
      'Give every user created through the admin API or CLI an application of their own: a confidential client-credentials client named `default (<username>)`, without a secret until its owner rotates one. Users declared by AUTH_TOKENS get none. `false`: new users start with no application.',
    ),
  AUTH_TOKENS: z
    .string()
    .optional()
    .describe(
      'API tokens declared at start-up, one `username:secret:perm1&perm2` entry per line (newlines or spaces separate entries). Each entry creates the user (without a password) and the permission codenames if missing, and a token holding exactly those permissions; an entry removed here removes its token at the next start. Secrets shorter than 32 characters are accepted with a warning. Errors name the entry number, never the secret.',
    ),
  WORKERS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe('HTTP worker processes (PostgreSQL only). 1 serves from the main process.'),
});

export type Env = z.infer<typeof EnvSchema>;
