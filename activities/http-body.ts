// Request bodies and response decoding of the HTTP node.

import { TextDecoder } from 'node:util';
import { FormData } from 'undici';
import { parseTemplate, renderTemplate, type JsonValue, type ParsedTemplate, type ReadableScope, type RenderOptions, type TemplatePart } from '../chain/index.ts';
import type { HttpConfig } from '../chain/nodes/http.ts';

type ExprPart = Extract<TemplatePart, { kind: 'expr' }>;

function single(part: ExprPart, expr: ExprPart['expr']): ParsedTemplate {
  return { source: part.source, parts: [{ ...part, expr }], variables: [], problems: [] };
}

/**
 * Renders a JSON body template so that inserted values cannot break the JSON:
 * - inside a string literal (`"name": "{{ user.name }}"`) the value is escaped as string
 *   content;
 * - elsewhere (`"count": {{ session.count }}`) the value is inserted as JSON: numbers
 *   and booleans as they are, strings quoted, objects and arrays as JSON, a missing
 *   variable as `null`. An expression ending in `| json` is inserted as its JSON text.
 *
 * @example renderJsonTemplate('{"q": "{{ message.text }}"}', scope) // '{"q": "say \\"hi\\""}'
 */
export function renderJsonTemplate(source: string, scope: ReadableScope, options: RenderOptions = {}): string {
  const parsed = parseTemplate(source);
  let out = '';
  let inString = false;
  let escaped = false;
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      for (const char of part.text) {
        if (!inString) inString = char === '"';
        else if (escaped) escaped = false;
        else if (char === '\\') escaped = true;
        else if (char === '"') inString = false;
      }
      out += part.text;
    } else if (inString) {
      out += JSON.stringify(renderTemplate(single(part, part.expr), scope, options)).slice(1, -1);
    } else {
      const endsWithJson = part.expr.filters.at(-1)?.name === 'json';
      const expr = endsWithJson ? part.expr : { ...part.expr, filters: [...part.expr.filters, { name: 'json' as const, args: [] }] };
      out += renderTemplate(single(part, expr), scope, options);
    }
  }
  return out;
}

/** A rendered request body, ready for fetch. */
export type RequestBody = { body: string | URLSearchParams | FormData; contentType?: string } | undefined;

export type BodyResult = { ok: true; value: RequestBody } | { ok: false; message: string };

/**
 * Renders the configured body. `render` renders a plain template (with secrets); JSON
 * bodies use {@link renderJsonTemplate} with the same options and must parse.
 */
export function renderBody(body: HttpConfig['body'], render: (template: string) => string, renderJson: (template: string) => string): BodyResult {
  switch (body.kind) {
    case 'none':
      return { ok: true, value: undefined };
    case 'json': {
      const text = renderJson(body.json);
      try {
        JSON.parse(text);
      } catch (error) {
        return { ok: false, message: `The JSON body is not valid JSON after inserting variables (${error instanceof Error ? error.message : 'parse error'})` };
      }
      return { ok: true, value: { body: text, contentType: 'application/json' } };
    }
    case 'form': {
      const params = new URLSearchParams();
      for (const field of body.fields) params.append(field.name, render(field.value));
      return { ok: true, value: { body: params, contentType: 'application/x-www-form-urlencoded' } };
    }
    case 'multipart': {
      const form = new FormData();
      for (const field of body.fields) {
        const value = render(field.value);
        if (field.filename !== undefined) form.append(field.name, new Blob([value]), field.filename);
        else form.append(field.name, value);
      }
      // fetch sets multipart/form-data with its boundary.
      return { ok: true, value: { body: form } };
    }
    case 'raw':
      return { ok: true, value: { body: render(body.text), contentType: body.contentType } };
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b|^text\/json\b/i;
const TEXT_TYPE = /^text\/|^application\/(?:[\w.+-]+\+)?(?:xml|json)\b|^application\/(?:javascript|ecmascript|x-www-form-urlencoded|graphql|yaml|x-yaml|x-ndjson)\b/i;

/** True when a content type says JSON (`application/json`, `application/problem+json`, …). */
export function isJsonContentType(contentType: string | null): boolean {
  return contentType !== null && JSON_TYPE.test(contentType.trim());
}

function decoderFor(contentType: string | null): TextDecoder {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8');
  } catch {
    return new TextDecoder('utf-8');
  }
}

export type DecodedBody = { ok: true; body: JsonValue; text: string | undefined; json: boolean } | { ok: false; message: string };

/**
 * Decodes a response body: JSON when the content type says so (an empty body is null),
 * text for textual types, base64 for anything else.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null): DecodedBody {
  const type = contentType?.trim() ?? '';
  if (isJsonContentType(type)) {
    const text = decoderFor(type).decode(bytes);
    if (text.trim() === '') return { ok: true, body: null, text, json: true };
    try {
      return { ok: true, body: JSON.parse(text) as JsonValue, text, json: true };
    } catch (error) {
      return { ok: false, message: `The response says it is JSON (${type.split(';')[0]}) but is not valid JSON (${error instanceof Error ? error.message : 'parse error'})` };
    }
  }
  if (type === '' || TEXT_TYPE.test(type)) {
    const text = decoderFor(type).decode(bytes);
    return { ok: true, body: text, text, json: false };
  }
  return { ok: true, body: Buffer.from(bytes).toString('base64'), text: undefined, json: false };
}
