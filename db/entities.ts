import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CredentialSchema } from './credential.ts';
import { accountEntities } from './accounts.ts';
import { PersonalTokenSchema } from './personal-tokens.ts';
import { BotSchema } from './bots.ts';
import { WebVisitorSchema } from './visitors.ts';
import { RateLimitSchema } from './rate-limits.ts';
import { HttpAttemptSchema } from './http-attempts.ts';
import { AgentSpendSchema } from './agent-spend.ts';
import { pluginEntities } from './plugins.ts';
import { ReplyPartialSchema } from './reply-partials.ts';

/**
 * A jsonb document Chainflow wrote: a graph or an IR. Deliberately a bare object: read it
 * through chain/stored.ts (`draftGraphOf`, `versionGraphOf`, `versionIrOf`), which checks
 * it and names the chain when a row is not what was written; write the typed value as is.
 */
type StoredDocument = object;
import { telegramEntities } from './telegram.ts';

/**
 * The engine's entities (DESIGN.md: the engine owns Chain, ChainVersion, Run, RunEvent,
 * Variable). Control-plane entities (User, Grant, Bot, …) arrive with their issues.
 * Ids are UUIDs made by the application (`crypto.randomUUID()`), except Run, whose id is
 * the workflow id, and RunEvent, which is a bigserial so events keep their order.
 */
export const ChainSchema = defineEntity({
  name: 'Chain',
  tableName: 'chain',
  properties: {
    id: p.uuid().primary(),
    slug: p.string().length(100).unique(),
    name: p.string().length(200),
    description: p.text().default(''),
    /** The editor's working copy (a graph; read it with chain/stored.ts `draftGraphOf`). */
    draftGraph: p.json<StoredDocument>(),
    /** Bumped on each draft save; a stale revision gets 409. */
    draftRevision: p.integer().default(1),
    /** Id of the active published ChainVersion, if any. */
    activeVersionId: p.uuid().nullable(),
    webChatEnabled: p.boolean().default(false),
    ownerId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Chain = InferEntity<typeof ChainSchema>;

export const ChainVersionSchema = defineEntity({
  name: 'ChainVersion',
  tableName: 'chain_version',
  uniques: [{ properties: ['chainId', 'number'] }, { properties: ['chainId', 'kind', 'hash'] }],
  properties: {
    id: p.uuid().primary(),
    chainId: p.uuid().index(),
    kind: p.enum(['published', 'draft'] as const),
    /** 1, 2, 3… for published versions; null for drafts. */
    number: p.integer().nullable(),
    /** The graph it was compiled from (`versionGraphOf`) and its IR (`versionIrOf`). */
    graph: p.json<StoredDocument>(),
    ir: p.json<StoredDocument>(),
    hash: p.string().length(64),
    note: p.text().default(''),
    createdAt: p.datetime().onCreate(() => new Date()),
    createdBy: p.uuid().nullable(),
  },
});
export type ChainVersion = InferEntity<typeof ChainVersionSchema>;

export const RunSchema = defineEntity({
  name: 'Run',
  tableName: 'run',
  indexes: [{ properties: ['chainId', 'startedAt'] }, { properties: ['status'] }],
  properties: {
    /** The workflow id: chat:{botId}:{chatId}, run:{uuid} or web:{chainId}:{visitorId}. */
    id: p.string().length(300).primary(),
    chainId: p.uuid(),
    versionId: p.uuid(),
    versionNumber: p.integer().nullable(),
    channel: p.string().length(40),
    botId: p.uuid().nullable(),
    /** Last known status; Temporal's describe is the source of truth. */
    status: p.string().length(30).default('running'),
    currentNode: p.string().length(200).nullable(),
    startedAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
    closedAt: p.datetime().nullable(),
  },
});
export type Run = InferEntity<typeof RunSchema>;

export const RunEventSchema = defineEntity({
  name: 'RunEvent',
  tableName: 'run_event',
  // `at`: the retention cleanup finds old events by it.
  indexes: [{ properties: ['runId', 'id'] }, { properties: ['at'] }],
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    runId: p.string().length(300),
    /** Temporal run id of the workflow execution that produced the event. */
    executionId: p.string().length(64).default(''),
    /** Sequence within the workflow id; with runId, makes flushes idempotent. */
    seq: p.integer(),
    type: p.string().length(40),
    nodeId: p.string().length(200).nullable(),
    payload: p.json<Record<string, unknown>>(),
    at: p.datetime(),
  },
  uniques: [{ properties: ['runId', 'executionId', 'seq'] }],
});
export type RunEvent = InferEntity<typeof RunEventSchema>;

export const VariableSchema = defineEntity({
  name: 'Variable',
  tableName: 'variable',
  uniques: [{ properties: ['scope', 'ownerKey', 'name'] }],
  // `updatedAt`: the retention cleanup finds stale variables by it.
  indexes: [{ properties: ['updatedAt'] }],
  properties: {
    id: p.uuid().primary(),
    /** user, chat or bot. */
    scope: p.enum(['user', 'chat', 'bot'] as const),
    /** Whose variable: e.g. `web:{visitorId}`, `telegram:{botId}:{userId}`, `bot:{botId}`. */
    ownerKey: p.string().length(300),
    name: p.string().length(200),
    value: p.json<unknown>().nullable(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Variable = InferEntity<typeof VariableSchema>;

export const entities = [ChainSchema, ChainVersionSchema, RunSchema, RunEventSchema, VariableSchema, CredentialSchema, ...accountEntities, BotSchema, WebVisitorSchema, PersonalTokenSchema, ...telegramEntities, RateLimitSchema, HttpAttemptSchema, AgentSpendSchema, ...pluginEntities, ReplyPartialSchema];
