import { z } from 'zod';

/** Conventions shared by the admin API's wire schemas (snake_case fields, ISO 8601 times). */

/** An object's `id` in a path: printable ASCII, no slash, bounded (never reaches a query otherwise). */
export const Id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x2e\x30-\x7e]+$/, 'not an id');

/** A time on the wire: ISO 8601 in UTC, or null. */
export const Timestamp = z.string().nullable();

/** A date as ISO 8601 (null stays null). */
export const iso = (d: Date | string | null | undefined): string | null => (d == null ? null : new Date(d).toISOString());
