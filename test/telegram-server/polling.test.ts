import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot, GrammyError, InlineKeyboard } from 'grammy';
import { TelegramTestServer } from '../support/telegram/index.ts';

let server: TelegramTestServer;

beforeAll(async () => {
  server = await TelegramTestServer.start();
});

afterAll(async () => {
  await server.close();
});

const grammyBot = (token: string): Bot => new Bot(token, { client: { apiRoot: server.apiRoot } });

/** Resolves once the bot has a getUpdates call waiting on the server. */
const polling = (token: string): Promise<true> => server.waitFor(() => server.bot(token).poller !== undefined || undefined, { what: 'a pending getUpdates' });

describe('Bot API test server: long polling', () => {
  it('serves a grammY bot started with bot.start(): /start with a payload, inline buttons, the answered press, the edit', async () => {
    const info = server.createBot({ username: 'greeter_bot' });
    const alice = server.createUser({ first_name: 'Alice', language_code: 'en', bot: info });
    const bot = grammyBot(info.token);
    bot.command('start', (ctx) =>
      ctx.reply(`Hello, <b>${ctx.from?.first_name}</b>! payload=${ctx.match} lang=${ctx.from?.language_code}`, {
        parse_mode: 'HTML',
        reply_markup: new InlineKeyboard().text('Yes', 'answer:yes').text('No', 'answer:no'),
      }));
    bot.callbackQuery(/^answer:(.+)$/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: `Noted: ${ctx.match[1]}` });
      await ctx.editMessageText(`You said ${ctx.match[1]}`);
    });
    const running = bot.start({ timeout: 30 });
    try {
      alice.sendCommand('/start ref42');
      const hello = await alice.nextMessage({ timeout: 10_000 });
      expect(hello.text).toBe('Hello, Alice! payload=ref42 lang=en');
      expect(hello.entities).toEqual([{ type: 'bold', offset: 7, length: 5 }]);
      expect(hello.reply_markup?.inline_keyboard[0]?.map((b) => b.callback_data)).toEqual(['answer:yes', 'answer:no']);

      const press = alice.press(hello, 'Yes');
      expect(await press.answered()).toEqual({ text: 'Noted: yes', show_alert: false });
      const entry = await server.waitFor(() => server.transcript(info, alice.chat).find((e) => e.message.message_id === hello.message_id && e.versions.length === 2));
      expect(entry.message.text).toBe('You said yes');
      expect(entry.message.reply_markup).toBeUndefined();
      expect(entry.message.edit_date).toBeTypeOf('number');
      // A query is answered once.
      await expect(bot.api.answerCallbackQuery(press.id)).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: query is too old and response timeout expired or query ID is invalid' });
      expect(() => alice.press(entry, 'answer:no')).toThrow(/has no button "answer:no"; it has no inline buttons/);
    } finally {
      await bot.stop();
      await running;
    }
    // bot.stop() confirmed the updates it handled by offset.
    expect(server.pendingUpdates(info)).toEqual([]);
    expect(server.transcript(info, alice.chat).map((e) => e.from)).toEqual(['user', 'bot']);
  });

  it('holds getUpdates until an update arrives, and answers [] when the timeout passes', async () => {
    const info = server.createBot({ username: 'waiting_bot' });
    const bob = server.createUser({ first_name: 'Bob' });
    const bot = grammyBot(info.token);
    const started = Date.now();
    const pending = bot.api.getUpdates({ timeout: 20 });
    await polling(info.token);
    bob.send(info, 'hi there');
    const updates = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(updates.map((u) => u.message?.text)).toEqual(['hi there']);

    const emptyStart = Date.now();
    expect(await bot.api.getUpdates({ offset: updates[0]!.update_id + 1, timeout: 1 })).toEqual([]);
    expect(Date.now() - emptyStart).toBeGreaterThanOrEqual(900);
    expect(server.pendingUpdates(info)).toEqual([]);
  });

  it('pages with limit, confirms with offset and keeps the last ones with a negative offset', async () => {
    const info = server.createBot({ username: 'paging_bot' });
    const carol = server.createUser({ first_name: 'Carol' });
    const bot = grammyBot(info.token);
    for (const text of ['one', 'two', 'three', 'four']) carol.send(info, text);
    const firstTwo = await bot.api.getUpdates({ limit: 2 });
    expect(firstTwo.map((u) => u.message?.text)).toEqual(['one', 'two']);
    expect(firstTwo[1]!.update_id).toBe(firstTwo[0]!.update_id + 1);
    // Not confirmed yet: the same two again.
    expect((await bot.api.getUpdates({ limit: 2 })).map((u) => u.message?.text)).toEqual(['one', 'two']);
    const rest = await bot.api.getUpdates({ offset: firstTwo[1]!.update_id + 1 });
    expect(rest.map((u) => u.message?.text)).toEqual(['three', 'four']);
    expect((await bot.api.getUpdates({ offset: -1 })).map((u) => u.message?.text)).toEqual(['four']);
    expect(server.pendingUpdates(info)).toHaveLength(1);
  });

  it('delivers only the update types allowed_updates asks for (chat_member only on request)', async () => {
    const info = server.createBot({ username: 'group_bot' });
    const owner = server.createUser({ first_name: 'Owner' });
    const dave = server.createUser({ first_name: 'Dave' });
    const group = server.createGroup({ title: 'Friends', members: [owner] });
    const bot = grammyBot(info.token);
    group.addBot(info, { by: owner, admin: true });
    const added = await bot.api.getUpdates({ allowed_updates: ['my_chat_member', 'chat_member', 'message'] });
    expect(added[0]?.my_chat_member).toMatchObject({ chat: { id: group.id, type: 'group', title: 'Friends' }, old_chat_member: { status: 'left' }, new_chat_member: { status: 'administrator', user: { id: info.id, is_bot: true } } });
    expect(added[1]?.message?.new_chat_members?.[0]?.id).toBe(info.id);

    group.join(dave);
    const joined = await bot.api.getUpdates({ offset: added[1]!.update_id + 1 });
    expect(joined.map((u) => Object.keys(u).find((k) => k !== 'update_id'))).toEqual(['chat_member', 'message']);
    expect(joined[0]?.chat_member?.new_chat_member).toMatchObject({ status: 'member', user: { id: dave.id } });

    // Back to the default set: chat_member updates are dropped, the service message stays.
    group.leave(dave);
    const left = await bot.api.getUpdates({ offset: joined[1]!.update_id + 1, allowed_updates: [] });
    expect(left.map((u) => u.message?.left_chat_member?.id)).toEqual([dave.id]);

    await bot.api.sendMessage(group.id, 'Hello, group');
    expect((await group.nextMessage()).text).toBe('Hello, group');
    dave.sendInGroup(group, '/help@group_bot');
    group.removeBot(info, { by: owner });
    const last = await bot.api.getUpdates({ offset: left[0]!.update_id + 1 });
    expect(last[0]?.message?.entities).toEqual([{ type: 'bot_command', offset: 0, length: 15 }]);
    expect(last[1]?.my_chat_member?.new_chat_member.status).toBe('kicked');
    await expect(bot.api.sendMessage(group.id, 'still here?')).rejects.toMatchObject({ error_code: 403, description: 'Forbidden: bot was kicked from the group chat' });
  });

  it('marks commands, links, mentions and hashtags in what users write, without overlaps', async () => {
    const info = server.createBot({ username: 'reader_bot' });
    const erin = server.createUser({ first_name: 'Erin' });
    erin.send(info, '/start@reader_bot see https://example.org/#top and @someone #tag');
    const [update] = await grammyBot(info.token).api.getUpdates();
    expect(update?.message?.entities).toEqual([
      { type: 'bot_command', offset: 0, length: 17 },
      { type: 'url', offset: 22, length: 24 },
      { type: 'mention', offset: 51, length: 8 },
      { type: 'hashtag', offset: 60, length: 4 },
    ]);
    expect(() => erin.send('no bot given')).toThrow(/pass the bot/);
  });

  it('ends the older of two concurrent pollers with 409 Conflict (bot.start() rejects)', async () => {
    const info = server.createBot({ username: 'twin_bot' });
    const first = grammyBot(info.token);
    const running = first.start({ timeout: 30 });
    await polling(info.token);
    const second = grammyBot(info.token);
    const secondPoll = second.api.getUpdates({ timeout: 1 });
    const error = await running.then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({ error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    expect(await secondPoll).toEqual([]);
  });

  it('refuses getUpdates with 409 while a webhook is set', async () => {
    const info = server.createBot({ username: 'hooked_bot' });
    const bot = grammyBot(info.token);
    await bot.api.setWebhook('https://example.org/hook');
    await expect(bot.api.getUpdates()).rejects.toMatchObject({ error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    await bot.api.deleteWebhook();
    expect(await bot.api.getUpdates()).toEqual([]);
  });
});
