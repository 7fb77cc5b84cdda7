import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { type Env, EnvSchema } from './schema.ts';

export type DatabaseConfig = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string; poolSize: number };

/** Typed, frozen configuration. The only thing in Gatehouse built from `process.env`. */
export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string | undefined;
  issuer: string;
  dataDir: string;
  database: DatabaseConfig;
  masterKey: { kind: 'value'; value: Buffer } | { kind: 'file'; path: string; isDefault: boolean };
  logLevel: string;
  accessTokenTtlSeconds: number;
  keyActivationDelaySeconds: number;
  defaultSigningAlg: 'ES256' | 'RS256';
  trustProxy: boolean;
  shutdownGraceSeconds: number;
  requestBodyLimitBytes: number;
  tokenFastPath: boolean;
  workers: number;
  clientAuthThrottle: ClientAuthThrottleConfig;
  /** limits on failed password sign-ins (http/password-throttle.ts) */
  passwordThrottle: PasswordThrottleConfig;
  branding: BrandingConfig;
  /** argon2id parameters of password hashes (lib/passwords.ts) */
  passwordHash: PasswordHashConfig;
  /** longest lifetime of an API token created through the API or CLI; 0: no maximum */
  apiTokenMaxLifetimeSeconds: number;
  /** the raw AUTH_TOKENS declaration (it holds secrets: never log it), parsed at start-up */
  authTokens: string | undefined;
  /** whether users created through the admin API get a default application */
  defaultApplicationForNewUsers: boolean;
  /** lifetimes of the sign-in state (oidc/provider.ts `ttl`) */
  signIn: SignInConfig;
  /** the device authorization grant (oidc/device-flow.ts, http/routes/device.tsx) */
  deviceFlow: DeviceFlowConfig;
  /** ADMIN_USERNAME / ADMIN_PASSWORD: the superuser the server makes at start when missing (the password is a secret) */
  bootstrapAdmin: { username: string; password: string } | null;
}

/** Lifetimes of what signing in leaves behind, in seconds. */
export interface SignInConfig {
  interactionTtlSeconds: number;
  /** authorization requests per client address per minute and instance; 0: no limit */
  authorizationRequestsPerIpPerMinute: number;
  sessionTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

/** The device authorization grant (RFC 8628). */
export interface DeviceFlowConfig {
  /** lifetime of a device code and its user code */
  codeTtlSeconds: number;
  /** the polling `interval`; polling sooner while pending is `slow_down` */
  pollIntervalSeconds: number;
  /** wrong user codes per client IP per password failure window (0: off) */
  maxUserCodeFailuresPerIp: number;
}

/** argon2id cost parameters. */
export interface PasswordHashConfig {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** How the pages (http/pages/) present Gatehouse: name, logo, accent colour. */
export interface BrandingConfig {
  productName: string;
  /** an absolute https URL or a path on this server; null: the name alone */
  logoUrl: string | null;
  /** `#rgb` or `#rrggbb` */
  accentColor: string;
}

/** Limits on failed client authentication (http/client-auth-throttle.ts); a limit of 0 is off. */
export interface ClientAuthThrottleConfig {
  maxFailuresPerClientPerMinute: number;
  maxFailuresPerIpPerMinute: number;
  blockSeconds: number;
  maxBlockSeconds: number;
}

/** Limits on failed password sign-ins (http/password-throttle.ts); a limit of 0 is off. */
export interface PasswordThrottleConfig {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
  blockSeconds: number;
  maxBlockSeconds: number;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
}

/**
 * Checks that relate variables to each other. Given a partial environment (the variables that
 * parsed, when others did not), it checks what it can, so one run names every mistake.
 */
function crossIssues(env: Partial<Env>, hasDatabaseUrl: boolean): string[] {
  const issues: string[] = [];
  const issuer = env.ISSUER ?? (env.PORT === undefined ? undefined : `http://localhost:${env.PORT}`);
  if (issuer !== undefined) {
    const issuerUrl = new URL(issuer.replace(/\/$/, ''));
    if (issuerUrl.search || issuerUrl.hash) issues.push('ISSUER: must not have a query or fragment');
    if (
      env.NODE_ENV === 'production' &&
      issuerUrl.protocol === 'http:' &&
      !['localhost', '127.0.0.1', '[::1]'].includes(issuerUrl.hostname)
    ) {
      issues.push('ISSUER: must be https in production (a TLS-terminating proxy may sit in front, see TRUST_PROXY)');
    }
  }
  if (
    env.CLIENT_AUTH_BLOCK_SECONDS !== undefined &&
    env.CLIENT_AUTH_MAX_BLOCK_SECONDS !== undefined &&
    env.CLIENT_AUTH_MAX_BLOCK_SECONDS < env.CLIENT_AUTH_BLOCK_SECONDS
  ) {
    issues.push('CLIENT_AUTH_MAX_BLOCK_SECONDS: must not be less than CLIENT_AUTH_BLOCK_SECONDS');
  }
  if (
    env.PASSWORD_BLOCK_SECONDS !== undefined &&
    env.PASSWORD_MAX_BLOCK_SECONDS !== undefined &&
    env.PASSWORD_MAX_BLOCK_SECONDS < env.PASSWORD_BLOCK_SECONDS
  ) {
    issues.push('PASSWORD_MAX_BLOCK_SECONDS: must not be less than PASSWORD_BLOCK_SECONDS');
  }
  if (
    env.PASSWORD_HASH_MEMORY_KIB !== undefined &&
    env.PASSWORD_HASH_PARALLELISM !== undefined &&
    env.PASSWORD_HASH_MEMORY_KIB < 8 * env.PASSWORD_HASH_PARALLELISM
  ) {
    issues.push('PASSWORD_HASH_MEMORY_KIB: argon2 needs at least 8 KiB per lane (8 × PASSWORD_HASH_PARALLELISM)');
  }
  if (env.WORKERS !== undefined && env.WORKERS > 1 && !hasDatabaseUrl) {
    issues.push('WORKERS: more than one worker needs PostgreSQL (DATABASE_URL); the embedded database is single-process');
  }
  if ((env.ADMIN_USERNAME === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    issues.push('ADMIN_USERNAME and ADMIN_PASSWORD: give both or neither');
  }
  return issues;
}

/** Parses the environment. Throws ConfigError naming every variable that is wrong. */
export function loadConfig(environment: Record<string, string | undefined>): Config {
  // An empty variable means "unset", as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(environment).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const wrong = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    const valid = Object.fromEntries(
      Object.entries(EnvSchema.shape).flatMap(([name, schema]) => {
        if (wrong.has(name)) return [];
        const field = schema.safeParse(present[name]);
        return field.success ? [[name, field.data]] : [];
      }),
    ) as Partial<Env>;
    throw new ConfigError([...describeIssues(parsed.error), ...crossIssues(valid, present.DATABASE_URL !== undefined)]);
  }
  const env = parsed.data;
  const issues = crossIssues(env, env.DATABASE_URL !== undefined);
  const issuer = (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');

  const dataDir = resolve(env.DATA_DIR);
  const database: DatabaseConfig = env.DATABASE_URL
    ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }
    : { kind: 'pglite', dataDir };

  let masterKey: Config['masterKey'];
  if (env.MASTER_KEY) {
    const value = Buffer.from(env.MASTER_KEY, 'base64url');
    if (value.length < 32) issues.push('MASTER_KEY: must decode to at least 32 bytes');
    masterKey = { kind: 'value', value };
  } else if (env.MASTER_KEY_FILE) {
    masterKey = {
      kind: 'file',
      path: isAbsolute(env.MASTER_KEY_FILE) ? env.MASTER_KEY_FILE : resolve(env.MASTER_KEY_FILE),
      isDefault: false,
    };
  } else {
    masterKey = { kind: 'file', path: resolve(dataDir, 'master.key'), isDefault: true };
  }

  if (issues.length) throw new ConfigError(issues);

  return Object.freeze({
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    issuer,
    dataDir,
    database: Object.freeze(database),
    masterKey: Object.freeze(masterKey),
    logLevel: env.LOG_LEVEL,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    keyActivationDelaySeconds: env.KEY_ACTIVATION_DELAY_SECONDS,
    defaultSigningAlg: env.DEFAULT_SIGNING_ALG,
    trustProxy: env.TRUST_PROXY,
    shutdownGraceSeconds: env.SHUTDOWN_GRACE_SECONDS,
    requestBodyLimitBytes: env.REQUEST_BODY_LIMIT_BYTES,
    tokenFastPath: env.TOKEN_FAST_PATH,
    workers: env.WORKERS,
    clientAuthThrottle: Object.freeze({
      maxFailuresPerClientPerMinute: env.CLIENT_AUTH_MAX_FAILURES_PER_CLIENT_PER_MINUTE,
      maxFailuresPerIpPerMinute: env.CLIENT_AUTH_MAX_FAILURES_PER_IP_PER_MINUTE,
      blockSeconds: env.CLIENT_AUTH_BLOCK_SECONDS,
      maxBlockSeconds: env.CLIENT_AUTH_MAX_BLOCK_SECONDS,
    }),
    passwordThrottle: Object.freeze({
      maxFailuresPerAccount: env.PASSWORD_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: env.PASSWORD_MAX_FAILURES_PER_IP,
      windowSeconds: env.PASSWORD_FAILURE_WINDOW_SECONDS,
      blockSeconds: env.PASSWORD_BLOCK_SECONDS,
      maxBlockSeconds: env.PASSWORD_MAX_BLOCK_SECONDS,
    }),
    branding: Object.freeze({
      productName: env.PRODUCT_NAME,
      logoUrl: env.LOGO_URL ?? null,
      accentColor: env.ACCENT_COLOR.toLowerCase(),
    }),
    passwordHash: Object.freeze({
      memoryKiB: env.PASSWORD_HASH_MEMORY_KIB,
      iterations: env.PASSWORD_HASH_ITERATIONS,
      parallelism: env.PASSWORD_HASH_PARALLELISM,
    }),
    apiTokenMaxLifetimeSeconds: env.API_TOKEN_MAX_LIFETIME_SECONDS,
    authTokens: env.AUTH_TOKENS,
    defaultApplicationForNewUsers: env.DEFAULT_APPLICATION_FOR_NEW_USERS,
    signIn: Object.freeze({
      interactionTtlSeconds: env.INTERACTION_TTL_SECONDS,
      authorizationRequestsPerIpPerMinute: env.AUTHORIZATION_REQUESTS_PER_IP_PER_MINUTE,
      sessionTtlSeconds: env.SESSION_TTL_SECONDS,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    }),
    deviceFlow: Object.freeze({
      codeTtlSeconds: env.DEVICE_CODE_TTL_SECONDS,
      pollIntervalSeconds: env.DEVICE_POLL_INTERVAL_SECONDS,
      maxUserCodeFailuresPerIp: env.DEVICE_USER_CODE_MAX_FAILURES_PER_IP,
    }),
    bootstrapAdmin:
      env.ADMIN_USERNAME && env.ADMIN_PASSWORD ? Object.freeze({ username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD }) : null,
  });
}
