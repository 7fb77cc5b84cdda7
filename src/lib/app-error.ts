/**
 * The one error type of the admin API, the CLI and the pages. Codes are dotted and belong to a
 * module (`application.not_found`); each module declares its codes in `<module>.errors.ts`.
 * The message is public; `cause` and anything else internal stays in logs.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** whether the message may be shown to the caller (true below 500) */
  readonly expose: boolean;

  constructor(code: string, message: string, options: { status: number; details?: Record<string, unknown>; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status;
    this.details = options.details;
    this.expose = options.status < 500;
  }
}

type ErrorSpec = { status: number; message: string };

/**
 * Declares a module's error codes once, and returns a factory: `errors('not_found', { id })`.
 * @example const applicationError = defineErrors('application', { not_found: { status: 404, message: '…' } });
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(module: string, specs: T) {
  return (code: keyof T & string, details?: Record<string, unknown>, message?: string): AppError => {
    const spec = specs[code] as ErrorSpec;
    return new AppError(`${module}.${code}`, message ?? spec.message, { status: spec.status, details });
  };
}
