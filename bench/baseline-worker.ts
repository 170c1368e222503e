// Runs the baseline worker in its own process (like `chainflow worker` runs ours).
// Its activity writes one row per message to PostgreSQL, as our run events are written.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import type { BaselineActivities } from './baseline-workflows.ts';

const [address, namespace, taskQueue, bundlePath, databaseUrl] = process.argv.slice(2) as [string, string, string, string, string];
Runtime.install({ logger: new DefaultLogger('WARN') });
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline_message (id bigserial PRIMARY KEY, session text NOT NULL, text text NOT NULL, at timestamptz NOT NULL DEFAULT now())');
const connection = await NativeConnection.connect({ address });
const activities: BaselineActivities = {
  answer: async (session, text) => {
    await pool.query('INSERT INTO bench_baseline_message (session, text) VALUES ($1, $2)', [session, text]);
    return `echo: ${text}`;
  },
};
const worker = await Worker.create({ connection, namespace, taskQueue, activities, workflowBundle: { codePath: bundlePath } });
process.on('SIGTERM', () => worker.shutdown());
process.stdout.write('ready\n');
await worker.run();
await connection.close();
await pool.end();
