// Issue 17 item 5, Telegram: an agent's answer streams into one message (sendMessage with
// the first text, then editMessageText at Telegram's pace for the chat), and the message
// node that shows the answer edits that draft instead of sending a second message. A call
// that breaks mid-stream and is retried edits the same draft (its id is recorded before
// any edit). Through our Bot API test server with Telegram's send limits on, and the
// loopback OpenAI server releasing chunks as the test sees them arrive.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramGateways } from '../../api/telegram/gateway.ts';
import { startOpenAiServer, type OpenAiServer } from '../effects/support/servers.ts';
import { agentChain, providerCredential } from '../agent/support.ts';
import { eventually } from '../support/stack.ts';
import { startTelegramStack, type TelegramStack } from './support.ts';

let s: TelegramStack;
let gateways: TelegramGateways;
let provider: OpenAiServer;
let credentialId: string;

beforeAll(async () => {
  s = await startTelegramStack('tg-agent-stream', { server: { sendLimits: 'telegram' }, httpAllow: ['127.0.0.1', '::1'] });
  gateways = await s.gateways();
  provider = await startOpenAiServer();
  credentialId = await providerCredential(s.t.h, provider.baseUrl, false);
});
afterAll(async () => {
  await provider?.close();
  await s?.close();
});

async function botFor(username: string) {
  const chain = await s.publish(agentChain({ credentialId }));
  const bot = s.server.createBot({ username });
  const user = s.server.createUser({ first_name: 'Sam' });
  const botId = await s.addBot(bot, chain.chainId);
  await eventually(async () => (gateways.held().includes(botId) ? true : undefined), 'the gateway to take the bot');
  const botMessages = () => s.server.transcript(bot, user.chat).filter((e) => e.from === 'bot');
  const shows = (text: string) => botMessages().some((e) => e.message.text === text);
  const calls = (method: string) => s.server.calls.filter((c) => c.botId === bot.id && c.method === method);
  return { bot, user, botMessages, shows, calls };
}

describe('agent streaming on Telegram', () => {
  it('sends the first text, edits it as the answer grows, and the reply becomes a final edit', async () => {
    const t = await botFor('stream_bot');
    const pieces = ['Pizza ', 'is on ', 'its way.'];
    provider.script({
      kind: 'held',
      pieces,
      release: async (i) => {
        if (i === 0) return;
        const before = pieces.slice(0, i).join('');
        await eventually(() => (t.shows(before) ? true : undefined), `the draft '${before}'`);
      },
    });
    t.user.send(t.bot, 'Where is my pizza?');
    await eventually(() => (t.shows('AI: Pizza is on its way.') ? true : undefined), 'the final answer', 30_000);
    const sent = t.botMessages();
    expect(sent).toHaveLength(1);
    const versions = sent[0]?.versions.map((v) => v.text) ?? [];
    expect(versions.slice(0, 2)).toEqual(['Pizza ', 'Pizza is on ']);
    expect(versions.at(-1)).toBe('AI: Pizza is on its way.');
    expect(new Set(versions).size).toBe(versions.length);
    expect(t.calls('sendMessage')).toHaveLength(1);
    const edits = t.calls('editMessageText');
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.every((c) => c.status === 200)).toBe(true);
    expect(provider.requests.at(-1)?.body.stream).toBe(true);
  });

  it('edits the same draft when the call breaks mid-stream and is retried', async () => {
    const t = await botFor('retry_stream_bot');
    const pieces = ['Your order ', 'ships ', 'today.'];
    provider.script(
      {
        kind: 'held',
        pieces,
        dropAfter: 2,
        release: async (i) => {
          if (i === 0) return;
          await eventually(() => (t.shows(pieces.slice(0, i).join('')) ? true : undefined), 'the draft');
        },
      },
      { kind: 'reply', content: pieces.join('') },
    );
    const before = provider.requests.length;
    t.user.send(t.bot, 'When does my order ship?');
    await eventually(() => (t.shows('AI: Your order ships today.') ? true : undefined), 'the final answer', 30_000);
    expect(provider.requests.length - before).toBe(2);
    expect(t.botMessages()).toHaveLength(1);
    expect(t.calls('sendMessage')).toHaveLength(1);
    expect(t.botMessages()[0]?.versions[0]?.text).toBe('Your order ');
  });
});
