import type { EntityManager } from '@mikro-orm/postgresql';
import { ChainVersionSchema, type Chain, type ChainVersion } from '../../db/entities.ts';
import type { Principal } from '../auth/principal.ts';
import { HttpError } from '../errors.ts';
import { authorize, roleOn, type Action, type Resource } from '../policy.ts';
import { findChain } from '../services/chain-service.ts';

export const chainResource = (chain: Chain, ref?: string): Resource => ({ type: 'chain', id: chain.id, ownerId: chain.ownerId ?? null, ...(ref ? { ref } : {}) });

/** The chain named by `ref` (id or slug) if the principal may do `action` on it; 404/403 otherwise. */
export async function loadChain(em: EntityManager, principal: Principal | null, ref: string, action: Action): Promise<Chain> {
  const chain = await findChain(em, ref);
  authorize(principal, action, chainResource(chain, ref));
  return chain;
}

/** List and detail views of chains (active version numbers read in one query). */
export async function chainSummaries(em: EntityManager, principal: Principal, chains: Chain[]) {
  const activeIds = chains.map((c) => c.activeVersionId).filter((id): id is string => Boolean(id));
  const versions = activeIds.length ? await em.find(ChainVersionSchema, { id: { $in: activeIds } }, { fields: ['id', 'number'] }) : [];
  const numbers = new Map(versions.map((v) => [v.id, v.number]));
  return chains.map((chain) => {
    const number = chain.activeVersionId ? numbers.get(chain.activeVersionId) : undefined;
    return {
      id: chain.id,
      slug: chain.slug,
      name: chain.name,
      description: chain.description,
      ownerId: chain.ownerId ?? null,
      webChatEnabled: chain.webChatEnabled,
      draftRevision: chain.draftRevision,
      activeVersion: chain.activeVersionId && typeof number === 'number' ? { id: chain.activeVersionId, number } : null,
      role: roleOn(principal, chainResource(chain)) ?? 'viewer',
      createdAt: chain.createdAt,
      updatedAt: chain.updatedAt,
    };
  });
}

export async function chainDetail(em: EntityManager, principal: Principal, chain: Chain) {
  const [summary] = await chainSummaries(em, principal, [chain]);
  return { ...summary, draft: chain.draftGraph };
}

export function versionView(version: Pick<ChainVersion, 'id' | 'number' | 'note' | 'hash' | 'createdAt' | 'createdBy'>, chain: Chain) {
  return {
    id: version.id,
    number: version.number ?? 0,
    note: version.note,
    hash: version.hash,
    createdAt: version.createdAt,
    createdBy: version.createdBy ?? null,
    active: chain.activeVersionId === version.id,
  };
}

/** A published version by number, or 404 naming the chain. */
export async function findVersion(em: EntityManager, chain: Chain, number: number): Promise<ChainVersion> {
  const version = await em.findOne(ChainVersionSchema, { chainId: chain.id, kind: 'published', number });
  if (!version) throw new HttpError(404, 'version_not_found', `Chain "${chain.slug}" has no version ${number}; GET /api/v1/chains/${chain.id}/versions lists them.`);
  return version;
}
