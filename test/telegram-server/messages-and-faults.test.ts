import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bot, GrammyError, HttpError } from 'grammy';
import { TelegramTestServer, type TestBot, type TestUser } from '../support/telegram/index.ts';

let server: TelegramTestServer;
let info: TestBot;
let alice: TestUser;
let bot: Bot;

beforeAll(async () => {
  server = await TelegramTestServer.start();
  info = server.createBot({ username: 'limits_bot' });
  alice = server.createUser({ first_name: 'Alice', username: 'alice_t' });
  alice.send(info, 'hi');
  bot = new Bot(info.token, { client: { apiRoot: server.apiRoot } });
});

afterEach(() => {
  server.faults.clear();
  server.setQuirks({});
});

afterAll(async () => {
  await server.close();
});

const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (err: unknown) => err);

describe('Bot API test server: texts and markup', () => {
  it('parses HTML and MarkdownV2 into entities with UTF-16 offsets', async () => {
    const html = await bot.api.sendMessage(alice.id, '🙂 <b>bold <i>both</i></b> &lt;tag&gt; <a href="https://example.org/">link</a> <pre><code class="language-ts">x</code></pre>', { parse_mode: 'HTML' });
    expect(html.text).toBe('🙂 bold both <tag> link x');
    expect(html.entities).toEqual([
      { type: 'bold', offset: 3, length: 9 },
      { type: 'italic', offset: 8, length: 4 },
      { type: 'text_link', offset: 19, length: 4, url: 'https://example.org/' },
      { type: 'pre', offset: 24, length: 1, language: 'ts' },
    ]);
    const md = await bot.api.sendMessage(alice.id, '*Hi* _there_ __u__ ~s~ ||sp|| `c` [site](https://example.org/a\\)b) 1\\.5\\!', { parse_mode: 'MarkdownV2' });
    expect(md.text).toBe('Hi there u s sp c site 1.5!');
    expect(md.entities?.map((e) => e.type)).toEqual(['bold', 'italic', 'underline', 'strikethrough', 'spoiler', 'code', 'text_link']);
    expect(md.entities?.at(-1)).toEqual({ type: 'text_link', offset: 18, length: 4, url: 'https://example.org/a)b' });
  });

  it('answers malformed HTML and MarkdownV2 with 400 "can\'t parse entities" naming the byte offset', async () => {
    const cases: [string, 'HTML' | 'MarkdownV2', string][] = [
      ['<b>x</i>', 'HTML', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
      ['<b>open', 'HTML', 'Can\'t find end tag corresponding to start tag "b"'],
      ['a <blink>b</blink>', 'HTML', 'Unsupported start tag "blink" at byte offset 2'],
      ['é</b>', 'HTML', 'Unexpected end tag at byte offset 2'],
      ['Total: 5.', 'MarkdownV2', "Character '.' is reserved and must be escaped with the preceding '\\'"],
      ['ok *bold', 'MarkdownV2', "Can't find end of Bold entity at byte offset 3"],
    ];
    for (const [text, parse_mode, what] of cases) {
      const err = await rejection(bot.api.sendMessage(alice.id, text, { parse_mode }));
      expect(err, text).toBeInstanceOf(GrammyError);
      expect(err, text).toMatchObject({ error_code: 400, description: `Bad Request: can't parse entities: ${what}` });
    }
  });

  it('enforces 4096 characters per text, 1–64 bytes of callback_data and valid keyboards', async () => {
    expect((await bot.api.sendMessage(alice.id, 'x'.repeat(4096))).text).toHaveLength(4096);
    await expect(bot.api.sendMessage(alice.id, 'x'.repeat(4097))).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: message is too long' });
    // Markup characters do not count: 4096 characters after parsing.
    expect((await bot.api.sendMessage(alice.id, `<b>${'y'.repeat(4096)}</b>`, { parse_mode: 'HTML' })).text).toHaveLength(4096);
    await expect(bot.api.sendMessage(alice.id, '   ')).rejects.toMatchObject({ description: 'Bad Request: message text is empty' });
    const ok = await bot.api.sendMessage(alice.id, 'pick', { reply_markup: { inline_keyboard: [[{ text: 'ё', callback_data: 'ё'.repeat(32) }]] } });
    expect(ok.reply_markup?.inline_keyboard[0]?.[0]).toEqual({ text: 'ё', callback_data: 'ё'.repeat(32) });
    await expect(bot.api.sendMessage(alice.id, 'pick', { reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'x'.repeat(65) }]] } })).rejects.toMatchObject({ description: 'Bad Request: BUTTON_DATA_INVALID' });
    await expect(bot.api.sendMessage(alice.id, 'pick', { reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: '' }]] } })).rejects.toMatchObject({ description: 'Bad Request: BUTTON_DATA_INVALID' });
    await expect(bot.api.sendMessage(alice.id, 'pick', { reply_markup: { inline_keyboard: [[{ text: 'plain' } as never]] } })).rejects.toMatchObject({ description: 'Bad Request: text buttons are unallowed in the inline keyboard' });
    const removed = await bot.api.sendMessage(alice.id, 'bye keyboard', { reply_markup: { remove_keyboard: true } });
    expect(server.transcript(info, alice.chat).find((e) => e.message.message_id === removed.message_id)?.markup).toEqual({ remove_keyboard: true });
    await expect(bot.api.sendMessage('@nobody_here', 'hi')).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: chat not found' });
    expect((await bot.api.sendMessage('@alice_t', 'by username')).chat.id).toBe(alice.id);
  });

  it('edits and deletes messages the way Telegram does, including "message is not modified"', async () => {
    const sent = await bot.api.sendMessage(alice.id, 'v1', { reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] } });
    const edited = await bot.api.editMessageText(alice.id, sent.message_id, '<b>v2</b>', { parse_mode: 'HTML', reply_markup: { inline_keyboard: [[{ text: 'Again', callback_data: 'again' }]] } });
    expect(edited).toMatchObject({ text: 'v2', entities: [{ type: 'bold', offset: 0, length: 2 }], reply_markup: { inline_keyboard: [[{ text: 'Again', callback_data: 'again' }]] } });
    await expect(bot.api.editMessageText(alice.id, sent.message_id, '<b>v2</b>', { parse_mode: 'HTML', reply_markup: { inline_keyboard: [[{ text: 'Again', callback_data: 'again' }]] } }))
      .rejects.toMatchObject({ description: expect.stringMatching(/^Bad Request: message is not modified/) as unknown });
    const unmarked = await bot.api.editMessageReplyMarkup(alice.id, sent.message_id);
    expect(unmarked).toMatchObject({ text: 'v2' });
    expect((unmarked as { reply_markup?: unknown }).reply_markup).toBeUndefined();
    const entry = server.transcript(info, alice.chat).find((e) => e.message.message_id === sent.message_id)!;
    expect(entry.versions.map((v) => v.text)).toEqual(['v1', 'v2', 'v2']);
    const userMessage = server.transcript(info, alice.chat)[0]!.message;
    await expect(bot.api.editMessageText(alice.id, userMessage.message_id, 'mine now')).rejects.toMatchObject({ description: "Bad Request: message can't be edited" });
    expect(await bot.api.deleteMessage(alice.id, sent.message_id)).toBe(true);
    expect(entry.deleted).toBe(true);
    await expect(bot.api.deleteMessage(alice.id, sent.message_id)).rejects.toMatchObject({ description: 'Bad Request: message to delete not found' });
    await expect(bot.api.editMessageText(alice.id, sent.message_id, 'v3')).rejects.toMatchObject({ description: 'Bad Request: message to edit not found' });
  });

  it('stores commands per scope and language, and records chat actions', async () => {
    await bot.api.setMyCommands([{ command: 'start', description: 'Begin' }, { command: 'help', description: 'Help' }]);
    await bot.api.setMyCommands([{ command: 'start', description: 'Начать' }], { language_code: 'ru' });
    await bot.api.setMyCommands([{ command: 'admin', description: 'Admin' }], { scope: { type: 'chat', chat_id: alice.id } });
    expect((await bot.api.getMyCommands()).map((c) => c.command)).toEqual(['start', 'help']);
    expect(await bot.api.getMyCommands({ language_code: 'ru' })).toEqual([{ command: 'start', description: 'Начать' }]);
    expect(server.commands(info, { type: 'chat', chat_id: alice.id })).toEqual([{ command: 'admin', description: 'Admin' }]);
    expect(await bot.api.getMyCommands({ scope: { type: 'all_private_chats' } })).toEqual([]);
    await bot.api.deleteMyCommands({ language_code: 'ru' });
    expect(await bot.api.getMyCommands({ language_code: 'ru' })).toEqual([]);
    await expect(bot.api.setMyCommands([{ command: 'Start!', description: 'x' }])).rejects.toMatchObject({ description: 'Bad Request: BOT_COMMAND_INVALID' });
    await expect(bot.api.setMyCommands([{ command: 'x', description: 'y' }], { scope: { type: 'chat', chat_id: 42 } })).rejects.toMatchObject({ description: 'Bad Request: chat not found' });

    await bot.api.sendChatAction(alice.id, 'typing');
    await expect(bot.api.sendChatAction(alice.id, 'juggling' as 'typing')).rejects.toMatchObject({ description: 'Bad Request: wrong parameter action in request' });
    expect(server.chatActions(info, alice.chat)).toEqual(['typing']);
  });
});

describe('Bot API test server: faults', () => {
  it('answers 429 with retry_after for the next N calls of a method, which grammY reports', async () => {
    const fault = server.inject({ method: 'sendMessage', times: 2, fault: { type: 'rate_limit', retryAfter: 7 } });
    for (let i = 0; i < 2; i++) {
      const err = await rejection(bot.api.sendMessage(alice.id, 'flood'));
      expect(err).toBeInstanceOf(GrammyError);
      expect(err).toMatchObject({ error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } });
    }
    expect(fault.hits).toBe(2);
    expect(await bot.api.getMe()).toMatchObject({ id: info.id });
    expect((await bot.api.sendMessage(alice.id, 'after the flood')).text).toBe('after the flood');
  });

  it('answers 403 "bot was blocked by the user" for a user who blocked the bot, and only for them', async () => {
    const bob = server.createUser({ first_name: 'Bob' });
    const stranger = server.createUser({ first_name: 'Stranger' });
    bob.send(info, 'hello');
    bob.block(info);
    await expect(bot.api.sendMessage(bob.id, 'are you there?')).rejects.toMatchObject({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    expect((await bot.api.sendMessage(alice.id, 'still fine')).chat.id).toBe(alice.id);
    await expect(bot.api.sendMessage(stranger.id, 'hi')).rejects.toMatchObject({ error_code: 403, description: "Forbidden: bot can't initiate conversation with a user" });
    expect(server.pendingUpdates(info).map((u) => u.my_chat_member?.new_chat_member.status).filter(Boolean)).toEqual(['kicked']);
    bob.send(info, 'I am back');
    expect((await bot.api.sendMessage(bob.id, 'welcome back')).text).toBe('welcome back');
  });

  it('bursts Telegram-shaped 5xx, slows answers, breaks connections and sends bodies that are not Telegram-shaped', async () => {
    server.inject({ times: 3, fault: { type: 'server_error', status: 502 } });
    for (let i = 0; i < 3; i++) await expect(bot.api.getMe()).rejects.toMatchObject({ error_code: 502, description: 'Bad Gateway' });
    expect((await bot.api.getMe()).id).toBe(info.id);

    server.inject({ method: 'getMe', times: 1, fault: { type: 'slow', delayMs: 300 } });
    const started = Date.now();
    await bot.api.getMe();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    server.inject({ method: 'getMe', times: 1, fault: { type: 'raw', status: 502, body: '<html>nginx</html>', contentType: 'text/html' } });
    expect(await rejection(bot.api.getMe())).toBeInstanceOf(HttpError);
    server.inject({ method: 'getMe', times: 1, fault: { type: 'disconnect' } });
    expect(await rejection(bot.api.getMe())).toBeInstanceOf(HttpError);
    server.inject({ token: 'another-token', fault: { type: 'server_error' } });
    expect((await bot.api.getMe()).id).toBe(info.id);
  });

  it('has a quirky mode: getUpdates ignores timeout, some methods are missing, errors come as HTML', async () => {
    server.setQuirks({ ignoreTimeout: true });
    const started = Date.now();
    expect(await bot.api.getUpdates({ offset: -1, timeout: 20 })).toHaveLength(1);
    await bot.api.getUpdates({ offset: (await bot.api.getUpdates({ offset: -1 }))[0]!.update_id + 1, timeout: 20 });
    expect(Date.now() - started).toBeLessThan(5000);

    server.setQuirks({ missingMethods: ['setMyCommands', 'sendChatAction'] });
    await expect(bot.api.setMyCommands([{ command: 'a', description: 'b' }])).rejects.toMatchObject({ error_code: 404, description: 'Not Found' });
    await expect(bot.api.sendChatAction(alice.id, 'typing')).rejects.toMatchObject({ error_code: 404 });

    server.setQuirks('quirky');
    const res = await fetch(`${server.apiRoot}/bot${info.token}/sendChatAction?chat_id=${alice.id}&action=typing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('<h1>404 Not Found</h1>');
    expect(await rejection(bot.api.sendMessage(alice.id, '<b>', { parse_mode: 'HTML' }))).toBeInstanceOf(HttpError);
  });
});

describe('Bot API test server: send limits', () => {
  it('answers 429 above the per-chat and per-group rates when asked to enforce them', async () => {
    const limited = await TelegramTestServer.start({ sendLimits: 'telegram' });
    try {
      const b = limited.createBot({ username: 'paced_bot' });
      const u = limited.createUser({ first_name: 'Eve' });
      const other = limited.createUser({ first_name: 'Frank' });
      const group = limited.createGroup({ title: 'Busy', members: [u] });
      group.addBot(b, { by: u });
      u.send(b, 'hi');
      other.send(b, 'hi');
      const api = new Bot(b.token, { client: { apiRoot: limited.apiRoot } }).api;
      await api.sendMessage(u.id, 'first');
      await expect(api.sendMessage(u.id, 'second at once')).rejects.toMatchObject({ error_code: 429, parameters: { retry_after: 1 } });
      // Another chat is not affected by the first chat's rate.
      expect((await api.sendMessage(other.id, 'elsewhere')).text).toBe('elsewhere');
      expect(limited.transcript(b, u.chat).filter((e) => e.from === 'bot').map((e) => e.message.text)).toEqual(['first']);
      expect(limited.calls.filter((c) => c.method === 'sendMessage').map((c) => c.status)).toEqual([200, 429, 200]);
    } finally {
      await limited.close();
    }
    const groups = await TelegramTestServer.start({ sendLimits: { perGroupPerMinute: 2 } });
    try {
      const b = groups.createBot({ username: 'group_paced_bot' });
      const u = groups.createUser({ first_name: 'Grace' });
      const group = groups.createGroup({ title: 'Quiet', members: [u] });
      group.addBot(b, { by: u });
      const api = new Bot(b.token, { client: { apiRoot: groups.apiRoot } }).api;
      await api.sendMessage(group.id, 'one');
      await api.sendMessage(group.id, 'two');
      const err = await rejection(api.sendMessage(group.id, 'three'));
      expect(err).toMatchObject({ error_code: 429 });
      expect((err as GrammyError).parameters.retry_after).toBeGreaterThan(55);
    } finally {
      await groups.close();
    }
  });
});
