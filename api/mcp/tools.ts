// The MCP tools: each is one or two REST calls made as the token's user (client.ts), with
// input schemas taken from the REST API's own zod schemas (api/schemas/, chain/graph.ts).
// Graph edits read the draft, change it and save it with its revision; when someone else
// saved in between (409 stale_revision) the edit is applied once more to the new draft.

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { graphEdgeSchema, graphNodeSchema, nodeIdSchema, portsOf, specFor, variableDeclarationSchema, type Graph, type GraphEdge, type GraphNode } from '../../chain/index.ts';
import {
  chainListQuerySchema,
  chainParamsSchema,
  createChainBodySchema,
  diffQuerySchema,
  exportQuerySchema,
  onConflictQuerySchema,
  publishBodySchema,
  rollbackBodySchema,
  versionListQuerySchema,
} from '../schemas/chains.ts';
import { chatMessageSchema, visitorIdSchema } from '../schemas/chat.ts';
import { runIdSchema, runListQuerySchema, startRunBodySchema } from '../schemas/runs.ts';
import { ApiError, type ApiClient } from './client.ts';

/** The chain a tool works on. */
const chainRef = { chain: chainParamsSchema.shape.id };

interface ChainView {
  id: string;
  slug: string;
  name: string;
  draftRevision: number;
  activeVersion: { id: string; number: number } | null;
  role: string;
  draft: Graph;
}
interface Validation {
  ok: boolean;
  errors: unknown[];
  warnings: unknown[];
}

const json = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] });

/** A refusal the assistant can act on: the API's code, message (which names the fix) and details. */
function failure(err: unknown): CallToolResult {
  if (err instanceof ApiError) {
    const details = err.details === undefined || err.details === null ? '' : `\ndetails: ${JSON.stringify(err.details)}`;
    return { isError: true, content: [{ type: 'text', text: `${err.code} (${err.status}): ${err.message}${details}` }] };
  }
  return { isError: true, content: [{ type: 'text', text: err instanceof Error ? err.message : String(err) }] };
}

/** A mistake in the tool's arguments found before calling the API (400, naming the argument). */
const badArgument = (argument: string, message: string) => new ApiError(400, 'invalid_argument', `${argument}: ${message}`, { field: argument });

const chainPath = (ref: string) => `/chains/${encodeURIComponent(ref)}`;

/**
 * Applies `edit` to the chain's draft and saves it with the revision it was read at;
 * on 409 stale_revision it reads the draft again and applies the edit once more.
 * Answers the saved revision and the compile report of the new draft.
 */
async function editDraft(api: ApiClient, ref: string, edit: (graph: Graph) => Graph): Promise<{ chain: string; revision: number; validation: Validation; retried: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const chain = await api.call<ChainView>('GET', chainPath(ref));
    const graph = edit(structuredClone(chain.draft));
    try {
      const saved = await api.call<ChainView>('PUT', `${chainPath(chain.id)}/draft`, { body: { revision: chain.draftRevision, graph } });
      const validation = await api.call<Validation>('POST', `${chainPath(chain.id)}/validate`);
      return { chain: saved.slug, revision: saved.draftRevision, validation, retried: attempt > 0 };
    } catch (err) {
      if (attempt === 0 && err instanceof ApiError && err.code === 'stale_revision') continue;
      throw err;
    }
  }
}

function findNode(graph: Graph, id: string, argument: string): GraphNode {
  const node = graph.nodes.find((n) => n.id === id);
  if (!node) throw badArgument(argument, `No node "${id}" in the draft; it has ${graph.nodes.map((n) => `"${n.id}"`).join(', ') || 'no nodes'}.`);
  return node;
}

/** The output ports a node has with its current config (dynamic ports follow the config). */
function portsOfNode(node: GraphNode): string[] | null {
  const spec = specFor(node.type);
  if (!spec) return null;
  if (typeof spec.ports !== 'function') return spec.ports.map((p) => p.id);
  const config = spec.config.safeParse(node.data);
  return config.success ? portsOf(spec, config.data).map((p) => p.id) : null;
}

/**
 * A REST body schema as a tool input: its fields as a plain object (a schema with a
 * component id would become a `$ref` in the tool's JSON Schema), checked by the REST
 * schema itself, refinements included.
 */
function standalone<S extends z.ZodObject>(schema: S) {
  return z.object(schema.shape).superRefine((value, ctx) => {
    const checked = schema.safeParse(value);
    if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  });
}

const nodeShape = graphNodeSchema.shape;
const edgeShape = graphEdgeSchema.shape;

/** Registers every Chainflow tool on an MCP server, acting through `api`. */
export function registerTools(server: McpServer, api: ApiClient): void {
  const tool = <S extends z.ZodType>(name: string, description: string, inputSchema: S, run: (args: z.output<S>) => Promise<unknown>, readOnly = false) => {
    // A fresh meta drops the REST schema's component id, so the tool's JSON Schema is the
    // object itself rather than a $ref to it (refinements and field metadata stay).
    server.registerTool(name, { description, inputSchema: inputSchema.meta({ description }), annotations: { readOnlyHint: readOnly } }, (async (args: z.output<S>) => {
      try {
        return json(await run(args));
      } catch (err) {
        return failure(err);
      }
    }) as never);
  };

  tool('list_chains', 'List the chains you may open (slug, name, draft revision, active version, your role).', chainListQuerySchema, (args) => api.call('GET', '/chains', { query: args }), true);

  tool(
    'get_chain',
    "A chain with its draft graph (nodes, edges, variables) and the compile report of the draft (errors and warnings by node and field, each with its fix).",
    z.object(chainRef),
    async ({ chain }) => {
      const view = await api.call<ChainView>('GET', chainPath(chain));
      const validation = await api.call<Validation>('POST', `${chainPath(view.id)}/validate`);
      return { ...view, validation };
    },
    true,
  );

  tool(
    'create_chain',
    'Create a chain. With only a name it starts from a minimal greeting draft; send `graph` for a whole draft. Publish it to make it live.',
    createChainBodySchema.extend(onConflictQuerySchema.shape),
    async ({ onConflict, ...body }) => {
      const created = await api.call<ChainView>('POST', '/chains', { query: { onConflict }, body });
      return { ...created, validation: await api.call<Validation>('POST', `${chainPath(created.id)}/validate`) };
    },
  );

  tool(
    'add_node',
    'Add a node to the draft. `type` is a node type from list_node_types; config fields left out of `data` take the type’s defaults. Connect it with `connect`.',
    z.object({ ...chainRef, node: graphNodeSchema }),
    ({ chain, node }) =>
      editDraft(api, chain, (graph) => {
        const spec = specFor(node.type);
        if (!spec) throw badArgument('node.type', `Unknown node type "${node.type}"; list_node_types lists them.`);
        if (graph.nodes.some((n) => n.id === node.id)) throw badArgument('node.id', `The draft has a node "${node.id}" already; pick another id or use update_node.`);
        const defaults = spec.defaults && typeof spec.defaults === 'object' ? (spec.defaults as Record<string, unknown>) : {};
        graph.nodes.push({ ...node, data: { ...structuredClone(defaults), ...node.data } });
        return graph;
      }),
  );

  tool(
    'update_node',
    "Change a node of the draft: `data` fields are merged into its config (send `replace: true` to replace the config), `label` and `position` are set.",
    z.object({
      ...chainRef,
      nodeId: nodeIdSchema,
      data: nodeShape.data.unwrap().optional(),
      replace: z.boolean().default(false).meta({ description: 'Replace the whole config instead of merging into it' }),
      label: nodeShape.label,
      position: nodeShape.position.unwrap().optional(),
    }),
    ({ chain, nodeId, data, replace, label, position }) =>
      editDraft(api, chain, (graph) => {
        const node = findNode(graph, nodeId, 'nodeId');
        if (data) node.data = replace ? data : { ...node.data, ...data };
        if (label !== undefined) node.label = label;
        if (position) node.position = position;
        return graph;
      }),
  );

  tool(
    'remove_node',
    'Remove a node from the draft together with the edges into and out of it.',
    z.object({ ...chainRef, nodeId: nodeIdSchema }),
    ({ chain, nodeId }) =>
      editDraft(api, chain, (graph) => {
        findNode(graph, nodeId, 'nodeId');
        return { ...graph, nodes: graph.nodes.filter((n) => n.id !== nodeId), edges: graph.edges.filter((e) => e.source !== nodeId && e.target !== nodeId) };
      }),
  );

  tool(
    'connect',
    "Connect an output port of one node to another node (an edge). The port must be one the source node has (list_node_types shows them; e.g. ask: next, invalid, timeout; condition: true, false). The edge id is made up when left out.",
    z.object({ ...chainRef, ...edgeShape, id: edgeShape.id.optional() }),
    ({ chain, id, ...edge }) =>
      editDraft(api, chain, (graph) => {
        const source = findNode(graph, edge.source, 'source');
        findNode(graph, edge.target, 'target');
        const ports = portsOfNode(source);
        if (ports && !ports.includes(edge.sourcePort)) {
          throw badArgument('sourcePort', `Node "${source.id}" (${source.type}) has no port "${edge.sourcePort}"; its ports are ${ports.map((p) => `"${p}"`).join(', ')}.`);
        }
        if (graph.edges.some((e) => e.source === edge.source && e.sourcePort === edge.sourcePort && e.target === edge.target)) {
          throw badArgument('target', `"${edge.source}" port "${edge.sourcePort}" is connected to "${edge.target}" already.`);
        }
        let edgeId = id ?? `e_${edge.source}_${edge.sourcePort}_${edge.target}`.slice(0, 100);
        if (graph.edges.some((e) => e.id === edgeId)) {
          if (id !== undefined) throw badArgument('id', `The draft has an edge "${id}" already; pick another id.`);
          let n = 2;
          while (graph.edges.some((e) => e.id === `${edgeId}_${n}`)) n++;
          edgeId = `${edgeId}_${n}`;
        }
        const added: GraphEdge = { ...edge, id: edgeId };
        graph.edges.push(added);
        return graph;
      }),
  );

  tool(
    'disconnect',
    'Remove an edge from the draft, by its id or by source, sourcePort and target.',
    z.object({ ...chainRef, edgeId: edgeShape.id.optional(), source: edgeShape.source.optional(), sourcePort: edgeShape.sourcePort, target: edgeShape.target.optional() }),
    ({ chain, edgeId, source, sourcePort, target }) =>
      editDraft(api, chain, (graph) => {
        if (edgeId === undefined && (source === undefined || target === undefined)) throw badArgument('edgeId', 'Send edgeId, or source and target (and sourcePort unless it is "next").');
        const matches = (e: GraphEdge) => (edgeId !== undefined ? e.id === edgeId : e.source === source && e.target === target && e.sourcePort === sourcePort);
        if (!graph.edges.some(matches)) {
          throw badArgument(edgeId !== undefined ? 'edgeId' : 'source', `No such edge in the draft; its edges are ${graph.edges.map((e) => `${e.id} (${e.source}.${e.sourcePort} → ${e.target})`).join(', ') || 'none'}.`);
        }
        return { ...graph, edges: graph.edges.filter((e) => !matches(e)) };
      }),
  );

  tool(
    'declare_variables',
    "Declare variables of the chain ('user.name', 'session.email', …) with their type, default and description; a declaration with the same name is replaced.",
    z.object({ ...chainRef, variables: z.array(variableDeclarationSchema).min(1) }),
    ({ chain, variables }) =>
      editDraft(api, chain, (graph) => {
        const names = new Set(variables.map((v) => v.name));
        return { ...graph, variables: [...graph.variables.filter((v) => !names.has(v.name)), ...variables] };
      }),
  );

  tool('validate', 'Compile the draft: errors and warnings by node and field, each with the fix. Publishing needs ok: true.', z.object(chainRef), ({ chain }) =>
    api.call('POST', `${chainPath(chain)}/validate`),
    true,
  );

  tool(
    'simulate',
    "Send a message to the draft in the simulator (a web-chat session on the current draft, its variables kept apart from real users'). Answers the bot's replies and the node it waits at. `reset: true` starts a fresh session first; another `visitorId` is another simulated user.",
    z.object({
      ...chainRef,
      visitorId: visitorIdSchema.default('mcp'),
      reset: z.boolean().default(false).meta({ description: 'End the simulated session first, so the message starts afresh' }),
      ...chatMessageSchema.shape,
    }),
    async ({ chain, visitorId, reset, ...message }) => {
      const path = `${chainPath(chain)}/simulate/${encodeURIComponent(visitorId)}`;
      if (reset) await api.call('DELETE', path);
      const reply = await api.call<{ replies: { text?: string }[]; waitingAt: string | null; ended: boolean; restarted?: boolean; runId: string; queued: boolean }>('POST', `${path}/messages`, { body: message });
      return { replies: reply.replies, waitingAt: reply.waitingAt, ended: reply.ended, queued: reply.queued, restarted: reply.restarted ?? false, runId: reply.runId };
    },
  );

  tool(
    'publish',
    'Publish the draft as a new version and make it live; `note` says what changed. A draft that does not compile is refused with every error.',
    z.object({ ...chainRef, ...publishBodySchema.shape }),
    ({ chain, ...body }) => api.call('POST', `${chainPath(chain)}/publish`, { body }),
  );

  tool('list_versions', 'Published versions of a chain, newest first.', z.object({ ...chainRef, ...versionListQuerySchema.shape }), ({ chain, ...query }) =>
    api.call('GET', `${chainPath(chain)}/versions`, { query }),
    true,
  );

  tool(
    'diff_versions',
    "What changed between two versions, or a version and the draft: nodes and edges added, removed and changed field by field. `from`/`to`: a version number, 'active' or 'draft'.",
    z.object({ ...chainRef, ...diffQuerySchema.shape }),
    ({ chain, from, to }) => api.call('GET', `${chainPath(chain)}/diff`, { query: { from, to } }),
    true,
  );

  tool('rollback', 'Make an older published version live again (the draft is not changed).', z.object({ ...chainRef, ...rollbackBodySchema.shape }), ({ chain, version }) =>
    api.call('POST', `${chainPath(chain)}/rollback`, { body: { version } }),
  );

  tool(
    'import_chain',
    'Import a chain file (YAML or JSON text, the format export_chain writes) and publish it as version 1.',
    z.object({ yaml: z.string().min(1).max(2 * 1024 * 1024).meta({ description: 'The chain file: YAML (or JSON)' }), ...onConflictQuerySchema.shape }),
    ({ yaml, onConflict }) => api.call('POST', '/chains/import', { query: { onConflict }, text: { content: yaml, type: 'application/yaml' } }),
  );

  tool(
    'export_chain',
    'The draft or a version as a chain file (YAML by default); import_chain reads it back.',
    z.object({ ...chainRef, ...exportQuerySchema.shape }),
    async ({ chain, format, version }) => ({ format, version, file: await api.call<string>('GET', `${chainPath(chain)}/export`, { query: { format, version }, asText: true }) }),
    true,
  );

  tool(
    'list_credentials',
    "Names and kinds of the stored credentials (API keys for HTTP and LLM nodes: reference them as {{ secrets.NAME }} or by name in the node's config). Values are never shown.",
    z.object({}),
    async () => {
      const list = await api.call<{ items: { name: string; kind: string }[]; total: number }>('GET', '/credentials', { query: { limit: 200 } });
      return { items: list.items.map((c) => ({ name: c.name, kind: c.kind })), total: list.total };
    },
    true,
  );

  tool('start_run', "Start a session at the chain's API start node (trigger kind 'api') on its active version; `input` becomes run.*.", standalone(startRunBodySchema), (body) =>
    api.call('POST', '/runs', { body }),
  );

  tool('list_runs', 'Runs (sessions) of the chains you may open, newest first, with status and the node each waits at.', runListQuerySchema, (query) => api.call('GET', '/runs', { query }), true);

  tool('get_run', 'One run: status, the node it waits at, its variables and call stack.', z.object({ id: runIdSchema }), ({ id }) => api.call('GET', `/runs/${encodeURIComponent(id)}`), true);

  tool(
    'list_node_types',
    'The node types: ports, whether they wait, defaults and the JSON Schema of their config (`data`). Read this before add_node.',
    z.object({ type: z.string().optional().meta({ description: 'Only this node type' }) }),
    async ({ type }) => {
      const list = await api.call<{ items: { type: string }[]; total: number }>('GET', '/node-types');
      if (type === undefined) return list;
      const found = list.items.filter((t) => t.type === type);
      if (!found.length) throw badArgument('type', `Unknown node type "${type}"; the types are ${list.items.map((t) => t.type).join(', ')}.`);
      return { items: found, total: found.length };
    },
    true,
  );
}
