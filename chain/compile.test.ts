import { describe, expect, it } from 'vitest';
import { compileChain, type CompileOptions } from './compile/index.ts';
import { compileErrorCodes, type CompileError, type CompileErrorCode } from './compile-errors.ts';
import type { Graph, GraphEdge, GraphNode } from './graph.ts';
import type { ChainIR } from './ir.ts';
import type { Rule, RuleGroupInput } from './rules.ts';
import { createChain, createEdge, createNode } from './testing.ts';

const start = (): GraphNode => createNode('start', 'start', { trigger: { kind: 'command', command: '/start' } });
const message = (id: string, text = 'Hi'): GraphNode => createNode(id, 'message', { text });
const ask = (id: string, data: Record<string, unknown> = {}): GraphNode => createNode(id, 'ask', { prompt: 'Name?', variable: 'session.name', ...data });
const condition = (id: string, rules: unknown): GraphNode => createNode(id, 'condition', { rules });
const oneRule = (field: string, operator: string, value?: Rule['value']): RuleGroupInput => ({ condition: 'AND', rules: [{ field, operator, ...(value !== undefined ? { value } : {}) }] });

/** /start → the given nodes, the first one connected from start. */
function chain(nodes: GraphNode[], edges: GraphEdge[] = [], extra: Partial<Graph> = {}): Graph {
  const first = nodes[0];
  return createChain({ nodes: [start(), ...nodes], edges: [...(first ? [createEdge('start', first.id)] : []), ...edges], ...extra });
}

function compiledIr(graph: unknown, options?: CompileOptions): ChainIR {
  const result = compileChain(graph, options);
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  return result.ir;
}

const callee = (slug: string, nodes: GraphNode[], edges: GraphEdge[]): ChainIR =>
  compiledIr(createChain({ slug, nodes: [createNode('entry', 'start', { trigger: { kind: 'api' } }), ...nodes], edges: [createEdge('entry', nodes[0]?.id ?? ''), ...edges] }));

interface Case {
  name: string;
  code: CompileErrorCode;
  graph: () => unknown;
  options?: CompileOptions;
  expected: Partial<CompileError>;
  message: RegExp;
  warning?: boolean;
}

const cases: Case[] = [
  { name: 'a slug with spaces', code: 'graph_invalid', graph: () => createChain({ slug: 'My Chain' }), expected: { field: 'slug' }, message: /^Chain field 'slug': Use 1–63 lowercase/ },
  { name: 'a node without type', code: 'graph_invalid', graph: () => ({ ...createChain(), nodes: [{ id: 'x', position: { x: 0, y: 0 }, data: {} }] }), expected: { nodeId: 'x', field: 'type' }, message: /^Node 'x', field 'type': Invalid input/ },
  { name: 'a non-object', code: 'graph_invalid', graph: () => 'hello', expected: {}, message: /^Chain: Invalid input: expected object/ },
  { name: 'two nodes with one id', code: 'node_duplicate_id', graph: () => chain([message('hello'), message('hello')]), expected: { nodeId: 'hello' }, message: /Node id 'hello' is used by more than one node/ },
  { name: 'two edges with one id', code: 'edge_duplicate_id', graph: () => chain([message('a'), message('b')], [createEdge('a', 'b', 'next', { id: 'start-next-a' })]), expected: { edgeId: 'start-next-a' }, message: /Edge id 'start-next-a' is used by more than one edge/ },
  { name: 'a variable declared twice', code: 'variable_duplicate', graph: () => chain([message('a')], [], { variables: [{ name: 'session.x', type: 'string' }, { name: 'session.x', type: 'number' }] }), expected: { field: 'variables.1.name' }, message: /'session.x' is declared twice/ },
  { name: 'a misspelt node type', code: 'node_unknown_type', graph: () => chain([createNode('a', 'mesage', { text: 'x' })]), expected: { nodeId: 'a' }, message: /Node 'a' \(mesage\): unknown node type 'mesage'.*Did you mean 'message'/ },
  { name: 'a malformed plugin type', code: 'node_unknown_type', graph: () => chain([createNode('a', 'plugin:Sheets', {})]), expected: { nodeId: 'a' }, message: /plugin:<pluginId>\/<type>/ },
  { name: 'a plugin type not installed', code: 'plugin_unknown', graph: () => chain([createNode('a', 'plugin:sheets/append-row', {})]), options: { plugins: ['plugin:crm/create-lead'] }, expected: { nodeId: 'a' }, message: /Node 'a' \(plugin:sheets\/append-row\): no installed plugin/ },
  { name: 'an ask without variable', code: 'config_invalid', graph: () => chain([createNode('q', 'ask', { prompt: 'Name?' })]), expected: { nodeId: 'q', field: 'variable' }, message: /Node 'q' \(ask\), field 'variable': Invalid input: expected string/ },
  { name: 'an ask writing message.text', code: 'config_invalid', graph: () => chain([ask('q', { variable: 'message.text' })]), expected: { nodeId: 'q', field: 'variable' }, message: /read-only scope 'message'/ },
  { name: 'an unknown trigger kind', code: 'config_invalid', graph: () => createChain({ nodes: [createNode('start', 'start', { trigger: { kind: 'sms' } }), message('a')], edges: [createEdge('start', 'a')] }), expected: { nodeId: 'start', field: 'trigger.kind' }, message: /'kind' must be one of: command, text, schedule, webhook, telegram_event, api, any.*Pick a valid 'kind'/ },
  { name: 'a bad ask timeout', code: 'config_invalid', graph: () => chain([ask('q', { timeout: '3 months' })]), expected: { nodeId: 'q', field: 'timeout' }, message: /months or years/ },
  { name: 'a bad cron', code: 'config_invalid', graph: () => createChain({ nodes: [createNode('start', 'start', { trigger: { kind: 'schedule', cron: '0 25 * * *' } }), message('a')], edges: [createEdge('start', 'a')] }), expected: { nodeId: 'start', field: 'trigger.cron' }, message: /hour '25' must be 0–23/ },
  { name: 'number validation with min above max', code: 'config_invalid', graph: () => chain([ask('q', { validator: { kind: 'number', min: 10, max: 1 } })]), expected: { nodeId: 'q', field: 'validator.min' }, message: /Minimum 10 is greater than maximum 1.*Swap/ },
  { name: 'an HTTP URL without scheme', code: 'config_invalid', graph: () => chain([createNode('h', 'http', { url: 'example.com/x' })]), expected: { nodeId: 'h', field: 'url' }, message: /not an http\(s\) URL.*https:\/\// },
  { name: 'a webhook secret without credential', code: 'config_invalid', graph: () => createChain({ nodes: [createNode('start', 'start', { trigger: { kind: 'webhook', hookId: 'paid', auth: { mode: 'hmac_sha256' } } }), message('a')], edges: [createEdge('start', 'a')] }), expected: { nodeId: 'start', field: 'trigger.auth.credentialId' }, message: /Pick the credential/ },
  { name: 'a goto to nowhere', code: 'goto_unknown_target', graph: () => chain([createNode('g', 'goto', { target: 'nowhere' })]), expected: { nodeId: 'g', field: 'target' }, message: /Node 'g' \(goto\), field 'target': Go-to target 'nowhere' is not a node/ },
  { name: 'a lookahead in an ask validator', code: 'regex_invalid', graph: () => chain([ask('q', { validator: { kind: 'regex', pattern: '^(?=.*\\d).{8,}$' } })]), expected: { nodeId: 'q', field: 'validator.pattern' }, message: /Node 'q' \(ask\), field 'validator.pattern': pattern .* is invalid: lookahead/ },
  { name: 'a backreference in a text trigger', code: 'regex_invalid', graph: () => createChain({ nodes: [createNode('start', 'start', { trigger: { kind: 'text', pattern: '(\\w)\\1' } }), message('a')], edges: [createEdge('start', 'a')] }), expected: { nodeId: 'start', field: 'trigger.pattern' }, message: /backreferences/ },
  { name: 'an unknown operator', code: 'rule_unknown_operator', graph: () => chain([condition('c', oneRule('message.text', 'eq', 'x')), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c', field: 'rules.rules.0.operator' }, message: /Node 'c' \(condition\), field 'rules.rules.0.operator': Unknown operator 'eq'/ },
  { name: 'a rule field without scope', code: 'rule_bad_field', graph: () => chain([condition('c', oneRule('text', 'is_empty')), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c', field: 'rules.rules.0.field' }, message: /must start with a scope/ },
  { name: 'a rule without value', code: 'rule_missing_value', graph: () => chain([condition('c', oneRule('message.text', 'equals')), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c', field: 'rules.rules.0.value' }, message: /Operator 'equals' on 'message.text' needs a value/ },
  { name: 'a non-numeric greater', code: 'rule_bad_value', graph: () => chain([condition('c', oneRule('message.text', 'greater', 'big')), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c', field: 'rules.rules.0.value' }, message: /compares numbers or dates, but 'big' is neither/ },
  { name: 'a bad regex in an edge rule', code: 'rule_bad_regex', graph: () => chain([ask('q'), message('a')], [createEdge('q', 'a', 'next', { rules: oneRule('session.name', 'matches', '(?!x)') })]), expected: { edgeId: 'q-next-a', field: 'rules.rules.0.value' }, message: /Edge 'q-next-a' \(q.next → a\), field 'rules.rules.0.value': Pattern/ },
  { name: 'a broken template in a rule value', code: 'rule_bad_template', graph: () => chain([condition('c', oneRule('message.text', 'equals', '{{ user.name | nope }}')), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c', field: 'rules.rules.0.value' }, message: /unknown filter 'nope'/ },
  {
    name: 'rule groups nested nine deep',
    code: 'rule_too_deep',
    graph: () => {
      let tree: unknown = oneRule('message.text', 'is_empty');
      for (let i = 0; i < 8; i++) tree = { condition: 'AND', rules: [tree] };
      return chain([condition('c', tree), message('a')], [createEdge('c', 'a', 'true')]);
    },
    expected: { nodeId: 'c' },
    message: /nested deeper than 8 levels/,
  },
  { name: 'an edge from a missing node', code: 'edge_unknown_source', graph: () => chain([message('a')], [createEdge('ghost', 'a')]), expected: { edgeId: 'ghost-next-a' }, message: /Edge 'ghost-next-a' \(ghost.next → a\): source node 'ghost' does not exist/ },
  { name: 'a dangling edge', code: 'edge_unknown_target', graph: () => chain([message('a')], [createEdge('a', 'ghost')]), expected: { edgeId: 'a-next-ghost' }, message: /target node 'ghost' does not exist/ },
  { name: 'an edge from a port a message lacks', code: 'port_unknown', graph: () => chain([message('a'), message('b')], [createEdge('a', 'b', 'yes')]), expected: { edgeId: 'a-yes-b', nodeId: 'a' }, message: /Node 'a' \(message\) has no output port 'yes'.*Connect from one of 'next'/ },
  { name: 'a timeout edge on an ask without timeout', code: 'port_unknown', graph: () => chain([ask('q'), message('b')], [createEdge('q', 'b', 'timeout')]), expected: { nodeId: 'q' }, message: /no output port 'timeout'.*set a timeout on the ask node/ },
  { name: 'an edge out of an end node', code: 'port_unknown', graph: () => chain([createNode('e', 'end'), message('b')], [createEdge('e', 'b')]), expected: { nodeId: 'e' }, message: /A end node has no outputs; delete the edge/ },
  { name: 'a condition without its true edge', code: 'port_unconnected', graph: () => chain([condition('c', oneRule('message.text', 'is_empty')), message('a')], [createEdge('c', 'a', 'false')]), expected: { nodeId: 'c' }, message: /Node 'c' \(condition\): output 'true' is not connected/ },
  { name: 'a split variant without edge', code: 'port_unconnected', graph: () => chain([createNode('s', 'split', { variants: [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }] }), message('x')], [createEdge('s', 'x', 'a')]), expected: { nodeId: 's' }, message: /output 'b' is not connected/ },
  { name: 'a chain without start', code: 'start_missing', graph: () => createChain({ nodes: [message('a')], edges: [] }), expected: {}, message: /no start node/ },
  { name: 'two /start triggers', code: 'trigger_duplicate', graph: () => createChain({ nodes: [start(), createNode('start2', 'start', { trigger: { kind: 'command', command: 'START' } }), message('a')], edges: [createEdge('start', 'a'), createEdge('start2', 'a')] }), expected: { nodeId: 'start2', field: 'trigger' }, message: /start node 'start' already has the trigger 'command:start'/ },
  { name: 'a loop of messages', code: 'cycle_without_wait', graph: () => chain([message('a'), message('b')], [createEdge('a', 'b'), createEdge('b', 'a')]), expected: { nodeId: 'a' }, message: /Nodes a → b form a loop with no ask or delay/ },
  { name: 'a goto to itself', code: 'cycle_without_wait', graph: () => chain([createNode('g', 'goto', { target: 'g' })]), expected: { nodeId: 'g' }, message: /Nodes g form a loop/ },
  { name: 'an unclosed expression', code: 'template_invalid', graph: () => chain([message('a', 'Hi {{ user.name')]), expected: { nodeId: 'a', field: 'text' }, message: /Node 'a' \(message\), field 'text': '\{\{' is not closed/ },
  { name: 'a misspelt session variable', code: 'variable_unknown', graph: () => chain([ask('q'), message('a', 'Hi {{ session.nmae }}')], [createEdge('q', 'a')]), expected: { nodeId: 'a', field: 'text' }, message: /unknown variable 'session.nmae'.*Did you mean 'session.name'/ },
  { name: 'an unknown message field', code: 'variable_unknown', graph: () => chain([message('a', '{{ message.txt }}')]), expected: { nodeId: 'a' }, message: /unknown variable 'message.txt'.*Did you mean 'message.text'/ },
  { name: 'an unknown variable in an edge rule', code: 'variable_unknown', graph: () => chain([message('a'), message('b')], [createEdge('a', 'b', 'next', { rules: oneRule('session.flag', 'is_empty') })]), expected: { edgeId: 'a-next-b', field: 'rules.rules.0.field' }, message: /Edge 'a-next-b'.*unknown variable 'session.flag'/ },
  { name: 'a user variable nobody sets', code: 'variable_unknown', warning: true, graph: () => chain([message('a', '{{ user.nickname }}')]), expected: { nodeId: 'a' }, message: /unknown variable 'user.nickname' \(another chain may set it/ },
  { name: 'a secret in a message', code: 'secret_not_allowed', graph: () => chain([message('a', 'Token: {{ secrets.token }}')]), expected: { nodeId: 'a', field: 'text' }, message: /uses 'secrets.token', but secrets are only available in HTTP request/ },
  { name: 'a filter on a secret', code: 'secret_transformed', graph: () => chain([createNode('h', 'http', { url: 'https://api.example.com/?k={{ secrets.token | upper }}' })]), expected: { nodeId: 'h', field: 'url' }, message: /Node 'h' \(http\), field 'url': \{\{ secrets.token \| upper \}\} applies 'upper' to a secret/ },
  { name: 'a call to an unpublished chain', code: 'subchain_unknown', graph: () => chain([createNode('call', 'subchain', { chainRef: 'billing' })]), options: { subchains: {} }, expected: { nodeId: 'call', field: 'chainRef' }, message: /no published chain 'billing'/ },
  {
    name: 'a call to a chain without api or any start',
    code: 'subchain_no_entry',
    graph: () => chain([createNode('call', 'subchain', { chainRef: 'billing' })]),
    options: { subchains: { billing: compiledIr(createChain({ slug: 'billing' })) } },
    expected: { nodeId: 'call', field: 'chainRef' },
    message: /chain 'billing' has no 'api' or 'any' start node/,
  },
  {
    name: 'chains calling each other without a wait',
    code: 'subchain_recursion',
    graph: () => chain([createNode('call', 'subchain', { chainRef: 'b' })]),
    options: { subchains: { b: callee('b', [createNode('back', 'subchain', { chainRef: 'test-chain' })], []) } },
    expected: { nodeId: 'call', field: 'chainRef' },
    message: /chains call each other without waiting: test-chain → b → test-chain/,
  },
  { name: 'a chain calling itself first thing', code: 'subchain_recursion', graph: () => chain([createNode('again', 'subchain', { chainRef: 'test-chain' })]), expected: { nodeId: 'again' }, message: /test-chain → test-chain/ },
  { name: 'a node nothing leads to', code: 'node_unreachable', warning: true, graph: () => chain([message('a'), message('orphan')]), expected: { nodeId: 'orphan' }, message: /Node 'orphan' \(message\): no path from a start node reaches it/ },
  {
    name: 'an edge after an unconditional one',
    code: 'edge_shadowed',
    warning: true,
    graph: () => chain([ask('q'), message('a'), message('b')], [createEdge('q', 'a'), createEdge('q', 'b', 'next', { rules: oneRule('session.name', 'equals', 'x') })]),
    expected: { edgeId: 'q-next-b' },
    message: /can never be taken, edge 'q-next-a' before it always matches/,
  },
  { name: 'a translation for an unlisted language', code: 'language_unknown', warning: true, graph: () => chain([createNode('a', 'message', { text: 'Hi', variants: { de: { text: 'Hallo' } } })]), expected: { nodeId: 'a', field: 'variants.de' }, message: /Translation 'de' is for a language the chain does not list/ },
  { name: 'a condition without rules', code: 'rules_empty', warning: true, graph: () => chain([condition('c', { condition: 'AND', rules: [] }), message('a')], [createEdge('c', 'a', 'true')]), expected: { nodeId: 'c' }, message: /always goes through 'true'/ },
  { name: 'a GET with a body', code: 'http_body_ignored', warning: true, graph: () => chain([createNode('h', 'http', { url: 'https://x.test', body: { kind: 'json', json: '{}' } })]), expected: { nodeId: 'h', field: 'body' }, message: /GET requests carry no body/ },
];

describe('compile errors', () => {
  it.each(cases)('reports $code for $name', ({ code, graph, options, expected, message, warning }) => {
    const result = compileChain(graph(), options);
    const problems = warning ? result.warnings : result.ok ? [] : result.errors;
    const problem = problems.find((item) => item.code === code);
    expect(problem, JSON.stringify(result.ok ? result.warnings : result.errors, null, 2)).toBeDefined();
    expect(problem).toMatchObject({ code, ...expected });
    expect(`${problem?.message} — ${problem?.fix}`).toMatch(message);
    expect(problem?.fix.length).toBeGreaterThan(5);
    if (warning) expect(result.ok).toBe(true);
  });

  it('has a case for every error code', () => {
    const covered = new Set(cases.map((item) => item.code));
    expect(compileErrorCodes.filter((code) => !covered.has(code))).toEqual([]);
  });

  it('reports every problem of a graph at once', () => {
    const result = compileChain(chain([message('a', '{{ session.x }}'), createNode('b', 'nope')], [createEdge('a', 'ghost')]));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((error) => error.code).sort()).toEqual(['edge_unknown_target', 'node_unknown_type', 'variable_unknown']);
  });
});

describe('what compiles', () => {
  it.each<[string, () => Graph, CompileOptions?]>([
    ['a loop that asks each round', () => chain([ask('q'), message('a')], [createEdge('q', 'a'), createEdge('a', 'q')])],
    ['a loop through a delay', () => chain([message('a'), createNode('d', 'delay', { mode: 'duration', duration: '1d' })], [createEdge('a', 'd'), createEdge('d', 'a')])],
    ['a loop through a goto and an ask', () => chain([ask('q'), createNode('g', 'goto', { target: 'q' })], [createEdge('q', 'g')])],
    [
      'a loop through a sub-chain that always asks',
      () => chain([createNode('call', 'subchain', { chainRef: 'survey' }), message('again')], [createEdge('call', 'again'), createEdge('again', 'call')]),
      { subchains: { survey: callee('survey', [ask('q')], []) } },
    ],
    ['a loop through a sub-chain compiled without sub-chain knowledge', () => chain([createNode('call', 'subchain', { chainRef: 'survey' }), message('again')], [createEdge('call', 'again'), createEdge('again', 'call')])],
    [
      'a recursive call behind an ask',
      () => chain([ask('q'), createNode('call', 'subchain', { chainRef: 'b' })], [createEdge('q', 'call')]),
      { subchains: { b: callee('b', [createNode('back', 'subchain', { chainRef: 'test-chain' })], []) } },
    ],
    ['secrets in an HTTP header', () => chain([createNode('h', 'http', { url: 'https://api.test/{{ session.id }}', headers: [{ name: 'Authorization', value: 'Bearer {{ secrets.token }}' }] })], [], { variables: [{ name: 'session.id', type: 'string' }] })],
    ['a user variable declared by another chain', () => chain([message('a', '{{ user.nickname }}')]), { knownVariables: ['user.nickname'] }],
    ['a nested read of a written JSON variable', () => chain([createNode('h', 'http', { url: 'https://x.test', responseVariable: 'session.res' }), message('a', '{{ session.res.body.items.0.id }}')], [createEdge('h', 'a', 'ok')])],
  ])('accepts %s', (_name, graph, options) => {
    const result = compileChain(graph(), options);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('loops through a sub-chain that may return without asking only with an error', () => {
    const graph = chain([createNode('call', 'subchain', { chainRef: 'noop' }), message('again')], [createEdge('call', 'again'), createEdge('again', 'call')]);
    const result = compileChain(graph, { subchains: { noop: callee('noop', [message('hi')], []) } });
    expect(result.ok ? [] : result.errors.map((error) => error.code)).toEqual(['cycle_without_wait']);
  });
});
