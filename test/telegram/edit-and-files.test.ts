// Delivery beyond plain sends, through our Bot API test server: a message node with `edit`
// edits the session's last bot message (editMessageText, the message id from the
// telegram_send record), media given as data: URLs are uploaded by multipart (the server
// keeps the bytes), and downloadTelegramFile gets a user's file through getFile and the
// file endpoint, capped in size, without the token in its errors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { downloadTelegramFile, TelegramFileError } from '../../activities/telegram-files.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;

beforeAll(async () => {
  s = await startTelegramStack('tg-edit');
  gateways = await s.gateways();
});

afterAll(async () => {
  await s?.close();
});

const VOICE = Buffer.from('OggS fake opus voice bytes for the test server');

const graph = {
  slug: 'edit-files',
  name: 'Edit and files',
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { kind: 'command', command: '/start' } } },
    { id: 'working', type: 'message', position: { x: 200, y: 0 }, data: { text: 'Working…' } },
    { id: 'done', type: 'message', position: { x: 400, y: 0 }, data: { text: 'Done: <b>2</b> items', format: 'html', edit: true, buttons: { kind: 'inline', rows: [[{ id: 'ok', text: 'OK' }]] } } },
    {
      id: 'files',
      type: 'message',
      position: { x: 600, y: 0 },
      data: {
        text: '',
        media: [
          { kind: 'voice', url: `data:audio/ogg;base64,${VOICE.toString('base64')}` },
          { kind: 'document', url: 'data:text/csv,name%2Cqty%0Aapple%2C2', caption: 'The report' },
        ],
      },
    },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'working' },
    { id: 'e2', source: 'working', target: 'done' },
    { id: 'e3', source: 'done', target: 'files' },
  ],
};

describe('editing, uploading and downloading', () => {
  it('edits the previous bot message and uploads data: URL media by multipart', async () => {
    const chain = await s.publish(graph);
    const bot = s.server.createBot({ username: 'edit_bot' });
    const erin = s.server.createUser({ first_name: 'Erin' });
    const botId = await s.addBot(bot, chain.chainId);
    await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
    erin.sendCommand(bot, '/start');
    await s.server.waitFor(() => (s.server.transcript(bot, erin.chat).filter((e) => e.from === 'bot').length >= 3 ? true : undefined), { what: 'the three bot messages', timeout: 15_000 });
    const sent = s.server.transcript(bot, erin.chat).filter((e) => e.from === 'bot');
    expect(sent).toHaveLength(3);
    const [edited, voice, document] = sent;
    expect(edited?.versions.map((v) => v.text)).toEqual(['Working…', 'Done: 2 items']);
    expect(edited?.message.reply_markup?.inline_keyboard[0]?.map((b) => b.callback_data)).toEqual(['ok']);
    expect(s.server.calls.filter((c) => c.botId === bot.id && c.method === 'editMessageText').map((c) => c.status)).toEqual([200]);
    const voiceFile = s.server.files.get(voice?.message.voice?.file_id ?? '');
    expect(voiceFile?.bytes.equals(VOICE)).toBe(true);
    const csv = s.server.files.get(document?.message.document?.file_id ?? '');
    expect(csv?.bytes.toString('utf8')).toBe('name,qty\napple,2');
    expect(document?.message.document?.file_name).toBe('document.csv');
    expect(document?.message.caption).toBe('The report');
  });

  it('downloads a file a user sent through getFile, capped in size, never naming the token', async () => {
    const chain = await s.publish({ ...graph, slug: 'edit-files-2' });
    const bot = s.server.createBot({ username: 'files_bot' });
    const fay = s.server.createUser({ first_name: 'Fay' });
    const botId = await s.addBot(bot, chain.chainId);
    const bytes = Buffer.from('%PDF-1.4 a small document '.repeat(40));
    const message = fay.sendDocument(bot, { bytes, fileName: 'contract.pdf', mimeType: 'application/pdf' });
    const fileId = message.document?.file_id ?? '';
    const deps = { orm: s.t.h.db.orm, secretBox: s.t.h.secretBox };
    const got = await downloadTelegramFile(deps, botId, fileId);
    expect(got.bytes.equals(bytes)).toBe(true);
    expect(got.filePath).toMatch(/^documents\//);
    const tooBig = await downloadTelegramFile(deps, botId, fileId, { maxBytes: 100 }).catch((err: unknown) => err);
    expect(tooBig).toBeInstanceOf(TelegramFileError);
    expect(String((tooBig as Error).message)).toMatch(/over the 100-byte limit/);
    const unknown = await downloadTelegramFile(deps, botId, 'no-such-file').catch((err: unknown) => err);
    expect(unknown).toBeInstanceOf(TelegramFileError);
    expect((unknown as Error).message).toMatch(/getFile failed: Telegram answered 400/);
    for (const err of [tooBig, unknown]) expect((err as Error).message).not.toContain(bot.token.split(':')[1]);
  });
});
