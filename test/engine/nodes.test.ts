import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeTypes, type BuiltinNodeType } from '../../chain/index.ts';
import { createChain, createEdge, createNode } from '../../chain/testing.ts';
import { publishGraph, runEvents, send, sessionState, startDialogueHarness, startSession, texts, type DialogueHarness } from '../support/dialogue.ts';
import { effectScenarios } from './effect-scenarios.ts';

let h: DialogueHarness;
beforeAll(async () => {
  h = await startDialogueHarness('nodes', { httpAllow: ['127.0.0.1', '::1'] });
});
afterAll(async () => h?.close());

const any = (id = 'start') => createNode(id, 'start', { trigger: { kind: 'any' } });
const say = (id: string, text: string) => createNode(id, 'message', { text });

/** Publishes a graph and opens a web session on it. */
async function session(nodes: ReturnType<typeof createNode>[], edges: ReturnType<typeof createEdge>[], extra: Parameters<typeof createChain>[0] = {}) {
  const ids = await publishGraph(h.db, createChain({ slug: 'nodes', nodes, edges, ...extra }));
  return { ids, handle: await startSession(h.client, h.taskQueue, ids) };
}

/**
 * One scenario per node type, covering each of its ports. The list is checked against
 * the registry below, so a new node type without a scenario fails this file.
 */
const scenarios: Record<Exclude<BuiltinNodeType, 'http' | 'llm' | 'code' | 'agent' | 'knowledge'>, () => Promise<void>> = {
  async start() {
    const { handle } = await session(
      [createNode('cmd', 'start', { trigger: { kind: 'command', command: '/help' } }), createNode('txt', 'start', { trigger: { kind: 'text', pattern: '^price' } }), any(), say('m_cmd', 'help: {{ message.args }}'), say('m_txt', 'prices'), say('m_any', 'anything')],
      [createEdge('cmd', 'm_cmd'), createEdge('txt', 'm_txt'), createEdge('start', 'm_any')],
    );
    expect(texts(await send(handle, '/help me now'))).toEqual(['help: me now']);
    const { handle: h2 } = await session(
      [createNode('txt', 'start', { trigger: { kind: 'text', pattern: '^price' } }), any(), say('m_txt', 'prices'), say('m_any', 'anything')],
      [createEdge('txt', 'm_txt'), createEdge('start', 'm_any')],
    );
    expect(texts(await send(h2, 'Price list please'))).toEqual(['prices']);
    const { handle: h3 } = await session([createNode('txt', 'start', { trigger: { kind: 'text', pattern: '^price' } }), say('m_txt', 'prices')], [createEdge('txt', 'm_txt')]);
    const unmatched = await send(h3, 'hello');
    expect(unmatched.replies).toEqual([]);
    expect(unmatched.ended).toBe(true);
  },

  async message() {
    const { handle } = await session(
      [
        any(),
        createNode('m', 'message', {
          text: 'Hi {{ message.text | upper }}',
          format: 'html',
          media: [{ kind: 'photo', url: 'https://example.com/{{ message.text }}.png', caption: 'pic' }],
          buttons: { kind: 'inline', rows: [[{ id: 'yes', text: 'Yes, {{ message.text }}' }, { id: 'site', text: 'Site', url: 'https://example.com' }]] },
          variants: { ru: { text: 'Привет {{ message.text }}' } },
        }),
      ],
      [createEdge('start', 'm')],
      { languages: ['en', 'ru'] },
    );
    const res = await send(handle, 'bob');
    expect(res.replies).toHaveLength(1);
    expect(res.replies[0]).toMatchObject({
      nodeId: 'm',
      text: 'Hi BOB',
      format: 'html',
      media: [{ kind: 'photo', url: 'https://example.com/bob.png', caption: 'pic' }],
      buttons: { kind: 'inline', rows: [[{ id: 'yes', text: 'Yes, bob' }, { id: 'site', text: 'Site', url: 'https://example.com' }]] },
    });
    const { handle: ru } = await session([any(), createNode('m', 'message', { text: 'Hi', variants: { ru: { text: 'Привет' } } })], [createEdge('start', 'm')], { languages: ['en', 'ru'] });
    expect(texts(await send(ru, { text: 'x', from: { language_code: 'ru' } }))).toEqual(['Привет']);
  },

  async ask() {
    const nodes = [
      any(),
      createNode('age', 'ask', { prompt: 'Age?', variable: 'session.age', validator: { kind: 'number', min: 1, max: 120, integer: true }, retries: 1, retryText: 'A number 1–120, please' }),
      say('ok', 'You are {{ session.age }}'),
      say('bad', 'Giving up'),
    ];
    const edges = [createEdge('start', 'age'), createEdge('age', 'ok'), createEdge('age', 'bad', 'invalid')];
    const { handle } = await session(nodes, edges);
    expect(texts(await send(handle, 'hi'))).toEqual(['Age?']);
    expect(texts(await send(handle, '42'))).toEqual(['You are 42']);
    // 'invalid' after the retries are used up
    const { handle: h2 } = await session(nodes, edges);
    await send(h2, 'hi');
    expect(texts(await send(h2, 'old'))).toEqual(['A number 1–120, please']);
    const last = await send(h2, '500');
    expect(texts(last)).toEqual(['Giving up']);
    expect(last.ended).toBe(true);
    // without an 'invalid' edge the question is re-asked until a valid reply
    const { handle: h3 } = await session(nodes.slice(0, 3), edges.slice(0, 2));
    await send(h3, 'hi');
    for (const wrong of ['x', 'y', 'z']) expect(texts(await send(h3, wrong))).toEqual(['A number 1–120, please']);
    expect(texts(await send(h3, '7'))).toEqual(['You are 7']);
    // buttons: the pressed button's value is captured
    const { handle: h4 } = await session(
      [any(), createNode('pick', 'ask', { prompt: 'Pick', variable: 'session.choice', validator: { kind: 'choice' }, buttons: { kind: 'reply', rows: [[{ id: 'a', text: 'Apple', value: 'apple' }, { id: 'p', text: 'Pear' }]] } }), say('ok', 'Got {{ session.choice }}')],
      [createEdge('start', 'pick'), createEdge('pick', 'ok')],
    );
    await send(h4, 'hi');
    expect(texts(await send(h4, { text: 'Apple', buttonId: 'a', value: 'apple' }))).toEqual(['Got apple']);
  },

  async condition() {
    const nodes = [
      any(),
      createNode('c', 'condition', { rules: { condition: 'AND', rules: [{ field: 'message.text', operator: 'greater', value: 10 }] } }),
      say('yes', 'big'),
      say('no', 'small'),
    ];
    const edges = [createEdge('start', 'c'), createEdge('c', 'yes', 'true'), createEdge('c', 'no', 'false')];
    expect(texts(await send((await session(nodes, edges)).handle, '11'))).toEqual(['big']);
    expect(texts(await send((await session(nodes, edges)).handle, '9'))).toEqual(['small']);
  },

  async switch() {
    const nodes = [
      any(),
      createNode('s', 'switch', {
        cases: [
          { id: 'greet', rules: { condition: 'OR', rules: [{ field: 'message.text', operator: 'in', value: ['hi', 'hello'] }] } },
          { id: 'bye', rules: { condition: 'AND', rules: [{ field: 'message.text', operator: 'starts_with', value: 'bye' }] } },
        ],
      }),
      say('g', 'greet'),
      say('b', 'bye'),
      say('e', 'else'),
    ];
    const edges = [createEdge('start', 's'), createEdge('s', 'g', 'greet'), createEdge('s', 'b', 'bye'), createEdge('s', 'e', 'else')];
    for (const [input, out] of [['Hello', 'greet'], ['bye now', 'bye'], ['what', 'else']]) {
      expect(texts(await send((await session(nodes, edges)).handle, input as string))).toEqual([out]);
    }
  },

  async set() {
    const { handle } = await session(
      [
        any(),
        createNode('s', 'set', {
          assignments: [
            { variable: 'session.count', value: '41', valueType: 'number' },
            { variable: 'session.count', op: 'increment', value: '1', valueType: 'number' },
            { variable: 'user.nick', value: '{{ message.text | lower }}' },
          ],
        }),
        say('m', '{{ session.count }} {{ user.nick }}'),
      ],
      [createEdge('start', 's'), createEdge('s', 'm')],
    );
    expect(texts(await send(handle, 'ZED'))).toEqual(['42 zed']);
  },

  async delay() {
    // A delay that has already passed continues at once; long delays are in long-waits.test.ts.
    const { handle } = await session(
      [any(), createNode('d', 'delay', { mode: 'until', at: '2001-01-01T00:00', timezone: 'Europe/Moscow' }), say('m', 'after')],
      [createEdge('start', 'd'), createEdge('d', 'm')],
    );
    expect(texts(await send(handle, 'go'))).toEqual(['after']);
  },

  async subchain() {
    const callee = await publishGraph(h.db, {
      slug: 'callee',
      name: 'Callee',
      nodes: [createNode('entry', 'start', { trigger: { kind: 'api' } }), createNode('q', 'ask', { prompt: 'Hi {{ run.who }}, your email?', variable: 'session.email', validator: { kind: 'email' } }), createNode('fin', 'end', { outcome: 'captured' })],
      edges: [createEdge('entry', 'q'), createEdge('q', 'fin')],
    });
    const { handle } = await session(
      [
        any(),
        createNode('call', 'subchain', { chainRef: callee.slug, inputs: [{ param: 'who', value: '{{ message.text }}' }], outputs: [{ from: 'session.email', to: 'session.contact' }] }),
        say('after', 'Saved {{ session.contact }} ({{ session.outcome }})'),
      ],
      [createEdge('start', 'call'), createEdge('call', 'after')],
    );
    expect(texts(await send(handle, 'Kim'))).toEqual(['Hi Kim, your email?']);
    const inside = await sessionState(handle);
    expect(inside.callStack.map((f) => f.nodeId)).toEqual(['call', 'q']);
    expect(texts(await send(handle, 'kim@example.com'))).toEqual(['Saved kim@example.com (captured)']);
  },

  async split() {
    const nodes = [
      any(),
      createNode('ab', 'split', { variants: [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }] }),
      say('ma', 'A'),
      say('mb', 'B'),
    ];
    const edges = [createEdge('start', 'ab'), createEdge('ab', 'ma', 'a'), createEdge('ab', 'mb', 'b')];
    const ids = await publishGraph(h.db, createChain({ slug: 'split', nodes, edges }));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const handle = await startSession(h.client, h.taskQueue, ids, { visitor: `split-${i}` });
      const [reply] = texts(await send(handle, 'go'));
      seen.add(reply ?? '');
      const events = await runEvents(h.db, handle.workflowId);
      const choice = events.find((e) => e.type === 'split.choice');
      expect(choice?.payload.variant).toBe(reply === 'A' ? 'a' : 'b');
    }
    expect(seen).toEqual(new Set(['A', 'B']));
  },

  async goto() {
    const { handle } = await session(
      [any(), createNode('g', 'goto', { target: 'q' }), say('skipped', 'never'), createNode('q', 'ask', { prompt: 'Again?', variable: 'session.a' }), createNode('loop', 'goto', { target: 'q' })],
      [createEdge('start', 'g'), createEdge('q', 'loop')],
    );
    expect(texts(await send(handle, 'x'))).toEqual(['Again?']);
    expect(texts(await send(handle, 'y'))).toEqual(['Again?']);
  },

  async end() {
    const { handle } = await session([any(), say('m', 'bye'), createNode('e', 'end', { outcome: 'finished' }), say('never', 'never')], [createEdge('start', 'm'), createEdge('m', 'e')]);
    const res = await send(handle, 'x');
    expect(texts(res)).toEqual(['bye']);
    expect(res.ended).toBe(true);
    expect(await handle.result()).toMatchObject({ outcome: 'finished' });
  },
};

describe('node types', () => {
  it('have a scenario for every type in the registry', () => {
    // knowledge needs an ingested base and an embeddings server: test/knowledge/knowledge-node.test.ts.
    const covered = [...Object.keys(scenarios), ...Object.keys(effectScenarios(() => h)), 'knowledge'].sort();
    expect(covered).toEqual([...nodeTypes].sort());
  });
  for (const [type, run] of Object.entries({ ...scenarios, ...effectScenarios(() => h) })) {
    it(`${type}: behaves as specified on each port`, run);
  }
});

describe('message node formats', () => {
  it('escapes inserted values for HTML and MarkdownV2 but keeps the template’s own markup', async () => {
    const { handle } = await session(
      [
        any(),
        createNode('h', 'message', { text: '<b>Hi {{ message.text }}</b>', format: 'html', media: [{ kind: 'photo', url: 'https://example.com/p.png', caption: '<i>{{ message.text }}</i>' }] }),
        createNode('md', 'message', { text: '*Hi* {{ message.text }}', format: 'markdown' }),
        createNode('p', 'message', { text: 'Hi {{ message.text }}' }),
      ],
      [createEdge('start', 'h'), createEdge('h', 'md'), createEdge('md', 'p')],
    );
    const res = await send(handle, 'Carol <3 & co.');
    expect(res.replies.map((r) => [r.format, r.text])).toEqual([
      ['html', '<b>Hi Carol &lt;3 &amp; co.</b>'],
      ['markdown', '*Hi* Carol <3 & co\\.'],
      ['plain', 'Hi Carol <3 & co.'],
    ]);
    expect(res.replies[0]?.media?.[0]?.caption).toBe('<i>Carol &lt;3 &amp; co.</i>');
  });
});
