import { describe, expect, it } from 'vitest';
import { compileChain } from './compile/index.ts';
import { findEntry, findEventEntry, localizeAsk, localizeMessage, parseCommand, resolveLanguage } from './entries.ts';
import { greetingGraph } from './examples.ts';
import type { ChainIR } from './ir.ts';
import { askConfigSchema } from './nodes/ask.ts';
import { messageConfigSchema } from './nodes/message.ts';
import { createScope } from './scope.ts';
import { createChain, createEdge, createNode } from './testing.ts';

function ir(graph: unknown): ChainIR {
  const result = compileChain(graph);
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  return result.ir;
}

describe('commands', () => {
  it.each([
    ['/start', { command: 'start', args: '' }],
    ['/Start@GreetingBot ref_42 extra', { command: 'start', args: 'ref_42 extra' }],
    ['  /help  ', { command: 'help', args: '' }],
    ['start', undefined],
    ['/', undefined],
    ['/with-dash', undefined],
  ])('parses %j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });
});

describe('session entry', () => {
  const chain = ir(
    createChain({
      nodes: [
        createNode('s_help', 'start', { trigger: { kind: 'command', command: '/help' } }),
        createNode('s_price', 'start', { trigger: { kind: 'text', pattern: '\\bprice\\b' } }),
        createNode('s_hi', 'start', { trigger: { kind: 'text', pattern: '^(hi|hello)\\b', ignoreCase: false } }),
        createNode('s_any', 'start', { trigger: { kind: 'any' } }),
        createNode('m', 'message', { text: 'x' }),
      ],
      edges: ['s_help', 's_price', 's_hi', 's_any'].map((id) => createEdge(id, 'm')),
    }),
  );

  it.each([
    ['/help', 's_help'],
    ['/HELP@bot', 's_help'],
    ['What is the PRICE?', 's_price'],
    ['hi there', 's_hi'],
    ['Hi there', 's_any'],
    ['/unknown', 's_any'],
  ])('starts %j at %s', (text, expected) => {
    expect(findEntry(chain, text)).toBe(expected);
  });

  it('finds nothing in a chain with only a command trigger and another text', () => {
    expect(findEntry(ir(createChain()), 'hello')).toBeUndefined();
  });
});

describe('telegram_event starts', () => {
  const chain = ir(
    createChain({
      nodes: [
        createNode('s_members', 'start', { trigger: { kind: 'telegram_event', events: ['member_joined', 'member_left'] } }),
        createNode('s_bot', 'start', { trigger: { kind: 'telegram_event', events: ['bot_added'] } }),
        createNode('s_any', 'start', { trigger: { kind: 'any' } }),
        createNode('m', 'message', { text: 'x' }),
      ],
      edges: ['s_members', 's_bot', 's_any'].map((id) => createEdge(id, 'm')),
    }),
  );

  it('has one entry per event, and an event starts only its own start (never any)', () => {
    expect(chain.entries).toMatchObject({ 'telegram_event:member_joined': 's_members', 'telegram_event:member_left': 's_members', 'telegram_event:bot_added': 's_bot', any: 's_any' });
    expect(findEventEntry(chain, 'member_left')).toBe('s_members');
    expect(findEventEntry(chain, 'bot_added')).toBe('s_bot');
    expect(findEventEntry(chain, 'bot_removed')).toBeUndefined();
  });

  it('refuses an event on two starts, an empty list, and an unknown event', () => {
    const twice = compileChain(
      createChain({
        nodes: [
          createNode('a', 'start', { trigger: { kind: 'telegram_event', events: ['member_joined'] } }),
          createNode('b', 'start', { trigger: { kind: 'telegram_event', events: ['member_left', 'member_joined'] } }),
          createNode('m', 'message', { text: 'x' }),
        ],
        edges: ['a', 'b'].map((id) => createEdge(id, 'm')),
      }),
    );
    expect(twice.ok).toBe(false);
    if (!twice.ok) expect(twice.errors).toContainEqual(expect.objectContaining({ code: 'trigger_duplicate', nodeId: 'b', message: expect.stringContaining('telegram_event:member_joined') }));
    for (const events of [[], ['member_banned']]) {
      const bad = compileChain(createChain({ nodes: [createNode('a', 'start', { trigger: { kind: 'telegram_event', events } }), createNode('m', 'message', { text: 'x' })], edges: [createEdge('a', 'm')] }));
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.errors.some((e) => e.nodeId === 'a' && /events/.test(`${e.field ?? ''} ${e.message}`))).toBe(true);
    }
  });
});

describe('session language', () => {
  const greeting = ir(greetingGraph);

  it.each<[Record<string, string>, Record<string, string>, string]>([
    [{ language: 'ru' }, { language_code: 'en' }, 'ru'],
    [{}, { language_code: 'ru' }, 'ru'],
    [{}, { language_code: 'ru-RU' }, 'ru'],
    [{ language: 'de' }, { language_code: 'fr' }, 'en'],
    [{}, {}, 'en'],
  ])('with session %j and user %j is %s', (session, user, expected) => {
    expect(resolveLanguage(greeting, createScope({ session, user }))).toBe(expected);
  });

  it('picks translations and falls back to the original', () => {
    const message = messageConfigSchema.parse({ text: 'Hi', buttons: { rows: [[{ id: 'ok', text: 'OK' }]] }, variants: { ru: { text: 'Привет' } } });
    expect(localizeMessage(message, 'ru')).toEqual({ text: 'Привет', buttons: message.buttons });
    expect(localizeMessage(message, 'de')).toEqual({ text: 'Hi', buttons: message.buttons });
    const ask = askConfigSchema.parse({ prompt: 'Name?', variable: 'user.name', retryText: 'Again?', variants: { ru: { prompt: 'Имя?' } } });
    expect(localizeAsk(ask, 'ru')).toEqual({ prompt: 'Имя?', buttons: undefined, retryText: 'Again?' });
  });
});
