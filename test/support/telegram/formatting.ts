// Telegram's text formatting (parse_mode HTML, MarkdownV2 and legacy Markdown), parsed the way
// the Bot API does (after tdlib's parsers): the plain text plus entities with UTF-16 offsets, or
// 400 "Bad Request: can't parse entities: …" with the byte offset of the problem.
import { ApiError } from './request.ts';
import type { MessageEntity } from './types.ts';

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

const entityError = (what: string): ApiError => new ApiError(400, `Bad Request: can't parse entities: ${what}`);
const byteOffset = (text: string, index: number): number => Buffer.byteLength(text.slice(0, index), 'utf8');

function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return entities.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Parses `text` with `parseMode` (case-insensitive; empty or absent means plain text). */
export function parseFormatted(text: string, parseMode: string | undefined): FormattedText {
  const mode = (parseMode ?? '').toLowerCase();
  if (mode === '') return { text, entities: [] };
  if (mode === 'html') return parseHtml(text);
  if (mode === 'markdownv2') return parseMarkdownV2(text);
  if (mode === 'markdown') return parseMarkdown(text);
  throw new ApiError(400, 'Bad Request: unsupported parse_mode');
}

// ---------------------------------------------------------------- HTML

const HTML_TAGS: Record<string, MessageEntity['type'] | 'span' | 'a' | 'pre' | 'code' | 'blockquote' | 'tg-emoji'> = {
  b: 'bold', strong: 'bold', i: 'italic', em: 'italic', u: 'underline', ins: 'underline',
  s: 'strikethrough', strike: 'strikethrough', del: 'strikethrough', 'tg-spoiler': 'spoiler',
  span: 'span', a: 'a', code: 'code', pre: 'pre', blockquote: 'blockquote', 'tg-emoji': 'tg-emoji',
};

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };

interface OpenTag {
  name: string;
  start: number;
  attrs: Record<string, string>;
}

/** Parses Telegram's HTML subset. */
export function parseHtml(text: string): FormattedText {
  let out = '';
  const stack: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '&') {
      const m = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/.exec(text.slice(i, i + 12));
      if (m) {
        const ref = m[1]!;
        const decoded = ref.startsWith('#x') ? String.fromCodePoint(parseInt(ref.slice(2), 16))
          : ref.startsWith('#') ? String.fromCodePoint(Number(ref.slice(1)))
            : NAMED_ENTITIES[ref.toLowerCase()];
        if (decoded !== undefined) {
          out += decoded;
          i += m[0].length;
          continue;
        }
      }
      out += c;
      i++;
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const tagAt = byteOffset(text, i);
    const close = text.indexOf('>', i);
    if (text[i + 1] === '/') {
      if (close < 0) throw entityError(`Unclosed end tag at byte offset ${tagAt}`);
      const name = text.slice(i + 2, close).trim().toLowerCase();
      const open = stack.pop();
      if (!open) throw entityError(`Unexpected end tag at byte offset ${tagAt}`);
      if (open.name !== name) throw entityError(`Unmatched end tag at byte offset ${tagAt}, expected "</${open.name}>", found "</${name}>"`);
      closeTag(open, out, entities, stack);
      i = close + 1;
      continue;
    }
    const nameMatch = /^[a-zA-Z][a-zA-Z0-9-]*/.exec(text.slice(i + 1));
    const name = (nameMatch?.[0] ?? '').toLowerCase();
    if (!(name in HTML_TAGS)) throw entityError(`Unsupported start tag "${name}" at byte offset ${tagAt}`);
    if (close < 0) throw entityError(`Unclosed start tag at byte offset ${tagAt}`);
    const attrs: Record<string, string> = {};
    const attrText = text.slice(i + 1 + name.length, close);
    const attrRe = /\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/y;
    let pos = 0;
    while (pos < attrText.trimEnd().length) {
      attrRe.lastIndex = pos;
      const a = attrRe.exec(attrText);
      if (!a || a[0].length === 0) throw entityError(`Expected equal sign in declaration of an attribute of the tag at byte offset ${tagAt}`);
      attrs[a[1]!.toLowerCase()] = decodeAttr(a[2] ?? a[3] ?? a[4] ?? '');
      pos = attrRe.lastIndex;
    }
    if (name === 'span' && attrs.class !== 'tg-spoiler') throw entityError(`Tag "span" must have class "tg-spoiler" at byte offset ${tagAt}`);
    if (name === 'tg-emoji' && !/^\d+$/.test(attrs['emoji-id'] ?? '')) throw entityError(`Custom emoji identifier must be non-empty at byte offset ${tagAt}`);
    stack.push({ name, start: out.length, attrs });
    i = close + 1;
  }
  const unclosed = stack.pop();
  if (unclosed) throw entityError(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  return { text: out, entities: sortEntities(entities) };
}

function decodeAttr(v: string): string {
  return v.replace(/&(lt|gt|amp|quot);/g, (_m, n: string) => NAMED_ENTITIES[n] ?? '');
}

function closeTag(open: OpenTag, out: string, entities: MessageEntity[], stack: OpenTag[]): void {
  const offset = open.start;
  const length = out.length - offset;
  const kind = HTML_TAGS[open.name]!;
  switch (kind) {
    case 'span':
      entities.push({ type: 'spoiler', offset, length });
      return;
    case 'a': {
      const href = open.attrs.href;
      if (href) entities.push({ type: 'text_link', offset, length, url: href });
      return;
    }
    case 'tg-emoji':
      entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: open.attrs['emoji-id'] ?? '' });
      return;
    case 'blockquote':
      entities.push({ type: 'expandable' in open.attrs ? 'expandable_blockquote' : 'blockquote', offset, length });
      return;
    case 'code': {
      // <pre><code class="language-x"> is one pre entity with a language.
      const parent = stack[stack.length - 1];
      const lang = /^language-(.+)$/.exec(open.attrs.class ?? '')?.[1];
      if (parent?.name === 'pre' && parent.start === offset) {
        if (lang) parent.attrs.language = lang;
        return;
      }
      entities.push({ type: 'code', offset, length });
      return;
    }
    case 'pre':
      entities.push(open.attrs.language ? { type: 'pre', offset, length, language: open.attrs.language } : { type: 'pre', offset, length });
      return;
    default:
      entities.push({ type: kind, offset, length });
  }
}

// ---------------------------------------------------------------- MarkdownV2

type MdType = 'Bold' | 'Italic' | 'Underline' | 'Strikethrough' | 'Spoiler' | 'Code' | 'Pre' | 'TextUrl' | 'CustomEmoji';

const MD_ENTITY: Record<MdType, MessageEntity['type']> = {
  Bold: 'bold', Italic: 'italic', Underline: 'underline', Strikethrough: 'strikethrough', Spoiler: 'spoiler',
  Code: 'code', Pre: 'pre', TextUrl: 'text_link', CustomEmoji: 'custom_emoji',
};

const RESERVED_V2 = new Set('_*[]()~`>#+-=|{}.!');

interface OpenMd {
  type: MdType;
  start: number;
  byteAt: number;
  language?: string;
}

/** Parses MarkdownV2 (every reserved character outside an entity must be escaped with `\`). */
export function parseMarkdownV2(text: string): FormattedText {
  let out = '';
  const stack: OpenMd[] = [];
  const entities: MessageEntity[] = [];
  let quoteStart: number | undefined;
  const reserved = (ch: string): ApiError => entityError(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    const inCode = top?.type === 'Code' || top?.type === 'Pre';
    if (c === '\\' && i + 1 < text.length && text.charCodeAt(i + 1) <= 126) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (!inCode && c === '>' && (i === 0 || text[i - 1] === '\n')) {
      quoteStart ??= out.length;
      i++;
      continue;
    }
    if (c === '\n' && quoteStart !== undefined && text[i + 1] !== '>') {
      entities.push({ type: 'blockquote', offset: quoteStart, length: out.length - quoteStart });
      quoteStart = undefined;
    }
    if (inCode && c !== '`') {
      out += c;
      i++;
      continue;
    }
    if (!RESERVED_V2.has(c)) {
      out += c;
      i++;
      continue;
    }
    const isEnd = top !== undefined && (
      (top.type === 'Bold' && c === '*')
      || (top.type === 'Italic' && c === '_' && text[i + 1] !== '_')
      || (top.type === 'Code' && c === '`')
      || (top.type === 'Pre' && text.startsWith('```', i))
      || ((top.type === 'TextUrl' || top.type === 'CustomEmoji') && c === ']')
      || (top.type === 'Underline' && text.startsWith('__', i))
      || (top.type === 'Strikethrough' && c === '~')
      || (top.type === 'Spoiler' && text.startsWith('||', i)));
    const byteAt = byteOffset(text, i);
    if (!isEnd) {
      let type: MdType;
      switch (c) {
        case '_':
          if (text[i + 1] === '_') {
            type = 'Underline';
            i++;
          } else type = 'Italic';
          break;
        case '*': type = 'Bold'; break;
        case '~': type = 'Strikethrough'; break;
        case '|':
          if (text[i + 1] !== '|') throw reserved(c);
          type = 'Spoiler';
          i++;
          break;
        case '[': type = 'TextUrl'; break;
        case '!':
          if (text[i + 1] !== '[') throw reserved(c);
          type = 'CustomEmoji';
          i++;
          break;
        case '`':
          if (text.startsWith('```', i)) {
            type = 'Pre';
            i += 2;
          } else type = 'Code';
          break;
        default:
          throw reserved(c);
      }
      i++;
      const open: OpenMd = { type, start: out.length, byteAt };
      if (type === 'Pre') {
        const lineEnd = text.indexOf('\n', i);
        const first = lineEnd < 0 ? '' : text.slice(i, lineEnd);
        if (lineEnd >= 0 && /^[^\s`\\]+$/.test(first)) {
          open.language = first;
          i = lineEnd + 1;
        } else if (text[i] === '\n') i++;
      }
      stack.push(open);
      continue;
    }
    stack.pop();
    const offset = top.start;
    const length = out.length - offset;
    i += top.type === 'Underline' || top.type === 'Spoiler' ? 2 : top.type === 'Pre' ? 3 : 1;
    if (top.type === 'TextUrl' || top.type === 'CustomEmoji') {
      let url = '';
      if (text[i] === '(') {
        i++;
        let closed = false;
        while (i < text.length) {
          const ch = text[i]!;
          if (ch === '\\' && i + 1 < text.length) {
            url += text[i + 1];
            i += 2;
            continue;
          }
          if (ch === ')') {
            closed = true;
            i++;
            break;
          }
          url += ch;
          i++;
        }
        if (!closed) throw entityError(`Can't find end of a URL at byte offset ${byteOffset(text, i)}`);
      } else url = out.slice(offset);
      if (top.type === 'CustomEmoji') {
        const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(url)?.[1];
        if (!id) throw entityError(`Custom emoji entity must contain a tg://emoji URL`);
        entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: id });
      } else if (url) entities.push({ type: 'text_link', offset, length, url });
      continue;
    }
    if (top.type === 'Pre') entities.push(top.language ? { type: 'pre', offset, length, language: top.language } : { type: 'pre', offset, length });
    else entities.push({ type: MD_ENTITY[top.type], offset, length });
  }
  const unclosed = stack.pop();
  if (unclosed) throw entityError(`Can't find end of ${unclosed.type} entity at byte offset ${unclosed.byteAt}`);
  if (quoteStart !== undefined) entities.push({ type: 'blockquote', offset: quoteStart, length: out.length - quoteStart });
  return { text: out, entities: sortEntities(entities) };
}

// ---------------------------------------------------------------- legacy Markdown

/** Parses the legacy `Markdown` mode: *bold*, _italic_, `code`, ```pre``` and [text](url). */
export function parseMarkdown(text: string): FormattedText {
  let out = '';
  const entities: MessageEntity[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && '_*`['.includes(text[i + 1] ?? '')) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (!'_*`['.includes(c)) {
      out += c;
      i++;
      continue;
    }
    const byteAt = byteOffset(text, i);
    const fail = (): never => {
      throw entityError(`Can't find end of the entity starting at byte offset ${byteAt}`);
    };
    if (c === '[') {
      const end = text.indexOf(']', i + 1);
      if (end < 0) fail();
      const label = text.slice(i + 1, end);
      const start = out.length;
      out += label;
      if (text[end + 1] === '(') {
        const urlEnd = text.indexOf(')', end + 2);
        if (urlEnd < 0) fail();
        entities.push({ type: 'text_link', offset: start, length: label.length, url: text.slice(end + 2, urlEnd) });
        i = urlEnd + 1;
      } else i = end + 1;
      continue;
    }
    const marker = c === '`' && text.startsWith('```', i) ? '```' : c;
    const end = text.indexOf(marker, i + marker.length);
    if (end < 0) fail();
    const inner = text.slice(i + marker.length, end);
    const start = out.length;
    out += inner;
    const type: MessageEntity['type'] = marker === '```' ? 'pre' : c === '`' ? 'code' : c === '*' ? 'bold' : 'italic';
    entities.push({ type, offset: start, length: inner.length });
    i = end + marker.length;
  }
  return { text: out, entities: sortEntities(entities) };
}

/** Bot commands, URLs, mentions and hashtags Telegram finds in a user's plain text (never overlapping). */
export function detectEntities(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  const patterns: [RegExp, MessageEntity['type']][] = [
    [/\bhttps?:\/\/[^\s]+/g, 'url'],
    [/(?<![\w/])\/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/])/g, 'bot_command'],
    [/(?<!\w)@[a-zA-Z0-9_]{5,32}(?!\w)/g, 'mention'],
    [/(?<!\w)#[\p{L}0-9_]+/gu, 'hashtag'],
  ];
  for (const [re, type] of patterns) {
    for (const m of text.matchAll(re)) {
      const [start, end] = [m.index, m.index + m[0].length];
      if (entities.some((e) => start < e.offset + e.length && e.offset < end)) continue;
      entities.push({ type, offset: start, length: m[0].length });
    }
  }
  return sortEntities(entities);
}
