// Phase: sub-chains. Resolves the chains that nodes call (from the compile options),
// checks that they exist and can be entered, and finds chains that call each other
// without waiting.

import type { ChainIR, CompiledChain } from '../ir.ts';
import { callEntry, flowFromIr, walkWithoutWait, type Flow, type FlowNode } from './flow.ts';
import type { CheckedNode } from './nodes.ts';
import { nodeWhere, type Report } from './report.ts';

/** The chains this one may call, and what the compiler knows about their flow. */
export class Callees {
  private readonly flows = new Map<string, Flow>();
  private readonly alwaysWaitsMemo = new Map<string, boolean>();

  /** The slug of the chain being compiled (a call to it is recursion). */
  readonly slug: string;
  /** Compiled chains by the `chainRef` that calls them; undefined when calls are not checked. */
  readonly known: Record<string, CompiledChain | ChainIR> | undefined;

  constructor(slug: string, known: Record<string, CompiledChain | ChainIR> | undefined) {
    this.slug = slug;
    this.known = known;
  }

  private found(ref: string): CompiledChain | ChainIR | undefined {
    return this.known && Object.hasOwn(this.known, ref) ? this.known[ref] : undefined;
  }

  /** The callee's IR, 'self' for the chain being compiled, undefined when unknown. */
  resolve(ref: string): ChainIR | 'self' | undefined {
    if (ref === this.slug) return 'self';
    const found = this.found(ref);
    if (!found) return undefined;
    const ir = 'ir' in found ? found.ir : found;
    return ir.slug === this.slug ? 'self' : ir;
  }

  /** The version to pin into a call of `ref`, when the caller of compileChain gave one. */
  versionOf(ref: string): string | undefined {
    const found = this.found(ref);
    return found && 'ir' in found ? found.versionId : undefined;
  }

  /** The flow of a callee, built once per slug. */
  flowOf(ir: ChainIR): Flow {
    let flow = this.flows.get(ir.slug);
    if (!flow) {
      flow = flowFromIr(ir);
      this.flows.set(ir.slug, flow);
    }
    return flow;
  }

  /** Whether every path through a callee waits before it returns (unknown callees: assumed). */
  alwaysWaits(ref: string, visiting = new Set<string>()): boolean {
    const callee = this.resolve(ref);
    if (callee === undefined || callee === 'self') return true;
    const memo = this.alwaysWaitsMemo.get(callee.slug);
    if (memo !== undefined) return memo;
    if (visiting.has(callee.slug)) return true; // recursion is reported separately
    visiting.add(callee.slug);
    const entry = callEntry(callee);
    const result = entry === undefined || !walkWithoutWait(this.flowOf(callee), [entry], (call) => !this.alwaysWaits(call.calls ?? '', visiting)).exits;
    visiting.delete(callee.slug);
    this.alwaysWaitsMemo.set(callee.slug, result);
    return result;
  }

  /** The calls a callee makes before it first waits. */
  callsOf(ir: ChainIR): FlowNode[] {
    const entry = callEntry(ir);
    return entry === undefined ? [] : walkWithoutWait(this.flowOf(ir), [entry], (call) => !this.alwaysWaits(call.calls ?? '')).calls;
  }

  /** A chain of calls from `ref` back to the chain being compiled, without a wait. */
  pathBack(ref: string, trail: string[], seen: Set<string>): string[] | undefined {
    const callee = this.resolve(ref);
    if (callee === 'self') return [...trail, this.slug];
    if (callee === undefined || seen.has(callee.slug)) return undefined;
    seen.add(callee.slug);
    for (const call of this.callsOf(callee)) {
      const found = this.pathBack(call.calls ?? '', [...trail, callee.slug], seen);
      if (found) return found;
    }
    return undefined;
  }
}

/** Calls of unknown chains, and of chains without an 'api' or 'any' start (only when callees are known). */
export function checkCallees(checked: ReadonlyMap<string, CheckedNode>, callees: Callees, report: Report): void {
  if (!callees.known) return;
  for (const { node, spec, config } of checked.values()) {
    const ref = spec.calls?.chainRef(config);
    if (ref === undefined) continue;
    const callee = callees.resolve(ref);
    if (callee === undefined) {
      report.add({ code: 'subchain_unknown', nodeId: node.id, field: 'chainRef', message: `${nodeWhere(node, 'chainRef')}: no published chain '${ref}'`, fix: 'Pick an existing chain (publish it first)' });
    } else if (callee !== 'self' && callEntry(callee) === undefined) {
      report.add({ code: 'subchain_no_entry', nodeId: node.id, field: 'chainRef', message: `${nodeWhere(node, 'chainRef')}: chain '${callee.slug}' has no 'api' or 'any' start node to enter`, fix: `Add a start node with the 'api' trigger to '${callee.slug}'` });
    }
  }
}

/**
 * Sub-chain recursion without a wait: this chain → … → this chain. Calls to itself are
 * caught even without known callees; longer cycles need the callees' IRs.
 */
export function checkRecursion(flow: Flow, checked: ReadonlyMap<string, CheckedNode>, startIds: readonly string[], callees: Callees, report: Report): void {
  // The graph's own flow, a call node waiting only if it waits itself: what the callee
  // does is followed by pathBack.
  const localFlow: Flow = new Map([...flow].map(([id, node]) => [id, node.calls !== undefined ? { ...node, waits: checked.get(id)?.waits ?? true } : node]));
  const { calls } = walkWithoutWait(localFlow, startIds, (call) => !callees.alwaysWaits(call.calls ?? ''));
  for (const call of calls) {
    const path = callees.pathBack(call.calls ?? '', [callees.slug], new Set());
    if (path) {
      report.add({
        code: 'subchain_recursion',
        nodeId: call.id,
        field: 'chainRef',
        message: `${nodeWhere(call, 'chainRef')}: chains call each other without waiting: ${path.join(' → ')}`,
        fix: 'Put an ask or delay before the call, or break the cycle of calls',
      });
    }
  }
}
