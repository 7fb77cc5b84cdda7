/**
 * C0 control characters and DEL. No identifier, secret or token Gatehouse issues contains one,
 * and PostgreSQL refuses U+0000 in text outright (a query carrying it fails), so a value with one
 * is rejected before it reaches any query.
 */
export function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
