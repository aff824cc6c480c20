import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isUserError, UserError } from '../util/errors.js';
import { invalidInput } from './input.js';
import { sendOgcError } from './ows.js';

/** RFC 7807 problem details, the one error format of the REST API. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  hint?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemType(code: string): string {
  return `urn:pcrs:problem:${code}`;
}

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extra: Record<string, unknown> = {}): FastifyReply {
  // The path only: a query may carry an API key, which no answer repeats.
  const body: Problem = { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, instance: reply.request.url.split('?')[0], ...extra };
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body);
}

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' };

/** A route-schema validation failure as the same 400 problem `parseInput` gives. */
function validationProblem(error: FastifyError): UserError {
  const what = CONTEXT_NAMES[error.validationContext ?? ''] ?? 'request';
  if (hasZodFastifySchemaValidationErrors(error)) {
    return invalidInput(
      what,
      error.validation.map((v) => ({ path: v.instancePath.split('/').filter(Boolean), message: v.message ?? 'invalid' })),
    );
  }
  return new UserError('invalid-request', error.message, { status: 400 });
}

/**
 * Error and not-found handlers: every failure leaves as problem+json (or, on an OGC service route,
 * as that service's exception report), never as a stack trace or a server path.
 */
export function registerProblemHandlers(app: FastifyInstance, notFoundPreHandler?: preHandlerAsyncHookHandler): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const fe = error as FastifyError;
    const known = isUserError(error) ? error : fe.validation ? validationProblem(fe) : undefined;
    const ows = request.routeOptions.config?.ows;
    if (ows) return sendOgcError(reply, known ?? error, ows);
    if (known) {
      if (known.status >= 500) request.log.warn({ err: known }, known.message);
      return sendProblem(reply, known.status, known.code, known.message, known.hint ? { hint: known.hint } : {});
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendProblem(reply, fe.statusCode, (fe.code ?? 'client-error').toLowerCase().replace(/_/g, '-'), fe.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'internal-error', 'An unexpected error occurred; it has been logged.');
  });
  // The rate limit counts unmatched URLs too (scanners), when it is on.
  app.setNotFoundHandler(notFoundPreHandler ? { preHandler: notFoundPreHandler } : {}, (request, reply) => sendProblem(reply, 404, 'not-found', `No resource at ${request.method} ${request.url.split('?')[0]}.`));
}
