// `npm run telegram:test-server`: the Bot API test server for trying a bot by hand. Prints the API
// root and a bot token, then lets the person at the terminal write to the bot as a Telegram user.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { TelegramTestServer, type TranscriptEntry } from './index.ts';
import type { Message } from './types.ts';

const USAGE = `Usage: npm run telegram:test-server -- [--port 8081] [--token 123456:ABC…] [--username test_bot] [--name Alice] [--lang en]`;

const HELP = `Type a message and press Enter (/start, /help … go as commands). Also:
  :press N            press button N of the last message with inline buttons
  :photo PATH         send a picture        :doc PATH     send a file
  :contact PHONE      share a contact       :location LAT LON
  :block / :unblock   block or unblock the bot
  :help               this list             :quit         stop the server`;

async function run(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8081' },
      token: { type: 'string' },
      username: { type: 'string', default: 'chainflow_test_bot' },
      name: { type: 'string', default: 'Tester' },
      lang: { type: 'string', default: 'en' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`${USAGE}\n\n${HELP}`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0–65535), got "${values.port}"`);
  const server = await TelegramTestServer.start({ port });
  const bot = server.createBot({ username: values.username, ...(values.token ? { token: values.token } : {}) });
  const user = server.createUser({ first_name: values.name, language_code: values.lang, username: values.name.toLowerCase().replace(/[^a-z0-9_]/g, '') });

  console.log(`Telegram Bot API test server (loopback only)
  API root  ${server.apiRoot}
  Bot       @${bot.username} (id ${bot.id})
  Token     ${bot.token}

Point your bot at it: TELEGRAM_API_ROOT=${server.apiRoot}, then add the bot with the token above.
You are ${user.info.first_name} (user id ${user.id}, language ${values.lang}).
${HELP}
`);

  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: `${user.info.first_name}> ` });
  const shown = new Map<number, number>();
  let actionsShown = 0;
  let buttonsOf: Message | undefined;
  const print = (line: string): void => {
    process.stdout.write(`\r\x1b[K${line}\n`);
    rl.prompt(true);
  };
  server.events.on('change', () => {
    const actions = server.chatActions(bot, user.chat);
    for (; actionsShown < actions.length; actionsShown++) print(`  … ${bot.username} is ${actions[actionsShown]}`);
    for (const entry of server.transcript(bot, user.chat)) {
      if (entry.from !== 'bot') continue;
      const seen = shown.get(entry.seq);
      const state = entry.deleted ? -1 : entry.versions.length;
      if (seen === state) continue;
      shown.set(entry.seq, state);
      if (entry.deleted) print(`${bot.username}: (deleted message ${entry.message.message_id})`);
      else print(describe(bot.username, entry, seen !== undefined));
      if (!entry.deleted && entry.message.reply_markup) buttonsOf = entry.message;
    }
  });

  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    try {
      if (text === '') {
        // nothing
      } else if (text === ':quit' || text === ':q') break;
      else if (text === ':help') console.log(HELP);
      else if (text.startsWith(':press')) {
        const n = Number(text.split(/\s+/)[1] ?? '1');
        const buttons = buttonsOf?.reply_markup?.inline_keyboard.flat().filter((b) => b.callback_data !== undefined) ?? [];
        const button = buttons[n - 1];
        if (!buttonsOf || !button?.callback_data) console.log(`no button ${n}; the last message with buttons has ${buttons.length}`);
        else {
          const press = user.press(buttonsOf, button.callback_data);
          press.answered({ timeout: 15_000 }).then(
            (answer) => print(`  (button answered${answer.text ? `: ${answer.text}` : ''}${answer.show_alert ? ' [alert]' : ''})`),
            () => print('  (the bot did not answer the button press within 15 s)'),
          );
        }
      } else if (text.startsWith(':photo ') || text.startsWith(':doc ')) {
        const path = text.slice(text.indexOf(' ') + 1).trim();
        const bytes = await readFile(path);
        if (text.startsWith(':photo')) user.sendPhoto(bot, { bytes });
        else user.sendDocument(bot, { bytes, fileName: basename(path) });
      } else if (text.startsWith(':contact ')) user.sendContact(bot, { phone_number: text.slice(9).trim() });
      else if (text.startsWith(':location ')) {
        const [lat, lon] = text.slice(10).trim().split(/[\s,]+/).map(Number);
        if (!Number.isFinite(lat) || !Number.isFinite(lon)) console.log('usage: :location 52.52 13.40');
        else user.sendLocation(bot, { latitude: lat!, longitude: lon! });
      } else if (text === ':block') user.block(bot);
      else if (text === ':unblock') user.unblock(bot);
      else if (text.startsWith(':')) console.log(`unknown command ${text.split(' ')[0]}; :help lists them`);
      else user.send(bot, text);
    } catch (err) {
      console.log(err instanceof Error ? err.message : String(err));
    }
    rl.prompt();
  }
  rl.close();
  await server.close();
}

function describe(botName: string, entry: TranscriptEntry, edited: boolean): string {
  const m = entry.message;
  const parts: string[] = [];
  if (m.photo) parts.push(`[photo ${m.photo.at(-1)?.width ?? 0}×${m.photo.at(-1)?.height ?? 0}]`);
  if (m.document) parts.push(`[document ${m.document.file_name ?? ''} ${m.document.file_size ?? 0} bytes]`);
  if (m.voice) parts.push(`[voice ${m.voice.duration} s]`);
  const text = m.text ?? m.caption;
  if (text) parts.push(text);
  let out = `${botName}${edited ? ' (edited)' : ''}: ${parts.join(' ')}`;
  const inline = m.reply_markup?.inline_keyboard.flat() ?? [];
  let n = 0;
  if (inline.length > 0) out += `\n  buttons: ${inline.map((b) => (b.callback_data !== undefined ? `[${++n}] ${b.text}` : `${b.text} <${b.url ?? '…'}>`)).join('  ')}`;
  const markup = entry.markup;
  if (markup && 'keyboard' in markup) out += `\n  keyboard: ${markup.keyboard.map((row) => row.map((b) => b.text).join(' | ')).join(' / ')}  (type the text to press)`;
  if (markup && 'remove_keyboard' in markup) out += '\n  (keyboard removed)';
  return out;
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
