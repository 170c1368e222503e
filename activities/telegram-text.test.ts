import { describe, expect, it } from 'vitest';
import { splitText } from './telegram-text.ts';
import { partsOf } from './telegram.ts';

describe('splitText', () => {
  it('keeps a text within the limit whole', () => {
    expect(splitText('short', 'plain', 10)).toEqual(['short']);
  });

  it('splits on word boundaries, preferring paragraphs and lines', () => {
    const text = `${'word '.repeat(30).trim()}\n\n${'more '.repeat(30).trim()}`;
    const parts = splitText(text, 'plain', 200);
    expect(parts.every((p) => p.length <= 200)).toBe(true);
    expect(parts[0]).toBe('word '.repeat(30).trim());
    expect(parts.join(' ').split(/\s+/)).toEqual(text.split(/\s+/));
  });

  it('never cuts inside an HTML tag or entity, and closes and reopens tags across the cut', () => {
    const text = `<b>${'bold &amp; words '.repeat(40)}</b>`;
    const parts = splitText(text, 'html', 300);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(300);
      expect(part.startsWith('<b>')).toBe(true);
      expect(part.endsWith('</b>')).toBe(true);
      expect(part).not.toMatch(/&[a-z]*$|<[^>]*$/);
    }
  });

  it('does not cut right after a MarkdownV2 escape', () => {
    const text = `${'a'.repeat(9)}\\.${'b'.repeat(20)}`;
    for (const part of splitText(text, 'markdown', 10)) expect(part.endsWith('\\')).toBe(false);
  });
});

describe('partsOf', () => {
  it('puts the inline keyboard with button ids as callback_data on the last part, and maps the format', () => {
    const parts = partsOf('42', { id: 'm1', nodeId: 'n', text: 'x'.repeat(5000), format: 'markdown', buttons: { kind: 'inline', rows: [[{ id: 'yes', text: 'Yes' }, { id: 'site', text: 'Site', url: 'https://example.com' }]] } }, false);
    expect(parts).toHaveLength(2);
    expect(parts[0]?.payload).toMatchObject({ chat_id: '42', parse_mode: 'MarkdownV2' });
    expect(parts[0]?.payload.reply_markup).toBeUndefined();
    expect(parts[1]?.payload.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Yes', callback_data: 'yes' }, { text: 'Site', url: 'https://example.com' }]] });
  });

  it('sends reply keyboards, and removes one that a reply without it leaves behind', () => {
    const reply = partsOf('42', { id: 'm1', nodeId: 'n', text: 'Pick', format: 'plain', buttons: { kind: 'reply', oneTime: true, rows: [[{ id: 'a', text: 'A' }]] } }, false);
    expect(reply[0]?.payload.reply_markup).toEqual({ keyboard: [[{ text: 'A' }]], resize_keyboard: true, one_time_keyboard: true });
    const after = partsOf('42', { id: 'm2', nodeId: 'n', text: 'Thanks', format: 'plain' }, true);
    expect(after[0]?.payload.reply_markup).toEqual({ remove_keyboard: true });
    expect(after[0]?.payload.parse_mode).toBeUndefined();
  });
});
