import type { z } from 'zod';
import { UserError } from '../util/errors.js';

/**
 * Parses input that no route schema covers (OGC KVP parameters after their names are normalised,
 * values inside a body) with a zod schema; failures are 400 problems naming the parameter. Route
 * schemas (`schema.querystring/params/body`) report the same way through the error handler.
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what = 'query'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidInput(what, result.error.issues);
}

export function invalidInput(what: string, issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): UserError {
  const text = issues.map((i) => `${i.path.map(String).join('.') || what}: ${i.message}`).join('; ');
  return new UserError('invalid-parameter', `Invalid ${what}: ${text}`, { status: 400 });
}
