// The OpenAPI 3.1 document, generated from the same operation list (and zod schemas)
// the router is built from, plus the health routes and the docs UI (Swagger UI from
// swagger-ui-dist, served offline).

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { errorSchema } from './schemas/common.ts';
import { mcpOpenApiPaths } from './mcp/openapi-paths.ts';
import { CHAIN_FILE_TYPES, implicitErrors, type Operation } from './routes/define.ts';

export const API_PREFIX = '/api/v1';

const errorDescriptions: Record<number, string> = {
  400: 'The request is malformed or invalid: `details` names each field (`body.email`, `query.limit`, `params.id`) and what to send instead',
  401: 'No valid access token (missing, expired or revoked) or wrong credentials',
  403: 'Signed in, but your role does not allow this (the message names the role needed)',
  404: 'Not found, or not shared with you',
  409: 'Conflicts with the current state (stale revision, slug taken, sessions running…)',
  413: 'The body is larger than the limit (1 MB for JSON, 2 MB for chain files)',
  415: 'Wrong Content-Type for this operation',
  422: 'The chain does not compile: `details` lists every error with node, field and fix',
  423: 'The account is locked after repeated failed sign-ins (`details.lockedUntil`)',
  429: 'Too many requests from this address (or to this chain); retry after the Retry-After seconds',
  500: 'Our fault: the error was logged',
  503: 'A dependency is unavailable',
};

const errorResponse = (status: number) => ({
  description: errorDescriptions[status] ?? 'Error',
  ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds until a request would be allowed again', schema: { type: 'integer' as const, minimum: 1 } } } } : {}),
  content: { 'application/json': { schema: errorSchema } },
});

/** Express `/chains/:id` → OpenAPI `/chains/{id}`. */
/** Express `:name` and `*name` (the rest of the path, e.g. a file under a folder) as OpenAPI `{name}`. */
export const toOpenApiPath = (path: string) => path.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');

const binaryFile = z.string().meta({ override: { type: 'string', format: 'binary' } });

function operationObject(op: Operation): ZodOpenApiOperationObject {
  const responses: Record<`${number}`, ZodOpenApiResponseObject> = {};
  for (const [status, spec] of Object.entries(op.responses)) {
    const content = spec.schema
      ? { 'application/json': { schema: spec.schema } }
      : spec.content
        ? Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema }]))
        : undefined;
    responses[status as `${number}`] = { description: spec.description, ...(content ? { content } : {}) };
  }
  for (const status of implicitErrors(op)) responses[`${status}`] ??= errorResponse(status);

  const requestParams = {
    ...(op.params instanceof z.ZodObject ? { path: op.params } : {}),
    ...(op.query instanceof z.ZodObject ? { query: op.query } : {}),
  };
  let requestBody: ZodOpenApiOperationObject['requestBody'];
  if (op.bodyKind === 'chain-file') {
    requestBody = {
      required: true,
      description: "The chain file: YAML or JSON text as the body, or a multipart upload in the field 'file'",
      content: {
        ...Object.fromEntries(CHAIN_FILE_TYPES.map((type) => [type, { schema: z.string() }])),
        'multipart/form-data': { schema: z.object({ file: binaryFile }) },
      },
    };
  } else if (op.bodyKind === 'raw') {
    requestBody = { required: false, description: 'Any payload; JSON bodies (Content-Type application/json) are parsed', content: { 'application/json': { schema: z.unknown() }, '*/*': { schema: z.string() } } };
  } else if (op.body) {
    requestBody = { required: true, content: { 'application/json': { schema: op.body } } };
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    security: op.auth === 'public' ? [] : op.auth === 'optional' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
    ...(Object.keys(requestParams).length ? { requestParams } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional(), ms: z.number() });

/** Routes outside /api/v1 (api/routes/health.ts and the docs UI), documented here. */
function otherPaths(): ZodOpenApiPathsObject {
  const ready = z
    .object({
      status: z.enum(['ready', 'unavailable']),
      message: z.string().optional(),
      checks: z.object({ postgres: checkSchema, temporal: checkSchema }),
    })
    .meta({ id: 'Readiness' });
  return {
    ...mcpOpenApiPaths(errorResponse),
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        security: [],
        responses: {
          200: { description: 'Up', content: { 'application/json': { schema: z.object({ status: z.literal('ok'), uptimeSeconds: z.number().int() }) } } },
          500: errorResponse(500),
        },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: 'Readiness: PostgreSQL answers a query and the Temporal namespace a describe',
        tags: ['operations'],
        security: [],
        responses: {
          200: { description: 'Ready', content: { 'application/json': { schema: ready } } },
          503: { description: 'A dependency is unavailable (named in message and checks)', content: { 'application/json': { schema: ready } } },
          500: errorResponse(500),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of this API process (requests, sessions, nodes executed; see api/routes/metrics.ts)',
        description: 'Public unless METRICS_TOKEN is set; then send `Authorization: Bearer <METRICS_TOKEN>`. Worker (Temporal SDK) metrics are on the worker’s METRICS_PORT.',
        tags: ['operations'],
        security: [],
        responses: {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
          401: { description: 'METRICS_TOKEN is set and the bearer token is missing or wrong', content: { 'application/json': { schema: errorSchema } } },
          500: errorResponse(500),
        },
      },
    },
    '/docs': {
      get: {
        operationId: 'docs',
        summary: 'Interactive API documentation (Swagger UI, served offline)',
        tags: ['operations'],
        security: [],
        responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } }, 500: errorResponse(500) },
      },
    },
    '/docs/init.js': {
      get: {
        operationId: 'docsScript',
        summary: 'The docs page’s start-up script (points Swagger UI at /api/v1/openapi.json)',
        tags: ['operations'],
        security: [],
        responses: { 200: { description: 'JavaScript', content: { 'application/javascript': { schema: z.string() } } }, 500: errorResponse(500) },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the given operations (mounted under /api/v1) and the health routes. */
export function buildOpenApiDocument(operations: readonly Operation[], info: { version: string }) {
  const paths: ZodOpenApiPathsObject = otherPaths();
  for (const op of operations) {
    const path = `${API_PREFIX}${toOpenApiPath(op.path)}`;
    paths[path] = { ...paths[path], [op.method]: operationObject(op) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Chainflow API',
      version: info.version,
      description:
        'Chains, versions, accounts and web chat of a Chainflow installation. Sign in with POST /api/v1/auth/login and send the access token as `Authorization: Bearer <token>`; refresh it with POST /api/v1/auth/refresh. Errors are `{error, message, details}`; lists are `{items, total}`.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'Accounts and sessions' },
      { name: 'users', description: 'Users and invites (admins)' },
      { name: 'chains', description: 'Chains, drafts, versions, import and export' },
      { name: 'sharing', description: 'Per-chain roles' },
      { name: 'simulator', description: 'Try the draft in a web session' },
      { name: 'web chat', description: 'Public web chat of published chains' },
      { name: 'node types', description: 'The node registry' },
      { name: 'audit', description: 'Audit log (admins)' },
      { name: 'operations', description: 'Health, readiness, this document' },
    ],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from /auth/login, /auth/register or /auth/refresh' },
      },
    },
    paths,
  });
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chainflow API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '${API_PREFIX}/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

/** `/docs`: Swagger UI from swagger-ui-dist (no CDN), reading /api/v1/openapi.json. */
export function docsRoutes(): Router {
  const router = Router();
  const assets = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  router.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_HTML);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(DOCS_INIT);
  });
  router.use('/docs/assets', express.static(assets, { index: false, maxAge: '1d', fallthrough: false }));
  return router;
}
