// Validates every response a test receives against the OpenAPI document: the path and
// method must be documented, the status must be listed for that operation, the content
// type must be one it declares, and a JSON body must match its schema (ajv, draft 2020-12).

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import type { OpenApiDocument } from '../../../api/openapi.ts';

const COMPONENTS_ID = 'https://chainflow.test/components';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `#/components/schemas/X` → an absolute ref into the components schema ajv knows. */
function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = key === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}` : rewriteRefs(v);
    }
    return out;
  }
  return value;
}

interface DocOperation {
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>;
}

interface Route {
  template: string;
  pattern: RegExp;
  params: number;
  methods: Record<string, DocOperation>;
}

/** A problem found in a response; the test fails with it. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

export interface ResponseValidator {
  /** Throws a {@link ContractViolation} unless the response matches the document. */
  check(method: string, url: string, res: Response): void;
  /** `METHOD /template status` of every response checked so far. */
  readonly seen: Set<string>;
  /** The operation template a URL resolves to (undefined for undocumented paths). */
  templateOf(method: string, url: string): string | undefined;
}

export function createResponseValidator(document: OpenApiDocument): ResponseValidator {
  const doc = JSON.parse(JSON.stringify(document)) as { paths: Record<string, Record<string, DocOperation>>; components?: { schemas?: Record<string, Json> } };
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addFormat('password', true);
  ajv.addFormat('binary', true);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs((doc.components?.schemas ?? {}) as Json) } as object);

  const routes: Route[] = Object.entries(doc.paths)
    .map(([template, methods]) => {
      const params = (template.match(/\{[^}]+\}/g) ?? []).length;
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}/?$`);
      return { template, pattern, params, methods };
    })
    // Literal paths win over templated ones (/chains/import before /chains/{id}).
    .sort((a, b) => a.params - b.params);

  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (key: string, schema: Json): ValidateFunction => {
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile(rewriteRefs(schema) as object);
      compiled.set(key, fn);
    }
    return fn;
  };

  const find = (method: string, url: string) => {
    const path = url.split('?')[0] ?? url;
    const m = method.toLowerCase();
    return routes.find((r) => r.pattern.test(path) && r.methods[m]) ?? routes.find((r) => r.pattern.test(path));
  };

  const seen = new Set<string>();
  const errorSchema = doc.components?.schemas?.Error;

  return {
    seen,
    templateOf: (method, url) => find(method, url)?.template,
    check(method, url, res) {
      const m = method.toLowerCase();
      const where = `${method.toUpperCase()} ${url} → ${res.status}`;
      const route = find(method, url);
      const op = route?.methods[m];
      if (!route || !op) {
        // Unknown routes answer the documented error shape with 404.
        if (res.status !== 404 || !errorSchema) throw new ContractViolation(`${where}: no such operation in the OpenAPI document`);
        const validate = validatorFor('Error', errorSchema);
        if (!validate(res.body)) throw new ContractViolation(`${where}: the 404 body is not an Error: ${ajv.errorsText(validate.errors)}`);
        return;
      }
      seen.add(`${method.toUpperCase()} ${route.template} ${res.status}`);
      const spec = op.responses[String(res.status)] ?? op.responses.default;
      if (!spec) throw new ContractViolation(`${where}: status ${res.status} is not documented for ${method.toUpperCase()} ${route.template} (documented: ${Object.keys(op.responses).join(', ')})`);
      const content = spec.content;
      const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      if (!content) {
        if (res.text && res.text.length > 0) throw new ContractViolation(`${where}: documented without a body, got ${type} ${res.text.slice(0, 80)}`);
        return;
      }
      // `*/*` documents any content type (e.g. a plugin tab's files).
      const media = content[type] ?? content['*/*'];
      if (!media) throw new ContractViolation(`${where}: content type '${type}' is not documented (documented: ${Object.keys(content).join(', ')})`);
      if (type !== 'application/json') return;
      if (!media.schema) return;
      const validate = validatorFor(`${m} ${route.template} ${res.status} ${type}`, media.schema);
      if (!validate(res.body)) {
        throw new ContractViolation(`${where}: body does not match the documented schema: ${ajv.errorsText(validate.errors, { separator: '; ' })}\nbody: ${JSON.stringify(res.body).slice(0, 500)}`);
      }
    },
  };
}
