import { z } from 'zod';
import { accessProblemCodes } from '../services/compile-access.ts';
import { compileErrorCodes, graphEdgeSchema, graphNodeSchema, graphSchema, slugSchema } from '../../chain/index.ts';
import { resourceRoles } from '../../db/accounts.ts';
import { dateTime, listOf, pagingShape, storable } from './common.ts';
import { emailSchema } from './auth.ts';

/** `/chains/:id`: a chain's id or its slug. */
export const chainParamsSchema = z.strictObject({ id: z.string().min(1).max(100).meta({ description: 'Chain id (UUID) or slug' }) });

export const graphRefSchema = graphSchema.meta({ id: 'Graph', description: 'A chain graph as the editor saves it (nodes, edges, variables); YAML files hold the same structure' });

export const chainSorts = ['name', '-name', 'slug', '-slug', 'createdAt', '-createdAt', 'updatedAt', '-updatedAt'] as const;

export const chainListQuerySchema = z.strictObject({
  q: z.string().max(200).optional().meta({ description: 'Part of the name or slug (case-insensitive)' }),
  sort: z.enum(chainSorts).default('-updatedAt').meta({ description: "Field to sort by; '-' for descending" }),
  ...pagingShape,
});

const roleSchema = z.enum(resourceRoles).meta({ description: 'Your role on the chain (admins count as owners)' });

export const chainSummarySchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    ownerId: z.uuid().nullable(),
    webChatEnabled: z.boolean(),
    draftRevision: z.number().int().meta({ description: 'Send it back with PUT /chains/{id}/draft; a stale one is refused with 409' }),
    activeVersion: z.object({ id: z.uuid(), number: z.number().int() }).nullable(),
    role: roleSchema,
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'ChainSummary' });

export const chainSchema = chainSummarySchema.extend({ draft: graphRefSchema }).meta({ id: 'Chain' });
export const chainListSchema = listOf(chainSummarySchema, 'ChainList');

export const onConflictQuerySchema = z.strictObject({
  onConflict: z.enum(['error', 'rename']).default('error').meta({ description: "On a slug that exists: 409 (error) or store as slug-2, slug-3… (rename)" }),
});

// Chain bodies are checked whole for text PostgreSQL cannot store (storable(): a 400
// naming the field, e.g. body.graph.nodes.2.config.text, instead of a 500 from jsonb).
export const createChainBodySchema = storable(
  z
    .strictObject({
      name: z.string().min(1).max(200).optional(),
      slug: slugSchema.optional(),
      description: z.string().max(2000).optional(),
      graph: graphRefSchema.optional().meta({ description: 'Initial draft; without it the chain starts from a minimal greeting' }),
    })
    .refine((b) => b.name !== undefined || b.graph !== undefined, { message: 'Send a name (or a whole graph)', path: ['name'] }),
).meta({ id: 'CreateChainRequest' });

export const updateDraftBodySchema = storable(
  z.strictObject({
    revision: z.number().int().min(1).meta({ description: 'The draftRevision this edit is based on' }),
    graph: graphRefSchema,
  }),
).meta({ id: 'UpdateDraftRequest' });

export const compileProblemSchema = z
  .object({
    code: z.enum([...compileErrorCodes, ...accessProblemCodes]).meta({ description: "A compiler code; credential_forbidden: the chain uses a credential the validating/publishing user may not use; knowledge_base_unknown: it searches a knowledge base that user cannot open" }),
    nodeId: z.string().optional(),
    edgeId: z.string().optional(),
    field: z.string().optional(),
    message: z.string(),
    fix: z.string(),
  })
  .meta({ id: 'CompileProblem' });

export const validationResultSchema = z
  .object({ ok: z.boolean(), errors: z.array(compileProblemSchema), warnings: z.array(compileProblemSchema) })
  .meta({ id: 'ValidationResult' });

export const publishBodySchema = storable(
  z.strictObject({
    note: z.string().max(500).optional().meta({ description: 'What changed, shown in the version list' }),
    revision: z.number().int().min(1).optional().meta({ description: 'Publish only if the draft is still at this revision (409 otherwise)' }),
  }),
).meta({ id: 'PublishRequest' });

export const versionSummarySchema = z
  .object({
    id: z.uuid(),
    number: z.number().int(),
    note: z.string(),
    hash: z.string(),
    createdAt: dateTime,
    createdBy: z.uuid().nullable(),
    active: z.boolean(),
  })
  .meta({ id: 'ChainVersion' });

export const versionDetailSchema = versionSummarySchema.extend({ graph: graphRefSchema }).meta({ id: 'ChainVersionDetail' });
export const versionListSchema = listOf(versionSummarySchema, 'ChainVersionList');
export const versionListQuerySchema = z.strictObject({ ...pagingShape });

export const versionParamsSchema = z.strictObject({
  id: chainParamsSchema.shape.id,
  number: z.coerce.number().int().min(1).meta({ description: 'Version number (1, 2, 3…)' }),
});

const versionRefSchema = z
  .union([z.literal('draft'), z.literal('active'), z.coerce.number().int().min(1)])
  .meta({ description: "A version number, 'active' or 'draft'" });

export const diffQuerySchema = z.strictObject({
  from: versionRefSchema,
  to: versionRefSchema.default('draft'),
});

const fieldChangeSchema = z.object({ field: z.string(), before: z.unknown(), after: z.unknown() }).meta({ id: 'FieldChange' });
const itemChangeSchema = z.object({ id: z.string(), changes: z.array(fieldChangeSchema) }).meta({ id: 'ItemChange' });

export const diffSchema = z
  .object({
    from: z.union([z.number().int(), z.literal('draft')]),
    to: z.union([z.number().int(), z.literal('draft')]),
    settings: z.array(fieldChangeSchema),
    nodes: z.object({ added: z.array(graphNodeSchema), removed: z.array(graphNodeSchema), changed: z.array(itemChangeSchema) }),
    edges: z.object({ added: z.array(graphEdgeSchema), removed: z.array(graphEdgeSchema), changed: z.array(itemChangeSchema) }),
  })
  .meta({ id: 'ChainDiff' });

export const rollbackBodySchema = z.strictObject({ version: z.number().int().min(1).meta({ description: 'Published version number to make active' }) }).meta({ id: 'RollbackRequest' });

export const exportQuerySchema = z.strictObject({
  format: z.enum(['json', 'yaml']).default('yaml'),
  version: versionRefSchema.default('draft'),
});

export const importResultSchema = z.object({ chain: chainSchema, version: versionSummarySchema }).meta({ id: 'ImportResult' });

export const deleteQuerySchema = z.strictObject({
  force: z.enum(['true', 'false']).default('false').meta({ description: 'true: also terminate running sessions of the chain' }),
});

export const shareBodySchema = z
  .strictObject({
    userId: z.uuid().optional(),
    email: emailSchema.optional(),
    role: z.enum(resourceRoles),
  })
  .refine((b) => (b.userId === undefined) !== (b.email === undefined), { message: 'Send either userId or email', path: ['userId'] })
  .meta({ id: 'ShareRequest' });

export const grantViewSchema = z
  .object({
    userId: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: z.enum(resourceRoles),
    source: z.enum(['owner', 'grant']).meta({ description: "'owner': the chain's owner; 'grant': shared" }),
    createdAt: dateTime.nullable(),
  })
  .meta({ id: 'ChainGrant' });
export const grantListSchema = listOf(grantViewSchema, 'ChainGrantList');

export const grantParamsSchema = z.strictObject({ id: chainParamsSchema.shape.id, userId: z.uuid() });

export const runningSessionsSchema = z.object({ running: z.number().int(), runIds: z.array(z.string()) });
