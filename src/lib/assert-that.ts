/** Throws `error` unless `condition` holds; narrows the condition's type for the caller. */
export function assertThat(condition: unknown, error: Error | (() => Error)): asserts condition {
  if (!condition) throw typeof error === 'function' ? error() : error;
}
