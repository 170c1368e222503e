import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileChain } from './compile/index.ts';
import { greetingGraph } from './examples.ts';
import type { ChainIR } from './ir.ts';
import { draftGraphOf, StoredChainError, versionGraphOf, versionIrOf } from './stored.ts';
import { createChain } from './testing.ts';

const examplesDir = new URL('../examples/', import.meta.url);

function compiled(graph: unknown): ChainIR {
  const result = compileChain(draftGraphOf({ id: 'c1', slug: 'example', draftGraph: graph }));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.ir;
}

/** What PostgreSQL gives back for a jsonb value we stored. */
const roundTrip = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

const version = { id: 'v1', chainId: 'c1', number: 3 };

describe('stored graphs and IRs', () => {
  it('reads back every IR the compiler makes for the examples', () => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const ir = compiled(parseYaml(readFileSync(new URL(file, examplesDir), 'utf8')));
      expect(versionIrOf({ ...version, ir: roundTrip(ir) })).toEqual(ir);
    }
    expect(versionIrOf({ ...version, ir: roundTrip(compiled(greetingGraph)) }).slug).toBe(greetingGraph.slug);
  });

  it('reads back a stored graph with its defaults applied', () => {
    const graph = createChain();
    expect(versionGraphOf({ ...version, graph: roundTrip(graph) })).toEqual(graph);
  });

  it('names the chain and the first problem of a corrupt draft', () => {
    const read = () => draftGraphOf({ id: 'c1', slug: 'shop', draftGraph: { ...createChain(), nodes: 'gone' } });
    expect(read).toThrow(StoredChainError);
    expect(read).toThrow(/^Chain "shop" \(c1\): the stored chain\.draft_graph is not valid \(nodes: /);
  });

  it('names the chain and version of a corrupt IR and lists every problem', () => {
    const ir = roundTrip(compiled(createChain())) as Record<string, unknown>;
    const broken = { ...ir, formatVersion: 99, nodes: { ...(ir['nodes'] as object), hello: { id: 'other', type: 'message', config: {}, next: { next: 'x' } } } };
    let error: unknown;
    try {
      versionIrOf({ ...version, ir: broken });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StoredChainError);
    const stored = error as StoredChainError;
    expect(stored.message).toMatch(/^Chain c1 version 3 v1: the stored chain_version\.ir is not valid \(formatVersion: expected 1\)/);
    expect(stored).toMatchObject({ chainId: 'c1', versionId: 'v1', column: 'chain_version.ir' });
    expect(stored.problems).toEqual(['formatVersion: expected 1', 'nodes.hello.id: expected "hello"', 'nodes.hello.next: expected edge lists by port']);
  });

  it('refuses values that are not objects at all', () => {
    expect(() => versionIrOf({ ...version, number: null, ir: null })).toThrow(/^Chain c1 draft version v1: .*\(\(root\): expected an object\)/);
    expect(() => versionGraphOf({ ...version, graph: [] })).toThrow(StoredChainError);
  });
});
