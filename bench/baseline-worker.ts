// Runs the baseline worker in its own process (like `chainflow worker` runs ours).
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BaselineActivities } from './baseline-workflows.ts';

const [address, namespace, taskQueue, bundlePath] = process.argv.slice(2) as [string, string, string, string];
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address });
const activities: BaselineActivities = { answer: async (text) => `echo: ${text}` };
const worker = await Worker.create({ connection, namespace, taskQueue, activities, workflowBundle: { codePath: bundlePath } });
process.on('SIGTERM', () => worker.shutdown());
process.stdout.write('ready\n');
await worker.run();
await connection.close();
