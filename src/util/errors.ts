/**
 * Errors that a user can act on. The CLI prints `message` (and `hint`) without a stack trace and
 * exits with `exitCode`; the HTTP layer turns them into RFC 7807 problem+json with `status`.
 * Anything that is not a UserError is a bug: logged with its stack, answered as a 500.
 */
export class UserError extends Error {
  /** Stable machine-readable code, e.g. `invalid-dalle-name`. */
  readonly code: string;
  /** HTTP status when the error crosses the API. */
  readonly status: number;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** CLI exit code. */
  readonly exitCode: number;

  constructor(code: string, message: string, options: { status?: number; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.code = code;
    this.status = options.status ?? 400;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Message of any thrown value, for logs and reports. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
