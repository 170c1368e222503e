import { describe, expect, it } from 'vitest';
import type { GraphEdge, GraphNode } from '../graph.ts';
import { nodeSpecs, nodeTypes } from '../nodes/index.ts';
import { pluginNode } from '../nodes/plugin.ts';
import { portsOf, type NodeSpec } from '../nodes/spec.ts';
import { createChain, createEdge, createNode } from '../testing.ts';
import { flowFromIr, flowNode, type Flow } from './flow.ts';
import { compileChain } from './index.ts';

const start = (): GraphNode => createNode('start', 'start', { trigger: { kind: 'command', command: '/start' } });
const http = (id: string): GraphNode => createNode(id, 'http', { url: 'https://x.test' });
const say = (id: string): GraphNode => createNode(id, 'message', { text: id });

function flowOf(nodes: GraphNode[], edges: GraphEdge[]): Flow {
  const result = compileChain(createChain({ nodes: [start(), ...nodes], edges }));
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  return flowFromIr(result.ir);
}

describe("the compiler's flow, built from the node specs", () => {
  it('follows a goto to its target and names the chain a sub-chain node calls', () => {
    const flow = flowOf(
      [say('m'), createNode('g', 'goto', { target: 'm' }), createNode('call', 'subchain', { chainRef: 'billing' })],
      [createEdge('start', 'call'), createEdge('call', 'g')],
    );
    expect(flow.get('g')).toMatchObject({ successors: ['m'], mayExit: false, waits: false });
    expect(flow.get('call')).toMatchObject({ calls: 'billing', successors: ['g'], mayExit: false });
  });

  it('counts an unconnected error port as no exit, and an unconnected result port as one', () => {
    const flow = flowOf(
      [http('ok_only'), say('done'), http('error_only'), say('failed')],
      [createEdge('start', 'ok_only'), createEdge('ok_only', 'done', 'ok'), createEdge('done', 'error_only'), createEdge('error_only', 'failed', 'error')],
    );
    expect(flow.get('ok_only')?.mayExit).toBe(false);
    expect(flow.get('error_only')?.mayExit).toBe(true);
  });

  it('marks end nodes as exits and ask and delay nodes as waiting', () => {
    const flow = flowOf(
      [createNode('q', 'ask', { prompt: 'Name?', variable: 'session.name' }), createNode('d', 'delay', { mode: 'duration', duration: '1h' }), createNode('stop', 'end', {})],
      [createEdge('start', 'q'), createEdge('q', 'd'), createEdge('d', 'stop')],
    );
    expect(flow.get('stop')).toMatchObject({ mayExit: true, successors: [] });
    expect([flow.get('q')?.waits, flow.get('d')?.waits, flow.get('start')?.waits]).toEqual([true, true, false]);
  });

  it('goes by what a spec declares, not by port names: a switch case called error is an exit', () => {
    const config = nodeSpecs.switch.config.parse({ cases: [{ id: 'error', rules: { rules: [] } }] });
    const node = flowNode('s', 'switch', { spec: nodeSpecs.switch, config }, [{ port: 'else', target: 'm', unconditional: true }]);
    expect(node).toMatchObject({ mayExit: true, successors: ['m'] });
    const connected = flowNode('s', 'switch', { spec: nodeSpecs.switch, config }, [
      { port: 'else', target: 'm', unconditional: true },
      { port: 'error', target: 'm', unconditional: true },
    ]);
    expect(connected.mayExit).toBe(false);
  });

  it('gives a node whose config failed its checks no facts', () => {
    expect(flowNode('x', 'goto', undefined, [{ port: 'next', target: 'm', unconditional: true }])).toEqual({ id: 'x', type: 'goto', waits: false, successors: ['m'], mayExit: false });
  });
});

describe('node spec facts', () => {
  const specs: NodeSpec[] = [...nodeTypes.map((type) => nodeSpecs[type]), pluginNode];

  it.each(specs.map((spec) => [spec.type, spec] as const))('%s declares error ports among its ports', (_type, spec) => {
    const parsed = spec.config.safeParse(spec.defaults);
    const ports = typeof spec.ports === 'function' ? (parsed.success ? portsOf(spec, parsed.data) : []) : spec.ports;
    const known = [...ports.map((port) => port.id), ...Object.keys(spec.optionalPorts ?? {})];
    expect((spec.errorPorts ?? []).filter((port) => !known.includes(port))).toEqual([]);
  });

  it('names an activity exactly for the effect nodes, which leave through ok and error', () => {
    const effects = specs.filter((spec) => spec.activity !== undefined);
    expect(effects.map((spec) => [spec.type, spec.activity])).toEqual([
      ['http', 'httpRequest'],
      ['llm', 'llmComplete'],
      ['agent', 'agentModel'],
      ['knowledge', 'searchKnowledge'],
      ['code', 'runCode'],
      ['plugin', 'runPluginNode'],
    ]);
    for (const spec of effects) {
      // The agent also leaves through 'max_iterations' (an error port too); knowledge through 'empty' (a result).
      const extra = spec.type === 'agent' ? ['max_iterations'] : [];
      const ports = spec.type === 'knowledge' ? ['ok', 'empty', 'error'] : ['ok', 'error', ...extra];
      expect(typeof spec.ports === 'function' ? [] : spec.ports.map((port) => port.id)).toEqual(ports);
      expect(spec.errorPorts).toEqual(['error', ...extra]);
    }
  });
});
