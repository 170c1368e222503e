import type { IncomingMessage } from 'node:http';

/** A file part of a multipart body. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** A Bot API error, answered as `{ok:false, error_code, description, parameters?}`. */
export class ApiError extends Error {
  readonly code: number;
  readonly retryAfter: number | undefined;
  constructor(code: number, description: string, retryAfter?: number) {
    super(description);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** `400 Bad Request: …`, the answer to most invalid parameters. */
export const badRequest = (what: string): ApiError => new ApiError(400, `Bad Request: ${what}`);

const MAX_BODY = 60 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) throw new ApiError(413, 'Request Entity Too Large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * The parameters of one Bot API call, from the query string and the body (JSON,
 * x-www-form-urlencoded or multipart), like Telegram: all three may be mixed.
 * Form and multipart values are strings; the accessors coerce them the way Telegram does.
 */
export class Params {
  readonly values = new Map<string, unknown>();
  readonly files = new Map<string, UploadedFile>();

  static async read(req: IncomingMessage, url: URL): Promise<Params> {
    const params = new Params();
    for (const [k, v] of url.searchParams) params.values.set(k, v);
    const body = await readBody(req);
    if (body.length === 0) return params;
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON object");
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest("can't parse JSON object");
      for (const [k, v] of Object.entries(parsed)) params.values.set(k, v);
    } else if (type.startsWith('multipart/form-data')) {
      const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
      const b = boundary?.[1] ?? boundary?.[2];
      if (!b) throw badRequest('multipart boundary is missing');
      for (const part of parseMultipart(body, b)) {
        if (part.filename !== undefined) params.files.set(part.name, { filename: part.filename, contentType: part.contentType, bytes: part.data });
        else params.values.set(part.name, part.data.toString('utf8'));
      }
    } else {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.values.set(k, v);
    }
    return params;
  }

  static of(values: Record<string, unknown>): Params {
    const p = new Params();
    for (const [k, v] of Object.entries(values)) if (v !== undefined) p.values.set(k, v);
    return p;
  }

  has(name: string): boolean {
    const v = this.values.get(name);
    return (v !== undefined && v !== null && v !== '') || this.files.has(name);
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw badRequest(`field "${name}" must be a string`);
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw badRequest(`field "${name}" must be an Integer`);
    return n;
  }

  float(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw badRequest(`field "${name}" must be a Float number`);
    return n;
  }

  bool(name: string): boolean {
    const v = this.values.get(name);
    return v === true || v === 'true' || v === '1' || v === 1;
  }

  /** A JSON-serialized parameter: an object in a JSON body, a JSON string in a form. */
  json(name: string, onError: string): unknown {
    const v = this.values.get(name);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw badRequest(onError);
    }
  }
}

interface Part {
  name: string;
  filename: string | undefined;
  contentType: string;
  data: Buffer;
}

/** Tolerant multipart/form-data parser (grammY writes `name="x";filename=y` without spaces or quotes). */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw badRequest('multipart body has no parts');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw badRequest('malformed multipart body');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw badRequest('malformed multipart body');
    const data = body.subarray(headerEnd + 4, next);
    let name: string | undefined;
    let filename: string | undefined;
    let contentType = 'application/octet-stream';
    for (const line of headers) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        name = /(?:^|;)\s*name=(?:"([^"]*)"|([^;]*))/i.exec(value)?.slice(1).find((x) => x !== undefined)?.trim();
        const fn = /(?:^|;)\s*filename=(?:"([^"]*)"|([^;]*))/i.exec(value);
        if (fn) filename = (fn[1] ?? fn[2] ?? '').trim();
      } else if (key === 'content-type') contentType = value;
    }
    if (name !== undefined) parts.push({ name, filename, contentType, data: Buffer.from(data) });
    pos = next + 2;
  }
  return parts;
}
