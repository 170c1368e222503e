// Long texts for Telegram: at most 4096 characters a message, split where a reader
// expects it (a paragraph, a line, a word) and never inside HTML markup; HTML tags open
// at a cut are closed before it and opened again after it, so each part parses alone.

/** Telegram's limit on a message text (after entity parsing; raw text under it is safe). */
export const TELEGRAM_TEXT_LIMIT = 4096;

const TAG = /<\/?([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>/g;

/** The best cut at or before `max`: after a blank line, a newline, a space; else at `max`. */
function cutAt(text: string, max: number, forbidden: (i: number) => boolean): number {
  if (text.length <= max) return text.length;
  const window = text.slice(0, max + 1);
  for (const sep of ['\n\n', '\n', ' ']) {
    for (let i = window.lastIndexOf(sep); i > max / 2; i = window.lastIndexOf(sep, i - 1)) {
      const cut = i + sep.length;
      if (cut <= max && !forbidden(cut)) return cut;
    }
  }
  for (let cut = max; cut > max / 2; cut--) {
    if (!forbidden(cut) && !/[\uDC00-\uDFFF]/.test(text[cut] ?? '')) return cut;
  }
  return max;
}

/** Open HTML tags at the end of `html` (innermost last), as their opening markup. */
function openTags(html: string): Array<{ name: string; open: string }> {
  const stack: Array<{ name: string; open: string }> = [];
  for (const m of html.matchAll(TAG)) {
    const name = (m[1] ?? '').toLowerCase();
    if (m[0].startsWith('</')) {
      const at = stack.map((t) => t.name).lastIndexOf(name);
      if (at >= 0) stack.splice(at);
    } else stack.push({ name, open: m[0] });
  }
  return stack;
}

/**
 * Splits a text into parts of at most `limit` characters. For HTML, a cut never falls
 * inside a tag or an entity (`&amp;`), and tags open at a cut are closed and reopened.
 */
export function splitText(text: string, format: 'plain' | 'markdown' | 'html', limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let rest = text;
  let reopen = '';
  while (rest.length > 0) {
    const body = reopen + rest;
    if (body.length <= limit) {
      parts.push(body);
      break;
    }
    if (format !== 'html') {
      // MarkdownV2: never cut right after an escaping backslash.
      const cut = cutAt(body, limit, (i) => format === 'markdown' && body[i - 1] === '\\');
      parts.push(body.slice(0, cut).trimEnd());
      rest = body.slice(cut).trimStart();
      reopen = '';
      continue;
    }
    // Room for the closing tags of what is open at the cut.
    const reserve = 100;
    const inside = (i: number) => {
      const before = body.slice(0, i);
      return before.lastIndexOf('<') > before.lastIndexOf('>') || before.lastIndexOf('&') > before.lastIndexOf(';');
    };
    const cut = cutAt(body, limit - reserve, inside);
    const head = body.slice(0, cut);
    const open = openTags(head);
    parts.push(head.trimEnd() + open.map((t) => `</${t.name}>`).reverse().join(''));
    reopen = open.map((t) => t.open).join('');
    rest = body.slice(cut).trimStart();
  }
  return parts.filter((p) => p.length > 0);
}
