import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Tokens the agent nodes of one chain spent with their providers, per UTC day
 * (`d:2026-12-02`) and per UTC month (`m:2026-12`): what the per-chain spend cap
 * (the agent node's `spendCapTokens` / `spendCapPer`) is checked against. The agentModel
 * activity adds every call's total tokens (as the provider reported them, retried calls
 * included: they were spent too). One row per chain and period, so the table stays small.
 */
export const AgentSpendSchema = defineEntity({
  name: 'AgentSpend',
  tableName: 'agent_spend',
  properties: {
    chainId: p.string().length(100).primary(),
    period: p.string().length(12).primary(),
    tokens: p.bigint('number').default(0),
    updatedAt: p.datetime(),
  },
});
export type AgentSpend = InferEntity<typeof AgentSpendSchema>;

export type SpendPeriod = 'day' | 'month';

/** The period key of `at` (UTC): `d:YYYY-MM-DD` or `m:YYYY-MM`. */
export function spendPeriod(per: SpendPeriod, at: Date = new Date()): string {
  const iso = at.toISOString();
  return per === 'day' ? `d:${iso.slice(0, 10)}` : `m:${iso.slice(0, 7)}`;
}

/** Tokens the chain's agents spent in the current day or month (UTC). */
export async function spentTokens(em: EntityManager, chainId: string, per: SpendPeriod, at: Date = new Date()): Promise<number> {
  const rows = await em.getConnection().execute<{ tokens: string | number }[]>(`select tokens from agent_spend where chain_id = ? and period = ?`, [chainId, spendPeriod(per, at)]);
  return Number(rows[0]?.tokens ?? 0);
}

/** Adds a call's tokens to the chain's day and month. One statement: concurrent calls add up. */
export async function addSpentTokens(em: EntityManager, chainId: string, tokens: number, at: Date = new Date()): Promise<void> {
  if (!(tokens > 0)) return;
  await em.getConnection().execute(
    `insert into agent_spend (chain_id, period, tokens, updated_at) values (?, ?, ?, now()), (?, ?, ?, now())
      on conflict (chain_id, period) do update set tokens = agent_spend.tokens + excluded.tokens, updated_at = now()`,
    [chainId, spendPeriod('day', at), tokens, chainId, spendPeriod('month', at), tokens],
    'run',
  );
}
