import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../lib/logger.ts';

/**
 * A typed API error: becomes `{error, message, details}` with its status. 4xx are the
 * caller's mistakes (the message says what to fix); 5xx are ours.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** 400 from a zod error, one detail per issue naming the field. */
export function validationError(err: z.ZodError, where: 'body' | 'query' | 'params'): HttpError {
  const details = err.issues.map((i) => ({ field: [where, ...i.path].join('.'), message: i.message, code: i.code }));
  const first = details[0];
  return new HttpError(400, 'validation_failed', first ? `${first.field}: ${first.message}` : 'Invalid request', details);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
};

/** The one error handler: typed errors → problem JSON; body-parser errors → 400/413/415. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let http: HttpError;
    if (err instanceof HttpError) http = err;
    else if (err instanceof z.ZodError) http = validationError(err, 'body');
    else if (isBodyParserError(err)) {
      http =
        err.type === 'entity.too.large'
          ? new HttpError(413, 'payload_too_large', `The request body is larger than the limit (${err.limit} bytes).`)
          : err.type === 'entity.parse.failed'
            ? new HttpError(400, 'malformed_json', `The body is not valid JSON: ${err.message}`)
            : new HttpError(err.status ?? 400, 'bad_request', err.message);
    } else {
      logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
      http = new HttpError(500, 'internal', 'Internal server error. The error was logged.');
    }
    if (http.status >= 500 && err instanceof HttpError) logger.error({ err, path: req.path }, http.message);
    res.status(http.status).json({ error: http.code, message: http.message, details: http.details ?? null });
  };
}

interface BodyParserError {
  type: string;
  status?: number;
  limit?: number;
  message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && typeof (err as { type: unknown }).type === 'string' && 'status' in err;
}
