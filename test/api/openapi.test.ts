import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { nodeTypes } from '../../chain/index.ts';
import { toOpenApiPath } from '../../api/openapi.ts';
import { bearer, openApiDocument, registerAdmin, startApi, type Account, type ApiHarness } from './support/api.ts';
import { registeredRoutes } from './support/routes.ts';

let t: ApiHarness;
let admin: Account;

beforeAll(async () => {
  t = await startApi('openapi');
  admin = await registerAdmin(t.api);
});
afterAll(async () => t?.close());

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};

describe('the OpenAPI document', () => {
  it('is served at /api/v1/openapi.json as OpenAPI 3.1 with the bearer scheme', async () => {
    const res = await t.api.get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as Doc;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error', 'message', 'details'] });
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('documents every registered route, and nothing that is not one', () => {
    const doc = openApiDocument() as unknown as Doc;
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const registered = registeredRoutes(t.app).map((r) => {
      const [method, path] = r.split(' ');
      return `${method} ${toOpenApiPath(path!)}`;
    });
    expect(registered.sort()).toEqual(documented.sort());
  });

  it('documents the error shape on every operation, and 401/403 wherever a token is needed', () => {
    const doc = openApiDocument() as unknown as Doc;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.responses['500']?.content?.['application/json']?.schema?.$ref, where).toBe('#/components/schemas/Error');
        if (op.security?.length === 1) {
          expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['401', '403']));
        }
      }
    }
  });

  it('answers unknown API paths with the documented 404 error', async () => {
    const res = await t.api.get('/api/v1/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'No route for GET /api/v1/no-such-thing', details: null });
  });

  it('describes /health and /ready, whose answers match it', async () => {
    expect((await t.api.get('/health')).status).toBe(200);
    expect((await t.api.get('/ready')).status).toBe(200);
  });
});

describe('the docs UI', () => {
  it('is served offline from swagger-ui-dist at /docs', async () => {
    const page = await t.api.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const asset of ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/init.js']) {
      expect(page.text).toContain(asset);
    }
    // Static assets of the page are files, not API operations: fetched without the contract check.
    const bundle = await request(t.app).get('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    const init = await t.api.get('/docs/init.js');
    expect(init.text).toContain("url: '/api/v1/openapi.json'");
    expect((await request(t.app).get('/docs/assets/nope.js')).status).toBe(404);
  });
});

describe('the node-type registry', () => {
  it('lists every built-in type with ru/en labels, ports and a JSON Schema of its config', async () => {
    const res = await t.api.get('/api/v1/node-types').set(bearer(admin.token));
    expect(res.status).toBe(200);
    expect(res.body.items.map((n: { type: string }) => n.type)).toEqual([...nodeTypes]);
    for (const item of res.body.items) {
      expect(item.label.en && item.label.ru, item.type).toBeTruthy();
      expect(item.help.en && item.help.ru, item.type).toBeTruthy();
      // An object, or a union of objects (delay: duration | until).
      const shapes = item.configSchema.oneOf ?? item.configSchema.anyOf ?? [item.configSchema];
      expect(shapes.every((shape: { type?: string }) => shape.type === 'object'), item.type).toBe(true);
    }
    const message = res.body.items.find((n: { type: string }) => n.type === 'message');
    expect(message.ports).toEqual([{ id: 'next', required: false, label: { en: 'Next', ru: 'Далее' } }]);
    expect(message.configSchema.properties.text.label).toEqual({ en: 'Text', ru: 'Текст' });
    const ask = res.body.items.find((n: { type: string }) => n.type === 'ask');
    expect(ask).toMatchObject({ waits: true, dynamicPorts: true });
  });

  it('needs a signed-in user', async () => {
    expect((await t.api.get('/api/v1/node-types')).status).toBe(401);
  });
});
