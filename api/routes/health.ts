import { Router } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';

export interface HealthDeps {
  orm: MikroORM;
  temporal: Client;
  /** Per-check time limit (ms). */
  timeoutMs?: number;
}

interface Check {
  ok: boolean;
  error?: string;
  ms: number;
}

async function timed(fn: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /health`: the process is up. `GET /ready`: PostgreSQL answers a query and the
 * Temporal namespace answers a describe; 503 naming the failed dependency otherwise.
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  const timeoutMs = deps.timeoutMs ?? 3000;
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });
  router.get('/ready', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      timed(() => deps.orm.em.getConnection().execute('select 1'), timeoutMs),
      timed(
        () =>
          deps.temporal.connection.withDeadline(Date.now() + timeoutMs, () =>
            deps.temporal.connection.workflowService.describeNamespace({ namespace: deps.temporal.options.namespace }),
          ),
        timeoutMs,
      ),
    ]);
    const failed = [!postgres.ok && 'postgres', !temporal.ok && 'temporal'].filter(Boolean);
    res.status(failed.length ? 503 : 200).json({
      status: failed.length ? 'unavailable' : 'ready',
      ...(failed.length ? { message: `Not ready: ${failed.join(' and ')} unavailable.` } : {}),
      checks: { postgres, temporal },
    });
  });
  return router;
}
