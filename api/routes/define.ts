// Routes are declared once, as operations: method, path, zod schemas of params, query,
// body and responses, the auth mode and the handler. `mountOperations` registers them on
// an Express router (body parsing, 415 checks, validation, authentication); openapi.ts
// documents the same list. A route cannot exist without its documentation.

import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import multer from 'multer';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { authenticate, type Principal } from '../auth/principal.ts';
import { requireScopes } from '../auth/personal-tokens.ts';
import { HttpError, validationError } from '../errors.ts';
import type { RateLimitName } from '../rate-limit.ts';
import { recordAudit, type AuditActor, type AuditInput } from '../services/audit.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** `public`: no token needed (one sent is ignored); `bearer`: a valid access token is required; `optional`: used when sent. */
export type AuthMode = 'public' | 'bearer' | 'optional';
/**
 * `json`: application/json; `chain-file`: raw YAML/JSON text or a multipart upload in
 * field `file`; `raw`: any content type, the bytes as `req.body` (a Buffer) — for
 * webhooks, whose signatures cover the exact body.
 */
export type BodyKind = 'json' | 'chain-file' | 'raw';

export interface ResponseSpec {
  description: string;
  /** JSON body; omit for 204. */
  schema?: z.ZodType;
  /** Other bodies by content type (exports, CSV, HTML). */
  content?: Record<string, z.ZodType>;
  headers?: Record<string, string>;
}

/** An uploaded or posted chain file: its bytes as sent (parseChainFile checks they are UTF-8). */
export interface ChainFileBody {
  bytes: Buffer;
  filename: string | null;
}

export interface Ctx<P, Q, B, A extends AuthMode> {
  req: Request;
  res: Response;
  params: P;
  query: Q;
  body: B;
  /** Set for `chain-file` operations. */
  file: ChainFileBody | null;
  principal: A extends 'bearer' ? Principal : Principal | null;
  /** A fresh entity manager for this request. */
  em: EntityManager;
  /** Who is acting (the principal, or anonymous) and from which address. */
  actor: AuditActor;
  /** Queues an audit entry, written with the request's next flush. */
  audit(entry: AuditInput): void;
}

export interface OperationSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends AuthMode> {
  method: HttpMethod;
  /** Express path below /api/v1, e.g. `/chains/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: [string, ...string[]];
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  bodyKind?: BodyKind;
  /** Body size limit (default 1 MB for JSON, 2 MB for chain files). */
  bodyLimit?: number;
  /**
   * Which shared rate limiter counts this operation (api/rate-limit.ts): `auth` for the
   * sign-in routes, `chat` for the web chat, `hook` for webhook triggers (429 when exceeded).
   */
  rateLimited?: RateLimitName;
  /** Error statuses beyond the ones every operation of its kind may answer. */
  errors?: readonly number[];
  responses: Record<number, ResponseSpec>;
  handler(ctx: Ctx<z.output<P>, z.output<Q>, z.output<B>, A>): Promise<void> | void;
}

/** An operation with its types erased, as lists hold them. */
export type Operation = OperationSpec<z.ZodType, z.ZodType, z.ZodType, AuthMode>;

/** Declares an operation; the handler's ctx is typed by the schemas. */
export function defineOperation<P extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown, A extends AuthMode = AuthMode>(
  spec: OperationSpec<P, Q, B, A>,
): Operation {
  return spec as unknown as Operation;
}

export const JSON_LIMIT = 1024 * 1024;
export const FILE_LIMIT = 2 * 1024 * 1024;
export const CHAIN_FILE_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/** The statuses an operation may answer besides its own (documented for every operation). */
export function implicitErrors(op: Operation): number[] {
  const statuses = new Set<number>(op.errors ?? []);
  if (op.params || op.query || op.body || op.bodyKind) statuses.add(400);
  if (op.auth !== 'public') statuses.add(401);
  if (op.auth === 'bearer') statuses.add(403);
  if (op.body || op.bodyKind) {
    statuses.add(413);
    if (op.bodyKind !== 'raw') statuses.add(415);
  }
  if (op.rateLimited) statuses.add(429);
  statuses.add(500);
  return [...statuses].sort((a, b) => a - b);
}

const hasBody = (req: Request) => Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

function requireContentType(types: string[], hint: string): RequestHandler {
  return (req, _res, next) => {
    if (!hasBody(req) || req.is(types)) return next();
    next(new HttpError(415, 'unsupported_media_type', `Content-Type ${req.headers['content-type'] ?? '(none)'} is not accepted here; send ${hint}.`, { accepted: types }));
  };
}

function bodyParsers(op: Operation): RequestHandler[] {
  if (op.bodyKind === 'raw') return [express.raw({ type: () => true, limit: op.bodyLimit ?? JSON_LIMIT })];
  if (op.bodyKind === 'chain-file') {
    const limit = op.bodyLimit ?? FILE_LIMIT;
    const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limit, files: 1, fields: 0, parts: 2 } }).single('file');
    return [
      requireContentType([...CHAIN_FILE_TYPES, 'multipart/form-data'], "the chain as YAML or JSON (Content-Type application/yaml or application/json) or a multipart/form-data upload in the field 'file'"),
      (req, _res, next) => {
        const charset = hasBody(req) && req.is(CHAIN_FILE_TYPES) ? /charset=["']?([^;"'\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1] : undefined;
        if (charset && !/^(utf-?8|us-ascii)$/i.test(charset)) return next(new HttpError(415, 'unsupported_media_type', `Chain files are UTF-8; charset=${charset} is not accepted. Convert the file to UTF-8 and send it with charset=utf-8 (or none).`));
        next();
      },
      // Bytes, not text: a file that is not UTF-8 is refused by name instead of being decoded with replacement characters.
      express.raw({ limit, type: CHAIN_FILE_TYPES }),
      (req, res, next) => {
        upload(req, res, (err: unknown) => next(err ? uploadError(err, limit) : undefined));
      },
    ];
  }
  if (op.body) return [requireContentType(['application/json'], 'JSON (Content-Type: application/json)'), express.json({ limit: op.bodyLimit ?? JSON_LIMIT, type: 'application/json' })];
  return [];
}

function uploadError(err: unknown, limit: number): HttpError {
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new HttpError(413, 'payload_too_large', `The uploaded file is larger than the limit (${limit} bytes).`);
    return new HttpError(400, 'bad_upload', `The upload was refused (${err.code}${err.field ? `, field '${err.field}'` : ''}): send exactly one file in the multipart field 'file'.`);
  }
  return new HttpError(400, 'bad_upload', `The multipart body could not be read: ${err instanceof Error ? err.message : String(err)}.`);
}

export interface MountDeps {
  orm: MikroORM;
  jwtSecret: string;
  /** Applied to operations marked `rateLimited`, by name. */
  rateLimiters: Record<RateLimitName, RequestHandler>;
}

/** Who is calling, resolved before the body is read (anonymous callers of protected routes never get that far). */
interface Caller {
  em: EntityManager;
  principal: Principal | null;
}

/** Registers operations on a router, in order: rate limit, authentication, body parsing, validation, handler. */
export function mountOperations(router: Router, operations: readonly Operation[], deps: MountDeps): void {
  const callers = new WeakMap<Request, Caller>();
  for (const op of operations) {
    const handlers: RequestHandler[] = [];
    if (op.rateLimited) handlers.push(deps.rateLimiters[op.rateLimited]);
    handlers.push(async (req, _res, next) => {
      const em = deps.orm.em.fork();
      const authorization = req.headers.authorization;
      let principal: Principal | null = null;
      if (op.auth !== 'public' && authorization) principal = await authenticate(em, deps.jwtSecret, authorization);
      if (principal) requireScopes(principal, op);
      else if (op.auth === 'bearer') {
        throw new HttpError(401, 'unauthenticated', 'Sign in first: send Authorization: Bearer <accessToken> (POST /api/v1/auth/login).');
      }
      callers.set(req, { em, principal });
      next();
    });
    handlers.push(...bodyParsers(op));
    handlers.push(async (req, res) => {
      const { em, principal } = callers.get(req) ?? { em: deps.orm.em.fork(), principal: null };
      const params = op.params ? op.params.safeParse(req.params) : { success: true as const, data: req.params };
      if (!params.success) throw validationError(params.error, 'params');
      const query = op.query ? op.query.safeParse(req.query) : { success: true as const, data: req.query };
      if (!query.success) throw validationError(query.error, 'query');
      let body: unknown = undefined;
      if (op.body) {
        const parsed = op.body.safeParse(req.body ?? {});
        if (!parsed.success) throw validationError(parsed.error, 'body');
        body = parsed.data;
      }
      let file: ChainFileBody | null = null;
      if (op.bodyKind === 'chain-file') {
        const upload = req.file;
        const bytes = upload ? upload.buffer : Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (bytes.toString('utf8').trim() === '') {
          throw new HttpError(400, 'file_missing', "Send the chain file as the request body (YAML or JSON) or as a multipart upload in the field 'file'.", { field: 'body' });
        }
        file = { bytes, filename: upload?.originalname ?? null };
      }
      const actor: AuditActor = { id: principal?.user.id ?? null, email: principal?.user.email ?? null, ip: req.ip ?? null };
      await op.handler({
        req,
        res,
        params: params.data,
        query: query.data,
        body,
        file,
        principal,
        em,
        actor,
        audit: (entry) => recordAudit(em, actor, entry),
      });
    });
    router[op.method](op.path, ...handlers);
  }
}
