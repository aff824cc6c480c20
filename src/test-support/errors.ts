import { expect } from 'vitest';
import { UserError } from '../util/errors.js';

/** Asserts that `fn` throws a UserError with this code whose message contains `message`. */
export function expectUserError(fn: () => unknown, code: string, message?: string): UserError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a UserError').toBeInstanceOf(UserError);
  const err = caught as UserError;
  expect(err.code).toBe(code);
  if (message !== undefined) expect(err.message).toContain(message);
  return err;
}
