import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';
import { draftGraphOf, graphSchema, slugSchema, versionGraphOf, type Graph } from '../../chain/index.ts';
import { ChainSchema, ChainVersionSchema, RunSchema, type Chain } from '../../db/entities.ts';
import { GrantSchema } from '../../db/accounts.ts';
import { HttpError } from '../errors.ts';
import { escapeLike } from '../schemas/common.ts';
import { authorize, visibleChains } from '../policy.ts';
import { recordAudit } from '../services/audit.ts';
import {
  chainFieldsFromGraph,
  createDraftChain,
  defaultGraph,
  duplicateGraph,
  importChain,
  parseChainFile,
  publishChain,
  uniqueSlug,
  validateGraph,
} from '../services/chain-service.ts';
import { diffGraphs, diffSummary } from '../services/graph-diff.ts';
import { terminateSession } from './chat.ts';
import { syncChainTriggers } from '../services/triggers.ts';
import {
  chainListQuerySchema,
  chainListSchema,
  chainParamsSchema,
  chainSchema,
  createChainBodySchema,
  deleteQuerySchema,
  diffQuerySchema,
  diffSchema,
  exportQuerySchema,
  importResultSchema,
  onConflictQuerySchema,
  publishBodySchema,
  rollbackBodySchema,
  updateDraftBodySchema,
  validationResultSchema,
  versionDetailSchema,
  versionListQuerySchema,
  versionListSchema,
  versionParamsSchema,
  versionSummarySchema,
} from '../schemas/chains.ts';
import { chainDetail, chainSummaries, findVersion, loadChain, versionView } from './chain-views.ts';
import { defineOperation, type Operation } from './define.ts';

const tags: [string] = ['chains'];

export interface ChainRouteDeps {
  temporal: Client;
  /** Task queue of the sessions that schedule triggers start. */
  taskQueue: string;
}

/** A slug made from a name: 'Lead capture!' → 'lead-capture'. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slugSchema.safeParse(slug).success ? slug : 'chain';
}


/** The graph behind a version reference: a number, 'active' or 'draft'. */
async function graphAt(em: EntityManager, chain: Chain, ref: number | 'draft' | 'active'): Promise<{ graph: Graph; label: number | 'draft' }> {
  if (ref === 'draft') return { graph: draftGraphOf(chain), label: 'draft' };
  if (ref === 'active') {
    if (!chain.activeVersionId) throw new HttpError(409, 'not_published', `Chain "${chain.slug}" has no published version yet; use 'draft' or publish first.`);
    const version = await em.findOneOrFail(ChainVersionSchema, { id: chain.activeVersionId });
    return { graph: versionGraphOf(version), label: version.number ?? 0 };
  }
  const version = await findVersion(em, chain, ref);
  return { graph: versionGraphOf(version), label: ref };
}

/** Other chains whose draft or active version calls this one as a sub-chain. */
async function callersOf(em: EntityManager, chain: Chain): Promise<string[]> {
  const rows = await em.getConnection().execute<{ slug: string }[]>(
    `select c.slug from chain c
       left join chain_version v on v.id = c.active_version_id
      where c.id <> ?
        and exists (
          select 1 from jsonb_array_elements(coalesce(c.draft_graph->'nodes', '[]'::jsonb) || coalesce(v.graph->'nodes', '[]'::jsonb)) n
           where n->>'type' = 'subchain' and n->'data'->>'chainRef' in (?, ?))
      order by c.slug`,
    [chain.id, chain.id, chain.slug],
  );
  return rows.map((r) => r.slug);
}

/** `/chains`: chains, drafts, versions, import/export. */
export function chainOperations(deps: ChainRouteDeps): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/chains',
      operationId: 'listChains',
      summary: 'List the chains you may open',
      tags,
      auth: 'bearer',
      query: chainListQuerySchema,
      responses: { 200: { description: 'A page of chains', schema: chainListSchema } },
      handler: async ({ res, em, query, principal }) => {
        authorize(principal, 'chain:list');
        const visible = visibleChains(principal);
        const and: Record<string, unknown>[] = [];
        if (!visible.all) and.push({ $or: [{ ownerId: visible.ownerId }, ...(visible.ids.length ? [{ id: { $in: visible.ids } }] : [])] });
        if (query.q) {
          const like = `%${escapeLike(query.q)}%`;
          and.push({ $or: [{ name: { $ilike: like } }, { slug: { $ilike: like } }] });
        }
        const desc = query.sort.startsWith('-');
        const field = (desc ? query.sort.slice(1) : query.sort) as 'name' | 'slug' | 'createdAt' | 'updatedAt';
        const [chains, total] = await em.findAndCount(ChainSchema, and.length ? { $and: and } : {}, {
          orderBy: { [field]: desc ? 'desc' : 'asc', id: 'asc' },
          offset: query.offset,
          limit: query.limit,
        });
        res.json({ items: await chainSummaries(em, principal, chains), total });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains',
      operationId: 'createChain',
      summary: 'Create a chain from a graph or from a minimal default',
      description: 'Stores the draft only; publish it to make it live. The slug comes from `slug`, the graph, or the name.',
      tags,
      auth: 'bearer',
      query: onConflictQuerySchema,
      body: createChainBodySchema,
      errors: [409],
      responses: { 201: { description: 'The new chain', schema: chainSchema } },
      handler: async ({ res, em, query, body, principal, audit }) => {
        authorize(principal, 'chain:create');
        const base = body.graph ?? defaultGraph(body.slug ?? slugify(body.name ?? 'chain'), body.name ?? 'Chain');
        const graph: Graph = {
          ...base,
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.slug !== undefined ? { slug: body.slug } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        };
        const chain = await createDraftChain(em, graph, { ownerId: principal.user.id, onConflict: query.onConflict });
        audit({ action: 'chain.create', targetType: 'chain', targetId: chain.id, summary: { after: { slug: chain.slug, name: chain.name, nodes: graph.nodes.length, edges: graph.edges.length } } });
        await em.flush();
        res.status(201).json(await chainDetail(em, principal, chain));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/:id/duplicate',
      operationId: 'duplicateChain',
      summary: 'Copy a chain’s draft into a new chain you own',
      description: 'The copy is a draft named "<name> (copy)" under the first free slug `<slug>-copy`, `<slug>-copy-2`…; versions, sessions and shares are not copied.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      errors: [404],
      responses: { 201: { description: 'The new chain', schema: chainSchema } },
      handler: async ({ res, em, params, principal, audit }) => {
        const source = await loadChain(em, principal, params.id, 'chain:view');
        authorize(principal, 'chain:create');
        const graph = duplicateGraph(draftGraphOf(source));
        const chain = await createDraftChain(em, graph, { ownerId: principal.user.id, onConflict: 'rename' });
        audit({ action: 'chain.create', targetType: 'chain', targetId: chain.id, summary: { after: { slug: chain.slug, name: chain.name, duplicateOf: source.slug } } });
        await em.flush();
        res.status(201).json(await chainDetail(em, principal, chain));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/import',
      operationId: 'importChain',
      summary: 'Import a chain file (YAML or JSON) and publish it as version 1',
      description:
        "Send the file as the body (Content-Type application/yaml, text/yaml or application/json) or as a multipart/form-data upload in the field `file`. A bad file is answered 400 naming the line or the field (and the node) and stores nothing. A slug that exists is 409 unless `onConflict=rename`.",
      tags,
      auth: 'bearer',
      query: onConflictQuerySchema,
      bodyKind: 'chain-file',
      errors: [409],
      responses: { 201: { description: 'The imported chain and its first version', schema: importResultSchema } },
      handler: async ({ res, em, query, file, principal, actor }) => {
        authorize(principal, 'chain:create');
        if (!file) throw new HttpError(400, 'file_missing', 'Send a chain file.');
        const graph = parseChainFile(file.bytes);
        let imported;
        try {
          imported = await importChain(em, graph, {
            onConflict: query.onConflict,
            ownerId: principal.user.id,
            as: principal,
            note: file.filename ? `imported from ${file.filename}` : 'imported',
            onVersion: (tx, version) =>
              recordAudit(tx, actor, {
                action: 'chain.import',
                targetType: 'chain',
                targetId: version.chainId,
                summary: { after: { slug: versionGraphOf(version).slug, version: version.number, file: file.filename } },
              }),
          });
        } catch (err) {
          // A file that parses but does not compile is a bad file too: 400, nothing stored.
          if (err instanceof HttpError && err.code === 'chain_invalid') throw new HttpError(400, 'invalid_chain', err.message.replace(/^Chain "[^"]*" does not compile/, 'The chain file does not compile'), err.details);
          throw err;
        }
        await syncChainTriggers(deps, em, imported.chain.id, null, imported.version.id);
        res.status(201).json({ chain: await chainDetail(em, principal, imported.chain), version: versionView(imported.version, imported.chain) });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id',
      operationId: 'getChain',
      summary: 'A chain with its draft',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The chain', schema: chainSchema } },
      handler: async ({ res, em, params, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        res.json(await chainDetail(em, principal, chain));
      },
    }),
    defineOperation({
      method: 'put',
      path: '/chains/:id/draft',
      operationId: 'updateDraft',
      summary: 'Save the draft (optimistic concurrency by revision)',
      description:
        'Send the draftRevision you started from; a newer one on the server (someone else saved) is answered 409 stale_revision with the current revision. The draft need not compile. Name, description, slug and web-chat setting follow the graph.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      body: updateDraftBodySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The saved chain with its new revision', schema: chainSchema } },
      handler: async ({ res, em, params, body, principal, actor }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        const stale = () =>
          new HttpError(409, 'stale_revision', `The draft changed since revision ${body.revision} (now ${chain.draftRevision}); reload it and apply your edit again.`, {
            currentRevision: chain.draftRevision,
          });
        if (chain.draftRevision !== body.revision) throw stale();
        if (body.graph.slug !== chain.slug) await uniqueSlug(em, body.graph.slug);
        const diff = diffGraphs(draftGraphOf(chain), body.graph);
        await em.transactional(async (tx) => {
          const updated = await tx.nativeUpdate(
            ChainSchema,
            { id: chain.id, draftRevision: body.revision },
            { ...chainFieldsFromGraph(body.graph), draftGraph: body.graph, draftRevision: body.revision + 1, updatedAt: new Date() },
          );
          if (updated !== 1) throw stale();
          recordAudit(tx, actor, {
            action: 'chain.update',
            targetType: 'chain',
            targetId: chain.id,
            summary: { before: { revision: body.revision }, after: { revision: body.revision + 1 }, changes: diffSummary(diff) },
          });
        });
        await em.refresh(chain);
        res.json(await chainDetail(em, principal, chain));
      },
    }),
    defineOperation({
      method: 'delete',
      path: '/chains/:id',
      operationId: 'deleteChain',
      summary: 'Delete a chain with its versions, sessions and shares',
      description:
        'Refused (409 sessions_running) while sessions of the chain are running or waiting, unless force=true, which terminates them first. Refused (409 chain_in_use) while another chain calls it as a sub-chain.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      query: deleteQuerySchema,
      errors: [404, 409],
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ res, em, params, query, principal, actor }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:delete');
        const callers = await callersOf(em, chain);
        if (callers.length) {
          throw new HttpError(409, 'chain_in_use', `Chain "${chain.slug}" is called as a sub-chain by ${callers.map((s) => `"${s}"`).join(', ')}; remove those calls first.`, { callers });
        }
        const running = await em.find(RunSchema, { chainId: chain.id, status: { $in: ['running', 'waiting'] } }, { fields: ['id'], orderBy: { id: 'asc' } });
        if (running.length && query.force !== 'true') {
          throw new HttpError(409, 'sessions_running', `Chain "${chain.slug}" has ${running.length} running session(s); wait for them to end, or delete with ?force=true to terminate them.`, {
            running: running.length,
            runIds: running.slice(0, 100).map((r) => r.id),
          });
        }
        let terminated = 0;
        for (const run of running) if (await terminateSession(deps.temporal, em, run.id, `chain ${chain.slug} deleted`)) terminated++;
        await syncChainTriggers(deps, em, chain.id, chain.activeVersionId ?? null, null);
        await em.transactional(async (tx) => {
          const connection = tx.getConnection();
          await connection.execute(`delete from run_event where run_id in (select id from run where chain_id = ?)`, [chain.id]);
          await tx.nativeDelete(RunSchema, { chainId: chain.id });
          const versions = await tx.nativeDelete(ChainVersionSchema, { chainId: chain.id });
          await tx.nativeDelete(GrantSchema, { resourceType: 'chain', resourceId: chain.id });
          await tx.nativeDelete(ChainSchema, { id: chain.id });
          recordAudit(tx, actor, {
            action: 'chain.delete',
            targetType: 'chain',
            targetId: chain.id,
            summary: { before: { slug: chain.slug, name: chain.name, versions }, terminatedSessions: terminated, force: query.force === 'true' },
          });
        });
        res.status(204).end();
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/:id/validate',
      operationId: 'validateChain',
      summary: 'Compile the draft and report errors and warnings (stores nothing)',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      errors: [404],
      responses: { 200: { description: 'ok is false when the draft has errors; publishing needs ok', schema: validationResultSchema } },
      handler: async ({ res, em, params, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        res.json(await validateGraph(em, draftGraphOf(chain), principal));
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/:id/publish',
      operationId: 'publishChain',
      summary: 'Publish the draft as a new immutable version and make it active',
      description: 'A draft that does not compile is answered 422 chain_invalid with every error (node, field, fix) and nothing is stored.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      body: publishBodySchema,
      errors: [404, 409, 422],
      responses: { 201: { description: 'The new version', schema: versionSummarySchema } },
      handler: async ({ res, em, params, body, principal, actor }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        if (body.revision !== undefined && body.revision !== chain.draftRevision) {
          throw new HttpError(409, 'stale_revision', `The draft changed since revision ${body.revision} (now ${chain.draftRevision}); review it and publish again.`, {
            currentRevision: chain.draftRevision,
          });
        }
        const previous = chain.activeVersionId;
        const version = await publishChain(em, chain, {
          note: body.note ?? '',
          createdBy: principal.user.id,
          as: principal,
          onVersion: (tx, v) =>
            recordAudit(tx, actor, { action: 'chain.publish', targetType: 'chain', targetId: chain.id, summary: { before: { activeVersionId: previous }, after: { version: v.number, hash: v.hash }, note: v.note } }),
        });
        await syncChainTriggers(deps, em, chain.id, previous ?? null, version.id);
        res.status(201).json(versionView(version, chain));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id/versions',
      operationId: 'listVersions',
      summary: 'Published versions, newest first',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      query: versionListQuerySchema,
      errors: [404],
      responses: { 200: { description: 'A page of versions', schema: versionListSchema } },
      handler: async ({ res, em, params, query, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        const [versions, total] = await em.findAndCount(
          ChainVersionSchema,
          { chainId: chain.id, kind: 'published' },
          { orderBy: { number: 'desc' }, offset: query.offset, limit: query.limit, exclude: ['ir', 'graph'] },
        );
        res.json({ items: versions.map((v) => versionView(v, chain)), total });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id/versions/:number',
      operationId: 'getVersion',
      summary: 'One published version with its graph',
      tags,
      auth: 'bearer',
      params: versionParamsSchema,
      errors: [404],
      responses: { 200: { description: 'The version', schema: versionDetailSchema } },
      handler: async ({ res, em, params, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        const version = await findVersion(em, chain, params.number);
        res.json({ ...versionView(version, chain), graph: version.graph });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id/diff',
      operationId: 'diffVersions',
      summary: 'What changed between two versions (or a version and the draft)',
      description: 'Nodes and edges added, removed and changed (matched by id) with field-level before/after, and chain-level setting changes.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      query: diffQuerySchema,
      errors: [404, 409],
      responses: { 200: { description: 'The differences', schema: diffSchema } },
      handler: async ({ res, em, params, query, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        const from = await graphAt(em, chain, query.from);
        const to = await graphAt(em, chain, query.to);
        res.json({ from: from.label, to: to.label, ...diffGraphs(from.graph, to.graph) });
      },
    }),
    defineOperation({
      method: 'post',
      path: '/chains/:id/rollback',
      operationId: 'rollbackChain',
      summary: 'Make an older published version active again',
      description: 'New sessions start on that version; running sessions stay on theirs. The draft is not changed.',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      body: rollbackBodySchema,
      errors: [404],
      responses: { 200: { description: 'The chain with its new active version', schema: chainSchema } },
      handler: async ({ res, em, params, body, principal, audit }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:edit');
        const version = await findVersion(em, chain, body.version);
        const previousId = chain.activeVersionId ?? null;
        const previous = previousId ? await em.findOne(ChainVersionSchema, { id: previousId }, { fields: ['number'] }) : null;
        chain.activeVersionId = version.id;
        audit({ action: 'chain.rollback', targetType: 'chain', targetId: chain.id, summary: { before: { version: previous?.number ?? null }, after: { version: version.number } } });
        await em.flush();
        await syncChainTriggers(deps, em, chain.id, previousId, version.id);
        res.json(await chainDetail(em, principal, chain));
      },
    }),
    defineOperation({
      method: 'get',
      path: '/chains/:id/export',
      operationId: 'exportChain',
      summary: 'Download the draft or a version as YAML or JSON',
      description: 'The file imports again with POST /chains/import (or `chainflow import`).',
      tags,
      auth: 'bearer',
      params: chainParamsSchema,
      query: exportQuerySchema,
      errors: [404, 409],
      responses: {
        200: {
          description: 'The chain file (Content-Disposition: attachment)',
          content: { 'application/yaml': z.string(), 'application/json': graphSchema },
        },
      },
      handler: async ({ res, em, params, query, principal }) => {
        const chain = await loadChain(em, principal, params.id, 'chain:view');
        const { graph, label } = await graphAt(em, chain, query.version);
        const suffix = label === 'draft' ? 'draft' : `v${label}`;
        res.attachment(`${chain.slug}-${suffix}.${query.format}`);
        if (query.format === 'json') res.type('application/json').send(`${JSON.stringify(graph, null, 2)}\n`);
        else res.type('application/yaml').send(toYaml(graph, { lineWidth: 0 }));
      },
    }),
  ];
}
