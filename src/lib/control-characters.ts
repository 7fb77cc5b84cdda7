/**
 * C0 control characters and DEL. No identifier, secret or token Gatehouse issues contains one,
 * and PostgreSQL refuses U+0000 in text outright (a query carrying it fails), so a value with one
 * is rejected before it reaches any query.
 */
const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}
