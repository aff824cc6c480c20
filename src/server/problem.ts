import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isUserError } from '../util/errors.js';

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
  const body: Problem = { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, instance: reply.request.url, ...extra };
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body);
}

/** Error and not-found handlers: every failure leaves as problem+json, never as a stack trace. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (isUserError(error)) {
      if (error.status >= 500) request.log.warn({ err: error }, error.message);
      return sendProblem(reply, error.status, error.code, error.message, error.hint ? { hint: error.hint } : {});
    }
    const fe = error as FastifyError;
    if (fe.validation) return sendProblem(reply, 400, 'invalid-request', fe.message);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendProblem(reply, fe.statusCode, (fe.code ?? 'client-error').toLowerCase().replace(/_/g, '-'), fe.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'internal-error', 'An unexpected error occurred; it has been logged.');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, 'not-found', `No resource at ${request.method} ${request.url.split('?')[0]}.`));
}
