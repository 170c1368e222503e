import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot, InputFile, webhookCallback } from 'grammy';
import { TelegramTestServer } from '../support/telegram/index.ts';

let server: TelegramTestServer;

beforeAll(async () => {
  server = await TelegramTestServer.start({ webhookRetryDelaysMs: [50, 100] });
});

afterAll(async () => {
  await server.close();
});

const grammyBot = (token: string): Bot => new Bot(token, { client: { apiRoot: server.apiRoot } });

/** A 2×3 PNG (only the header matters for the sizes Telegram reports). */
const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000020000000308060000009d1f8d5a', 'hex'),
  Buffer.from('0000000049454e44ae426082', 'hex'),
]);

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ http: Server; url: string }> {
  const http = createServer(handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

describe('Bot API test server: webhooks', () => {
  it('posts updates with the secret token header, retries while the webhook fails, and reports the error', async () => {
    const info = server.createBot({ username: 'webhook_bot' });
    const alice = server.createUser({ first_name: 'Alice' });
    const bot = grammyBot(info.token);
    bot.on('message:text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`));
    const seen: IncomingHttpHeaders[] = [];
    const callback = webhookCallback(bot, 'http', { secretToken: 'right_secret-1' });
    const hook = await listen((req, res) => {
      seen.push(req.headers);
      void callback(req, res);
    });
    try {
      await bot.api.setWebhook(`${hook.url}/hook`, { secret_token: 'wrong_secret' });
      alice.send(info, 'first');
      // grammY answers 401 to the wrong secret; the server keeps the update and retries.
      await server.waitFor(() => (server.bot(info).webhook?.failures ?? 0) >= 2, { what: 'two failed delivery attempts' });
      expect(await bot.api.getWebhookInfo()).toMatchObject({ url: `${hook.url}/hook`, pending_update_count: 1, last_error_message: 'Wrong response from the webhook: 401 Unauthorized' });
      expect(seen.every((h) => h['x-telegram-bot-api-secret-token'] === 'wrong_secret')).toBe(true);
      expect(alice.messagesFrom(info)).toEqual([]);

      await bot.api.setWebhook(`${hook.url}/hook`, { secret_token: 'right_secret-1' });
      expect((await alice.nextMessage()).text).toBe('echo: first');
      alice.send(info, 'second');
      expect((await alice.nextMessage()).text).toBe('echo: second');
      expect(seen.at(-1)?.['x-telegram-bot-api-secret-token']).toBe('right_secret-1');
      expect(seen.at(-1)?.['content-type']).toBe('application/json');
      await server.waitFor(() => server.pendingUpdates(info).length === 0, { what: 'the queue to drain' });
      expect((await bot.api.getWebhookInfo()).pending_update_count).toBe(0);
    } finally {
      hook.http.close();
    }
  });

  it('keeps updates while the webhook is unreachable and hands them to getUpdates once it is deleted', async () => {
    const info = server.createBot({ username: 'unreachable_bot' });
    const bob = server.createUser({ first_name: 'Bob' });
    const bot = grammyBot(info.token);
    const gone = await listen(() => undefined);
    const url = gone.url;
    await new Promise((resolve) => gone.http.close(resolve));
    await bot.api.setWebhook(`${url}/hook`);
    bob.send(info, 'anyone?');
    const lastError = await server.waitFor(() => server.bot(info).webhook?.lastErrorMessage, { what: 'a failed delivery' });
    expect(lastError).toBe('Connection refused');
    await expect(bot.api.setWebhook('http://203.0.113.7/hook')).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook' });
    await expect(bot.api.setWebhook(`${url}/hook`, { secret_token: 'no spaces allowed' })).rejects.toMatchObject({ description: 'Bad Request: secret token contains unallowed characters' });
    await bot.api.deleteWebhook();
    expect((await bot.api.getUpdates()).map((u) => u.message?.text)).toEqual(['anyone?']);
  });
});

describe('Bot API test server: files', () => {
  it('takes a multipart upload from grammY, reports the photo sizes and serves the bytes through getFile', async () => {
    const info = server.createBot({ username: 'photo_bot' });
    const alice = server.createUser({ first_name: 'Alice' });
    const bot = grammyBot(info.token);
    alice.send(info, 'hi');
    const sent = await bot.api.sendPhoto(alice.id, new InputFile(PNG, 'pic.png'), { caption: '<i>a picture</i>', parse_mode: 'HTML' });
    expect(sent.photo?.[0]).toMatchObject({ width: 2, height: 3, file_size: PNG.length });
    expect(sent.caption).toBe('a picture');
    expect(sent.caption_entities).toEqual([{ type: 'italic', offset: 0, length: 9 }]);
    const file = await bot.api.getFile(sent.photo![0]!.file_id);
    expect(file.file_path).toMatch(/^photos\/file_\d+\.jpg$/);
    const download = await fetch(`${server.apiRoot}/file/bot${info.token}/${file.file_path}`);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(PNG);
    expect((await fetch(`${server.apiRoot}/file/bot${info.token}/photos/nope.jpg`)).status).toBe(404);
    expect((await fetch(`${server.apiRoot}/file/bot1:wrong/${file.file_path}`)).status).toBe(401);

    // The same file again by file_id, a document from a URL, a voice upload.
    const again = await bot.api.sendPhoto(alice.id, sent.photo![0]!.file_id);
    expect(again.photo?.[0]?.file_id).toBe(sent.photo![0]!.file_id);
    const origin = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end('%PDF-1.4 test');
    });
    try {
      const doc = await bot.api.sendDocument(alice.id, `${origin.url}/files/report.pdf`);
      expect(doc.document).toMatchObject({ file_name: 'report.pdf', mime_type: 'application/pdf', file_size: 13 });
    } finally {
      origin.http.close();
    }
    const voice = await bot.api.sendVoice(alice.id, new InputFile(Buffer.from('OggS voice'), 'note.ogg'), { duration: 2 });
    expect(voice.voice).toMatchObject({ duration: 2, file_size: 10 });
    await expect(bot.api.sendPhoto(alice.id, 'not-a-file-id')).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: wrong file identifier/HTTP URL specified' });
    await expect(bot.api.sendPhoto(alice.id, voice.voice!.file_id)).rejects.toMatchObject({ description: "Bad Request: can't use file of type Document as Photo" });
    const transcript = server.transcript(info, alice.chat).filter((e) => e.from === 'bot');
    expect(transcript.map((e) => Object.keys(e.message).find((k) => ['photo', 'document', 'voice'].includes(k)))).toEqual(['photo', 'photo', 'document', 'voice']);
  });

  it('gives the bot what a user sends: photo, document, voice, contact and location, downloadable by file_id', async () => {
    const info = server.createBot({ username: 'inbox_bot' });
    const carol = server.createUser({ first_name: 'Carol' });
    const bot = grammyBot(info.token);
    carol.sendPhoto(info, { bytes: PNG, caption: 'look' });
    carol.sendDocument(info, { bytes: Buffer.from('a,b\n1,2\n'), fileName: 'data.csv', mimeType: 'text/csv' });
    carol.sendVoice(info, { bytes: Buffer.from('OggS'), duration: 3 });
    carol.sendContact(info, { phone_number: '+15550100' });
    carol.sendLocation(info, { latitude: 52.52, longitude: 13.405 });
    const updates = await bot.api.getUpdates();
    const [photo, doc, voice, contact, location] = updates.map((u) => u.message!);
    expect(photo!.caption).toBe('look');
    expect(doc!.document).toMatchObject({ file_name: 'data.csv', mime_type: 'text/csv' });
    expect(voice!.voice?.duration).toBe(3);
    expect(contact!.contact).toEqual({ phone_number: '+15550100', first_name: 'Carol', user_id: carol.id });
    expect(location!.location).toEqual({ latitude: 52.52, longitude: 13.405 });
    const file = await bot.api.getFile(photo!.photo!.at(-1)!.file_id);
    const bytes = Buffer.from(await (await fetch(`${server.apiRoot}/file/bot${info.token}/${file.file_path}`)).arrayBuffer());
    expect(bytes).toEqual(PNG);
    await expect(bot.api.getFile('nope')).rejects.toMatchObject({ description: 'Bad Request: invalid file_id' });
  });
});

describe('Bot API test server: the HTTP protocol', () => {
  it('takes GET, form-encoded and hand-made multipart calls with attach://, and answers Telegram-shaped errors', async () => {
    const info = server.createBot({ username: 'wire_bot' });
    const dave = server.createUser({ first_name: 'Dave' });
    dave.send(info, 'hello');
    const base = `${server.apiRoot}/bot${info.token}`;
    expect(await (await fetch(`${base}/getMe`)).json()).toEqual({
      ok: true,
      result: { id: info.id, is_bot: true, first_name: 'wire', username: 'wire_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false },
    });
    // Method names are case-insensitive; query string and form body mix.
    const form = await fetch(`${base}/SENDMESSAGE?chat_id=${dave.id}`, {
      method: 'POST',
      body: new URLSearchParams({ text: 'from a form', reply_markup: JSON.stringify({ keyboard: [['Yes', { text: 'Share phone', request_contact: true }]], resize_keyboard: true }) }),
    });
    expect(await form.json()).toMatchObject({ ok: true, result: { text: 'from a form', chat: { id: dave.id, type: 'private' } } });
    const last = server.transcript(info, dave.chat).at(-1)!;
    expect(last.markup).toEqual({ keyboard: [[{ text: 'Yes' }, { text: 'Share phone', request_contact: true }]], resize_keyboard: true });
    expect(last.message.reply_markup).toBeUndefined();

    const multipart = new FormData();
    multipart.set('chat_id', String(dave.id));
    multipart.set('document', 'attach://notes');
    multipart.set('notes', new Blob(['some notes'], { type: 'text/plain' }), 'notes.txt');
    const upload = await (await fetch(`${base}/sendDocument`, { method: 'POST', body: multipart })).json();
    expect(upload).toMatchObject({ ok: true, result: { document: { file_name: 'notes.txt', mime_type: 'text/plain', file_size: 10 } } });

    expect(await (await fetch(`${server.apiRoot}/bot123:nope/getMe`)).json()).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    const unknown = await fetch(`${base}/sendHologram`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    const badJson = await fetch(`${base}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"chat_id":' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ ok: false, error_code: 400, description: "Bad Request: can't parse JSON object" });
  });
});
