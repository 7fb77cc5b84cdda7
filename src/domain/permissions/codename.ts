import { z } from 'zod';

/**
 * Permission codenames read `<action>_<model>` (`add_application`, `change_mediasource`), as in
 * Django's auth framework: lower-case ASCII letters and digits, one underscore after the action,
 * the model may contain more. Nothing else, so a codename is safe in a JWT claim, a URL path
 * segment, an `AUTH_TOKENS` line (`&`-separated) and a log line.
 */
export const CODENAME_PATTERN = /^[a-z][a-z0-9]*_[a-z][a-z0-9_]*$/;

export const MAX_CODENAME_LENGTH = 100;

export const Codename = z
  .string()
  .max(MAX_CODENAME_LENGTH)
  .regex(CODENAME_PATTERN, 'must read <action>_<model>: lower-case letters and digits, e.g. add_application');
export type Codename = z.infer<typeof Codename>;

/** Whether `value` is a well-formed codename. */
export function isCodename(value: string): boolean {
  return value.length <= MAX_CODENAME_LENGTH && CODENAME_PATTERN.test(value);
}

/** The models Gatehouse's own admin API guards (singular, as codenames name them). */
export const BUILT_IN_MODELS = ['application', 'user', 'role', 'permission', 'token', 'organization', 'api'] as const;
export const BUILT_IN_ACTIONS = ['view', 'add', 'change', 'delete'] as const;

const MODEL_NAMES: Record<(typeof BUILT_IN_MODELS)[number], string> = {
  application: 'applications',
  user: 'users',
  role: 'roles',
  permission: 'permissions',
  token: 'API tokens',
  organization: 'organizations',
  api: 'APIs',
};

/** Gatehouse's own admin codenames with their display names, ensured at start-up. */
export const BUILT_IN_PERMISSIONS: ReadonlyArray<{ codename: string; name: string }> = Object.freeze([
  ...BUILT_IN_MODELS.flatMap((model) =>
    BUILT_IN_ACTIONS.map((action) => ({ codename: `${action}_${model}`, name: `Can ${action} ${MODEL_NAMES[model]}` })),
  ),
  { codename: 'view_activity', name: 'Can view activity (audit events)' },
  // AuthZEN evaluations (http/routes/authzen.ts): a PEP may ask about subjects other than itself.
  { codename: 'view_access', name: "Can view other users' and applications' access decisions" },
]);

export const BUILT_IN_CODENAMES: ReadonlySet<string> = new Set(BUILT_IN_PERMISSIONS.map((p) => p.codename));

/** A display name for a codename created without one (`add_mediasource` → `Can add mediasource`). */
export function defaultPermissionName(codename: string): string {
  const [action, ...model] = codename.split('_');
  return `Can ${action} ${model.join(' ')}`;
}
