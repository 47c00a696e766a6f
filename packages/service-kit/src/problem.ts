// RFC 9457 problem details for every error the services answer themselves. Bad input always maps
// to a 4xx; only a genuine fault of ours is a 500, and its detail never carries a stack.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** For validation errors: the offending field's name. */
  field?: string;
}

/** An error a route throws to answer a given 4xx/5xx as problem+json. */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  readonly statusCode: number;
  readonly field: string | undefined;

  constructor(statusCode: number, detail: string, field?: string) {
    super(detail);
    this.statusCode = statusCode;
    this.field = field;
  }
}

/** `about:blank` problems: the title is the status phrase (RFC 9457 section 4.2.1). */
export function problem(status: number, detail: string, field?: string): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(field === undefined ? {} : { field }),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  // Serialised here so a route's response schema for that status never reshapes a problem.
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

// Fastify's own errors for malformed requests, by code.
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_EMPTY_TYPE: 415,
  FST_ERR_CTP_INVALID_TYPE: 415,
  FST_ERR_VALIDATION: 400,
};

interface ValidationIssue {
  instancePath?: string;
  params?: Record<string, unknown>;
}

/**
 * The offending field of an Ajv issue: `/payload` → `payload`, required `id` → `id`; `body`
 * when the body as a whole is wrong (not an object, e.g. `[]` or `null`).
 */
function fieldOf(issue: ValidationIssue | undefined): string {
  if (!issue) return 'body';
  const missing = issue.params?.['missingProperty'];
  if (typeof missing === 'string') return missing;
  const extra = issue.params?.['additionalProperty'];
  const path = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  if (typeof extra === 'string') return path ? `${path}.${extra}` : extra;
  return path || 'body';
}

export function problemFromError(error: FastifyError | HttpProblem | Error): Problem {
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return problem(400, error.message, fieldOf(fastifyError.validation[0]));
  }
  if (error instanceof HttpProblem) return problem(error.statusCode, error.message, error.field);
  const byCode = fastifyError.code ? STATUS_BY_CODE[fastifyError.code] : undefined;
  const status = byCode ?? fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem(status, error.message);
  }
  return problem(500, 'The server failed to handle this request.');
}

/**
 * Error and not-found handlers answering problem+json. 4xx are logged at info level, everything
 * else at error level with the full error (stack included) — logs only, never the answer.
 */
export const problemDetailsPlugin = fp(
  async function problemDetails(fastify: FastifyInstance) {
    fastify.setErrorHandler(function onError(error, request: FastifyRequest, reply: FastifyReply) {
      const body = problemFromError(error as FastifyError);
      if (body.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ err: error, status: body.status }, 'request rejected');
      return sendProblem(reply, body);
    });
    fastify.setNotFoundHandler(function onNotFound(request, reply) {
      return sendProblem(reply, problem(404, `No route for ${request.method} ${request.url}.`));
    });
  },
  { name: 'problem-details', fastify: '5.x' },
);
