// Knowledge bases, the text half: a document's bytes → plain text with headings →
// chunks (by headings and paragraphs, with overlap). Pure apart from the pdf/docx parsers.

import { createHash } from 'node:crypto';

export const knowledgeFormats = ['txt', 'md', 'html', 'pdf', 'docx'] as const;
export type KnowledgeFormat = (typeof knowledgeFormats)[number];

/** The format of an upload from its Content-Type, else its file name; undefined when neither names a known one. */
export function formatOf(contentType: string | undefined, filename: string | undefined): KnowledgeFormat | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const byType: Record<string, KnowledgeFormat> = {
    'text/plain': 'txt',
    'text/markdown': 'md',
    'text/x-markdown': 'md',
    'text/html': 'html',
    'application/xhtml+xml': 'html',
    'application/pdf': 'pdf',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  };
  if (byType[type]) return byType[type];
  const ext = /\.([a-z0-9]+)$/i.exec(filename ?? '')?.[1]?.toLowerCase();
  if (ext === 'markdown') return 'md';
  if (ext === 'htm') return 'html';
  return (knowledgeFormats as readonly string[]).includes(ext ?? '') ? (ext as KnowledgeFormat) : undefined;
}

export class ExtractError extends Error {}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** HTML → Markdown-ish text: headings become `#` lines, blocks become paragraphs, scripts and styles go. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|noscript|template)[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<h([1-6])[^>]*>([\s\S]*?)<\/h\1\s*>/gi, (_m, level: string, inner: string) => `\n\n${'#'.repeat(Number(level))} ${inner.replace(/<[^>]+>/g, '').trim()}\n\n`)
    .replace(/<(br)\s*\/?>/gi, '\n')
    .replace(/<\/?(p|div|section|article|li|ul|ol|tr|table|blockquote|pre|header|footer|main|nav)[^>]*>/gi, '\n\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, code: string) => {
      if (code[0] === '#') {
        const n = code[1] === 'x' || code[1] === 'X' ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1));
        return Number.isFinite(n) ? String.fromCodePoint(n) : m;
      }
      return ENTITIES[code.toLowerCase()] ?? m;
    });
}

/** The text of a document, headings as Markdown `#` lines. @throws {ExtractError} when the bytes are not that format. */
export async function extractText(bytes: Uint8Array, format: KnowledgeFormat): Promise<string> {
  try {
    switch (format) {
      case 'txt':
      case 'md':
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      case 'html':
        return htmlToText(new TextDecoder('utf-8').decode(bytes));
      case 'pdf': {
        const { extractText: pdfText, getDocumentProxy } = await import('unpdf');
        const pdf = await getDocumentProxy(new Uint8Array(bytes));
        const { text } = await pdfText(pdf, { mergePages: false });
        // A form feed between pages: chunks do not span pages (each page is cited on its own).
        return text.join('\n\f\n');
      }
      case 'docx': {
        const mammoth = await import('mammoth');
        const { value } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) });
        return htmlToText(value);
      }
    }
  } catch (error) {
    throw new ExtractError(`The ${format} file could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface TextChunk {
  ordinal: number;
  /** The headings above the chunk, joined with " › ". */
  heading: string;
  text: string;
  language: 'english' | 'russian';
}

/** `russian` when Cyrillic letters are at least a third of the letters, else `english`. */
export function languageOf(text: string): 'english' | 'russian' {
  const cyr = (text.match(/[\u0400-\u04FF]/g) ?? []).length;
  const lat = (text.match(/[A-Za-z]/g) ?? []).length;
  return cyr > 0 && cyr * 2 >= lat ? 'russian' : 'english';
}

export interface ChunkOptions {
  /** Target size in characters; default 1200. */
  size?: number;
  /** Characters of the previous chunk's end repeated at the start of the next one in the same section; default 150. */
  overlap?: number;
}

/**
 * Splits text into chunks: a new chunk at every heading (`#` lines, or short lines that
 * a pdf set apart are kept as text) and at every form feed (a pdf's page break); paragraphs are packed up to `size`, a longer
 * paragraph is cut at sentence ends. Consecutive chunks of one section share `overlap`
 * characters. Deterministic: the same text gives the same chunks.
 */
export function chunkText(text: string, options: ChunkOptions = {}): TextChunk[] {
  const size = options.size ?? 1200;
  const overlap = Math.min(options.overlap ?? 150, Math.floor(size / 3));
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const sections: { heading: string[]; paragraphs: string[] }[] = [];
  let path: string[] = [];
  let current = { heading: path, paragraphs: [] as string[] };
  let para: string[] = [];
  const endPara = () => {
    const p = para.join(' ').replace(/\s+/g, ' ').trim();
    if (p) current.paragraphs.push(p);
    para = [];
  };
  for (const line of lines) {
    const h = /^(#{1,6})\s+(.*\S)\s*$/.exec(line);
    if (line === '\f') {
      endPara();
      if (current.paragraphs.length) sections.push(current);
      current = { heading: path, paragraphs: [] };
    } else if (h) {
      endPara();
      if (current.paragraphs.length) sections.push(current);
      const level = h[1]!.length;
      path = [...path.slice(0, level - 1), h[2]!.replace(/#+\s*$/, '').trim()];
      current = { heading: path, paragraphs: [] };
    } else if (line.trim() === '') endPara();
    else para.push(line.trim());
  }
  endPara();
  if (current.paragraphs.length) sections.push(current);

  const pieces = (p: string): string[] => {
    if (p.length <= size) return [p];
    const sentences = p.match(/[^.!?…]+[.!?…]+["»)]*\s*|[^.!?…]+$/g) ?? [p];
    const out: string[] = [];
    let buf = '';
    for (const s of sentences) {
      for (let rest = s; rest.length > 0; ) {
        const room = size - buf.length;
        if (rest.length <= room) {
          buf += rest;
          rest = '';
        } else if (buf) {
          out.push(buf.trim());
          buf = '';
        } else {
          out.push(rest.slice(0, size).trim());
          rest = rest.slice(size);
        }
      }
    }
    if (buf.trim()) out.push(buf.trim());
    return out;
  };

  const chunks: TextChunk[] = [];
  for (const section of sections) {
    const heading = section.heading.join(' › ');
    let buf = '';
    let carried = '';
    const flush = () => {
      if (!buf.trim()) return;
      const body = (carried ? `${carried} ${buf}` : buf).trim();
      chunks.push({ ordinal: chunks.length, heading, text: body, language: languageOf(`${heading} ${body}`) });
      const tail = buf.slice(-overlap);
      carried = overlap > 0 ? tail.slice(Math.max(0, tail.indexOf(' ') + 1)) : '';
      buf = '';
    };
    for (const p of section.paragraphs.flatMap(pieces)) {
      if (buf && buf.length + p.length + 2 > size - carried.length) flush();
      buf = buf ? `${buf}\n\n${p}` : p;
    }
    flush();
  }
  return chunks;
}

/** A chunk's id: the same document, version and position always give the same id, so a retried store adds nothing. */
export function chunkId(documentId: string, version: number, ordinal: number): string {
  return createHash('sha256').update(`${documentId}\u0000${version}\u0000${ordinal}`).digest('hex');
}

/** Scales a vector to length 1 (cosine similarity becomes a dot product). */
export function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((x) => x / norm);
}
