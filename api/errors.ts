import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import { StoredChainError } from '../chain/index.ts';
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
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.originalUrl.split('?')[0]}`));
};

/**
 * The one error handler: typed errors → problem JSON; body-parser errors → 400/413/415.
 * Requests are validated where they come in (routes/define.ts answers those 400s), so a
 * ZodError that reaches this handler came from our own data and is a 500, as is a stored
 * graph or IR that does not read back (StoredChainError, which names the chain).
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let http: HttpError;
    if (err instanceof HttpError) http = err;
    else if (err instanceof StoredChainError) {
      logger.error({ err, chainId: err.chainId, versionId: err.versionId, column: err.column, problems: err.problems, method: req.method, path: req.path }, 'stored chain data is invalid');
      http = new HttpError(500, 'stored_data_invalid', `${err.message} The fault is in the server's data, not in the request; it was logged.`, { chainId: err.chainId, versionId: err.versionId });
    } else if (isBodyParserError(err)) {
      http =
        err.type === 'entity.too.large'
          ? new HttpError(413, 'payload_too_large', `The request body is larger than the limit (${err.limit} bytes).`)
          : err.type === 'entity.parse.failed'
            ? new HttpError(400, 'malformed_json', `The body is not valid JSON${jsonErrorPlace(err.message)}; check quotes, commas and brackets.`)
            : err.status === 415
              ? new HttpError(415, 'unsupported_media_type', `${err.message}; send UTF-8 JSON.`)
              : new HttpError(err.status ?? 400, 'bad_request', err.message);
    } else if (isClientHttpError(err)) {
      // http-errors from Express internals (static files, aborted requests): keep the status.
      const path = req.originalUrl.split('?')[0];
      http = new HttpError(err.status, err.status === 404 ? 'not_found' : 'bad_request', err.status === 404 ? `No such file: ${path}` : err.expose ? err.message : `Bad request for ${path}`);
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

/**
 * Where JSON.parse stopped, without the snippet of input V8 puts into some messages (the
 * body may hold a password).
 */
function jsonErrorPlace(message: string): string {
  const place = /at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (place?.[2]) return ` (line ${place[2]}, column ${place[3]})`;
  if (place) return ` (at character ${place[1]})`;
  return /end of JSON input/.test(message) ? ' (it ends too early)' : '';
}

function isClientHttpError(err: unknown): err is { status: number; message: string; expose?: boolean } {
  if (typeof err !== 'object' || err === null || !('status' in err)) return false;
  const { status } = err as { status: unknown };
  return typeof status === 'number' && status >= 400 && status < 500;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && typeof (err as { type: unknown }).type === 'string' && 'status' in err;
}
