// Checks a compiled chain against what its publisher may use: the credentials it names
// (`{{ secrets.NAME }}`, `credentialId` anywhere in the IR) and the chain versions its
// sub-chain nodes are pinned to. The compiler (chain/) stays pure: this walks its IR.

import type { EntityManager } from '@mikro-orm/postgresql';
import type { ChainIR, CompileError, CompileErrorCode } from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema } from '../../db/entities.ts';
import { findBase } from '../../db/knowledge.ts';
import { CredentialSchema, type Credential } from '../../db/credential.ts';
import type { Principal } from '../auth/principal.ts';
import { can } from '../policy.ts';

/** Problems the API adds to the compiler's. */
export const accessProblemCodes = ['credential_forbidden', 'knowledge_base_unknown', 'plugin_disabled'] as const;

/** A compile error or an access problem of the publishing user. */
export type ChainProblem = Omit<CompileError, 'code'> & { code: CompileErrorCode | (typeof accessProblemCodes)[number] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET = /secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g;

/** Credential references in a JSON value: `credentialId` values and `secrets.NAME` in strings. */
export function credentialRefs(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    for (const match of value.matchAll(SECRET)) if (match[1]) into.add(match[1]);
  } else if (Array.isArray(value)) {
    for (const item of value) credentialRefs(item, into);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'credentialId' && typeof item === 'string' && item !== '') into.add(item);
      else credentialRefs(item, into);
    }
  }
  return into;
}

/** Whether a principal may use a credential (`use` role: owner, admin or a grant). */
export const mayUseCredential = (principal: Principal, row: Pick<Credential, 'id' | 'ownerId'>): boolean =>
  can(principal, 'credential:use', { type: 'credential', id: row.id, ownerId: row.ownerId ?? null });

/**
 * What the principal may not use in a compiled chain: each credential it names that
 * exists but is not theirs to use, and each sub-chain pinned to a version of a chain
 * they cannot open (reported like an unknown chain, so nothing about it leaks).
 */
export async function accessProblems(em: EntityManager, principal: Principal, ir: ChainIR): Promise<ChainProblem[]> {
  const problems: ChainProblem[] = [];
  const byNode = new Map<string, Set<string>>();
  for (const node of Object.values(ir.nodes)) byNode.set(node.id, credentialRefs(node.config));
  const outside = credentialRefs({ ...ir, nodes: undefined });
  const all = new Set([...outside, ...[...byNode.values()].flatMap((refs) => [...refs])]);
  if (all.size > 0) {
    const ids = [...all].filter((ref) => UUID.test(ref));
    const names = [...all].filter((ref) => !UUID.test(ref));
    const rows = await em.find(CredentialSchema, { $or: [{ id: { $in: ids.length ? ids : ['00000000-0000-0000-0000-000000000000'] } }, { name: { $in: names } }] });
    const forbidden = (ref: string) => rows.find((row) => (row.id === ref || row.name === ref) && !mayUseCredential(principal, row));
    const report = (ref: string, nodeId?: string) => {
      const row = forbidden(ref);
      if (!row) return;
      problems.push({
        code: 'credential_forbidden',
        ...(nodeId ? { nodeId } : {}),
        message: `${nodeId ? `Node '${nodeId}': ` : ''}credential '${row.name}' is not shared with you`,
        fix: `Ask its owner to share it with you (role use), or use a credential of your own`,
      });
    };
    for (const [nodeId, refs] of byNode) for (const ref of refs) report(ref, nodeId);
    for (const ref of outside) report(ref);
  }
  for (const node of Object.values(ir.nodes)) {
    if (node.type !== 'subchain' || !node.config.versionId) continue;
    const version = await em.findOne(ChainVersionSchema, { id: node.config.versionId }, { fields: ['id', 'chainId'] });
    const chain = version ? await em.findOne(ChainSchema, { id: version.chainId }, { fields: ['id', 'ownerId'] }) : null;
    if (!chain || !can(principal, 'chain:view', { type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null })) {
      problems.push({
        code: 'subchain_unknown',
        nodeId: node.id,
        field: 'chainRef',
        message: `Node '${node.id}' (subchain), field 'chainRef': no published chain '${node.config.chainRef}'`,
        fix: 'Pick an existing chain (publish it first)',
      });
    }
  }
  for (const ref of knowledgeRefs(ir)) {
    const base = await findBase(em, ref.baseId);
    if (base && can(principal, 'knowledge:view', { type: 'knowledge_base', id: base.id, ownerId: base.owner_id })) continue;
    problems.push({
      code: 'knowledge_base_unknown',
      nodeId: ref.nodeId,
      field: ref.field,
      message: `Node '${ref.nodeId}', field '${ref.field}': no knowledge base '${ref.baseId}' you can open`,
      fix: 'Pick a knowledge base of your own, or ask its owner to share it with you (viewer)',
    });
  }
  return problems;
}

/** The knowledge bases a compiled chain searches: knowledge nodes and agents' search_knowledge tools. */
function knowledgeRefs(ir: ChainIR): Array<{ nodeId: string; field: string; baseId: string }> {
  const refs: Array<{ nodeId: string; field: string; baseId: string }> = [];
  for (const node of Object.values(ir.nodes)) {
    if (node.type === 'knowledge') refs.push({ nodeId: node.id, field: 'baseId', baseId: node.config.baseId });
    if (node.type === 'agent') {
      node.config.tools.forEach((tool, i) => {
        if (tool.kind === 'search_knowledge') refs.push({ nodeId: node.id, field: `tools.${i}.baseId`, baseId: tool.baseId });
      });
    }
  }
  return refs;
}

/**
 * Marks the nodes that use credentials or knowledge bases with the version they belong
 * to, so the activity checks them against that version's publisher when it runs (after the hash:
 * it is not part of what the chain does).
 */
export function stampVersion(ir: ChainIR, versionId: string): ChainIR {
  const nodes = Object.fromEntries(
    Object.entries(ir.nodes).map(([id, node]) => [id, node.type === 'http' || node.type === 'llm' || node.type === 'agent' || node.type === 'knowledge' ? { ...node, config: { ...node.config, sourceVersionId: versionId } } : node]),
  );
  return { ...ir, nodes } as ChainIR;
}
